/* somscope-task-pool.c: GTasks run in an exclusive thread pool of the app's own
 *
 * g_task_run_in_thread() runs in GLib's shared pool.  The app's jobs want
 * threads of a priority of their own (idle for the workers, just below the
 * main thread for the renders), and a thread without CAP_SYS_NICE may lower
 * its priority but never raise it again: a shared thread lowered for a job
 * would run whatever came next (GIO's file jobs) at that priority.  So each
 * kind of job has an exclusive pool (a non-exclusive pool's idle threads are
 * GLib's spares, for any pool) whose threads are named and set up once, and
 * stay so.  Tasks queue when all its threads are busy (none waits for
 * another).  GTask returns from any thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "config.h"

#include <sys/prctl.h>

#include "somscope-task-pool.h"

struct _SomscopeTaskPool
{
  GThreadPool         *threads;
  char                *thread_name;
  SomscopeThreadSetup  setup;
};

typedef struct
{
  GTask           *task;
  GTaskThreadFunc  func;
} TaskCall;

static void
task_call (gpointer data,
           gpointer user_data)
{
  SomscopeTaskPool *pool = user_data;
  TaskCall *call = data;
  /* Exclusive pools: a thread belongs to one pool for good. */
  static _Thread_local gboolean set_up;

  if (!set_up)
    {
      /* Named, so they can be told apart (top -H, the tests). */
      prctl (PR_SET_NAME, pool->thread_name);
      if (pool->setup != NULL)
        pool->setup ();
      set_up = TRUE;
    }
  call->func (call->task, g_task_get_source_object (call->task), g_task_get_task_data (call->task),
              g_task_get_cancellable (call->task));
  g_object_unref (call->task);
  g_free (call);
}

/* The pool lives as long as the process (its threads are started at once). */
SomscopeTaskPool *
somscope_task_pool_new (const char          *thread_name,
                        int                  max_threads,
                        SomscopeThreadSetup  setup)
{
  SomscopeTaskPool *pool = g_new0 (SomscopeTaskPool, 1);

  g_return_val_if_fail (max_threads > 0, NULL);

  pool->thread_name = g_strndup (thread_name, 15);
  pool->setup = setup;
  pool->threads = g_thread_pool_new (task_call, pool, max_threads, TRUE, NULL);
  return pool;
}

/* As g_task_run_in_thread(), in one of @pool's threads. */
void
somscope_task_pool_run (SomscopeTaskPool *pool,
                        GTask            *task,
                        GTaskThreadFunc   func)
{
  TaskCall *call = g_new (TaskCall, 1);

  call->task = g_object_ref (task);
  call->func = func;
  g_thread_pool_push (pool->threads, call, NULL);
}
