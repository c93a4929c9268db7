/* test-mailbox.c: the workers' lock-free mailbox (somscope-mailbox.c)
 *
 * Threads post, the main loop delivers: every mail posted is delivered
 * after its last post, with the last value its thread left; a mail is
 * delivered no more often than it was posted; delivery is in the main
 * thread; deliveries are SOMSCOPE_MAILBOX_INTERVAL_US apart at least, a post
 * in between waits for the interval's end without a wakeup of its own, and
 * a post after a quiet interval wakes the main loop.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "somscope-mailbox.h"

#define N_THREADS 4
#define N_POSTS 200000

typedef struct
{
  SomscopeMail mail;       /* first, as the mailbox wants */
  gint         value;      /* atomic: the latest, left by the thread */
  guint        delivered;  /* main thread */
  gint         last_seen;  /* main thread */
  gint         done;       /* atomic: the thread has posted its last */
  guint        released;   /* references the mailbox gave back */
  gint64       when;       /* main thread: the last delivery's time */
} Box;

static GThread *main_thread;

static void
box_deliver (SomscopeMail *mail)
{
  Box *box = (Box *) mail;
  int value = g_atomic_int_get (&box->value);

  g_assert_true (g_thread_self () == main_thread);
  /* Values only go up: a delivery never shows an older one. */
  g_assert_cmpint (value, >=, box->last_seen);
  box->last_seen = value;
  box->delivered++;
  box->when = g_get_monotonic_time ();
}

static void
box_unref (gpointer data)
{
  ((Box *) data)->released++;
  g_atomic_rc_box_release (data);
}

static gpointer
poster (gpointer data)
{
  Box *box = data;

  for (int i = 1; i <= N_POSTS; i++)
    {
      g_atomic_int_set (&box->value, i);
      somscope_mail_post (&box->mail);
      /* Let the main thread in between, as the epochs do. */
      if (i % 64 == 0)
        g_thread_yield ();
    }
  g_atomic_int_set (&box->done, TRUE);
  /* Wake the main loop once more, so it sees the end. */
  g_main_context_wakeup (NULL);
  return NULL;
}

static void
test_mailbox_posts (void)
{
  Box *boxes[N_THREADS];
  GThread *threads[N_THREADS];
  gboolean all_done = FALSE;

  main_thread = g_thread_self ();
  somscope_mailbox_attach (NULL);
  for (guint i = 0; i < N_THREADS; i++)
    {
      boxes[i] = g_atomic_rc_box_new0 (Box);
      somscope_mail_init (&boxes[i]->mail, box_deliver, box_unref);
      threads[i] = g_thread_new ("poster", poster, boxes[i]);
    }
  while (!all_done)
    {
      all_done = TRUE;
      for (guint i = 0; i < N_THREADS; i++)
        all_done &= g_atomic_int_get (&boxes[i]->done);
      g_main_context_iteration (NULL, !all_done);
    }
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);
  /* Whatever is still waiting. */
  somscope_mailbox_flush ();
  for (guint i = 0; i < N_THREADS; i++)
    {
      g_test_message ("thread %u: %u deliveries for %d posts", i, boxes[i]->delivered, N_POSTS);
      g_assert_cmpint (boxes[i]->last_seen, ==, N_POSTS);
      g_assert_cmpuint (boxes[i]->delivered, >=, 1);
      g_assert_cmpuint (boxes[i]->delivered, <=, N_POSTS);
      /* Every reference the mailbox took, it gave back. */
      g_assert_cmpuint (boxes[i]->released, ==, boxes[i]->delivered);
      g_atomic_rc_box_release (boxes[i]);
    }
  g_assert_cmpuint (somscope_mailbox_flush (), ==, 0);
}

static gpointer
post_once (gpointer data)
{
  somscope_mail_post (data);
  return NULL;
}

static gboolean
timed_out (gpointer data)
{
  g_error ("the mail was not delivered within 5 s");
  return G_SOURCE_REMOVE;
}

static gboolean
set_true (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Blocks in the main loop until @box has @n deliveries. */
static void
wait_delivered (Box   *box,
                guint  n)
{
  while (box->delivered < n)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_mailbox_interval (void)
{
  Box *box = g_atomic_rc_box_new0 (Box);
  guint failsafe = g_timeout_add_seconds (5, timed_out, NULL);
  gboolean quiet = FALSE;
  gint64 first;
  GThread *thread;

  main_thread = g_thread_self ();
  somscope_mailbox_attach (NULL);
  somscope_mail_init (&box->mail, box_deliver, box_unref);

  g_atomic_int_set (&box->value, 1);
  somscope_mail_post (&box->mail);
  wait_delivered (box, 1);
  first = box->when;

  /* Posted right after a delivery: delivered once the interval is over, the
   * main loop woken by its own timer (nothing else would wake it). */
  g_atomic_int_set (&box->value, 2);
  somscope_mail_post (&box->mail);
  wait_delivered (box, 2);
  g_assert_cmpint (box->when - first, >=, SOMSCOPE_MAILBOX_INTERVAL_US - 1000);
  g_assert_cmpint (box->last_seen, ==, 2);

  /* A quiet interval, then a post from another thread while the main loop
   * sleeps with nothing else to wake it: the post wakes it. */
  g_timeout_add (SOMSCOPE_MAILBOX_INTERVAL_US / 1000 * 2, set_true, &quiet);
  while (!quiet)
    g_main_context_iteration (NULL, TRUE);
  g_main_context_iteration (NULL, FALSE);
  g_atomic_int_set (&box->value, 3);
  thread = g_thread_new ("poster", post_once, &box->mail);
  wait_delivered (box, 3);
  g_thread_join (thread);
  g_assert_cmpint (box->last_seen, ==, 3);
  g_assert_cmpuint (box->released, ==, 3);

  g_source_remove (failsafe);
  g_atomic_rc_box_release (box);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mailbox/posts", test_mailbox_posts);
  g_test_add_func ("/mailbox/interval", test_mailbox_interval);
  return g_test_run ();
}
