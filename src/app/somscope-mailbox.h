/* somscope-mailbox.h: workers post to the main thread without a lock
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The mail is delivered at most once in this many microseconds. */
#define SOMSCOPE_MAILBOX_INTERVAL_US 16000

typedef struct _SomscopeMail SomscopeMail;

/* Main thread: deliver what the mail's owner left for it. */
typedef void (*SomscopeMailDeliver) (SomscopeMail *mail);

/* Embedded first in a reference-counted (g_atomic_rc_box) struct: the
 * mailbox holds a reference while the mail waits. */
struct _SomscopeMail
{
  /*< private >*/
  SomscopeMail        *next;
  gint                 queued;
  SomscopeMailDeliver  deliver;
  GDestroyNotify       unref;
};

void somscope_mail_init  (SomscopeMail        *mail,
                          SomscopeMailDeliver  deliver,
                          GDestroyNotify       unref);
void somscope_mail_post  (SomscopeMail        *mail);
void somscope_mailbox_attach (GMainContext    *context);
guint somscope_mailbox_flush (void);

G_END_DECLS
