/* somscope-mailbox.c: workers post to the main thread without a lock
 *
 * The workers run at idle priority (SCHED_IDLE), and a thread at idle
 * priority that holds a lock the main thread wants makes the main thread
 * wait until a core has nothing else to run: a priority inversion.  The
 * usual way to hand a result to the main loop, g_idle_add() from the
 * worker, takes the main context's lock (and a mutex around the values
 * handed over takes another); measured with perf's sched_switch stacks
 * while the demo's maps trained, the main thread waited on those locks up to
 * 13 ms at a time, 0.2 s in 3 s.
 *
 * So a worker leaves its latest values in its own struct (atomically, by
 * pointer exchange) and posts the struct's SomscopeMail here: a lock-free
 * stack (compare-and-swap), a mail in it at most once, and a wakeup of the
 * main context when the stack was empty (an eventfd write, no lock).  The
 * main thread takes the whole stack in one exchange and delivers each mail,
 * in the order posted; a mail posted again while it waits is delivered once,
 * with the latest values (its owner coalesces).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "somscope-mailbox.h"

static SomscopeMail *mailbox_head;   /* atomic: the mail waiting, newest first */
static GMainContext *mailbox_context; /* the one woken: set once, by the main thread */

void
somscope_mail_init (SomscopeMail        *mail,
                    SomscopeMailDeliver  deliver,
                    GDestroyNotify       unref)
{
  mail->next = NULL;
  mail->queued = 0;
  mail->deliver = deliver;
  mail->unref = unref;
}

/* Any thread: @mail's owner must be a g_atomic_rc_box (the mailbox takes a
 * reference until delivery).  Never blocks. */
void
somscope_mail_post (SomscopeMail *mail)
{
  SomscopeMail *old;

  if (!g_atomic_int_compare_and_exchange (&mail->queued, 0, 1))
    return;
  g_atomic_rc_box_acquire (mail);
  do
    {
      old = g_atomic_pointer_get (&mailbox_head);
      mail->next = old;
    }
  while (!g_atomic_pointer_compare_and_exchange (&mailbox_head, old, mail));
  /* The main thread empties the stack in one go: only the first mail since
   * needs to wake it. */
  if (old == NULL)
    g_main_context_wakeup (mailbox_context);
}

/* Main thread: delivers the mail waiting; returns how many. */
guint
somscope_mailbox_flush (void)
{
  SomscopeMail *list = g_atomic_pointer_exchange (&mailbox_head, NULL);
  SomscopeMail *ordered = NULL;
  guint n = 0;

  while (list != NULL)
    {
      SomscopeMail *next = list->next;

      list->next = ordered;
      ordered = list;
      list = next;
    }
  while (ordered != NULL)
    {
      SomscopeMail *mail = ordered;

      ordered = mail->next;
      mail->next = NULL;
      /* Before reading the values: a post from now on queues it again. */
      g_atomic_int_set (&mail->queued, 0);
      mail->deliver (mail);
      mail->unref (mail);
      n++;
    }
  return n;
}

static gboolean
mailbox_prepare (GSource *source,
                 int     *timeout)
{
  *timeout = -1;
  return g_atomic_pointer_get (&mailbox_head) != NULL;
}

static gboolean
mailbox_check (GSource *source)
{
  return g_atomic_pointer_get (&mailbox_head) != NULL;
}

static gboolean
mailbox_dispatch (GSource     *source,
                  GSourceFunc  callback,
                  gpointer     user_data)
{
  somscope_mailbox_flush ();
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs mailbox_funcs = {
  mailbox_prepare,
  mailbox_check,
  mailbox_dispatch,
  NULL, NULL, NULL
};

/* Main thread, once: the mail is delivered in @context (NULL: the
 * default), at the default priority.  Later calls do nothing. */
void
somscope_mailbox_attach (GMainContext *context)
{
  static gsize attached;

  if (g_once_init_enter (&attached))
    {
      GSource *source = g_source_new (&mailbox_funcs, sizeof (GSource));

      mailbox_context = context ? context : g_main_context_default ();
      g_source_set_name (source, "somscope-mailbox");
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_attach (source, mailbox_context);
      g_source_unref (source);
      g_once_init_leave (&attached, 1);
    }
}
