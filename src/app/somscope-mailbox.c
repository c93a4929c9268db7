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
 * At most once a SOMSCOPE_MAILBOX_INTERVAL_US (about a frame): after a
 * delivery the main thread looks again on its own when the interval is
 * over, and mail posted meanwhile waits for it without waking it; after a
 * quiet interval a post wakes it again.  The maps cannot show more than an
 * epoch a frame: two trainers posting theirs woke the main thread 600 times
 * a second (perf, the demo at 100 epochs: 14.6 wake-ups a frame, 3.1 now),
 * and each intermediate map delivered started a render that the next one
 * superseded (970 delivered in a run, some 200 now); the maps train about
 * a fifth faster for it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "somscope-mailbox.h"

static SomscopeMail *mailbox_head;   /* atomic: the mail waiting, newest first */
static GMainContext *mailbox_context; /* the one woken: set once, by the main thread */
static gint mailbox_timed;            /* atomic: the main thread will look on its own */
static gint64 mailbox_next;           /* main thread: when it looks again */

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
  if (old == NULL && !g_atomic_int_get (&mailbox_timed))
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
  gint64 now = g_source_get_time (source);

  if (now < mailbox_next)
    {
      *timeout = (int) ((mailbox_next - now + 999) / 1000);
      return FALSE;
    }
  /* Posters wake the main thread from now on; the stack read after the
   * flag is set, so that a post that saw it unset is seen here. */
  g_atomic_int_set (&mailbox_timed, 0);
  *timeout = -1;
  return g_atomic_pointer_get (&mailbox_head) != NULL;
}

static gboolean
mailbox_check (GSource *source)
{
  return g_source_get_time (source) >= mailbox_next &&
         g_atomic_pointer_get (&mailbox_head) != NULL;
}

static gboolean
mailbox_dispatch (GSource     *source,
                  GSourceFunc  callback,
                  gpointer     user_data)
{
  if (somscope_mailbox_flush () > 0)
    {
      mailbox_next = g_source_get_time (source) + SOMSCOPE_MAILBOX_INTERVAL_US;
      g_atomic_int_set (&mailbox_timed, 1);
    }
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
