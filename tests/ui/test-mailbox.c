/* test-mailbox.c: the workers' lock-free mailbox (somscope-mailbox.c)
 *
 * Threads post, the main loop delivers: every mail posted is delivered
 * after its last post, with the last value its thread left; a mail is
 * delivered no more often than it was posted; delivery is in the main
 * thread.
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mailbox/posts", test_mailbox_posts);
  return g_test_run ();
}
