/* somscope-task-pool.h: GTasks run in an exclusive thread pool of the app's own
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _SomscopeTaskPool SomscopeTaskPool;

/* Runs once in each of the pool's threads, before its first task. */
typedef void (*SomscopeThreadSetup) (void);

SomscopeTaskPool *somscope_task_pool_new (const char          *thread_name,
                                          int                  max_threads,
                                          SomscopeThreadSetup  setup);
void              somscope_task_pool_run (SomscopeTaskPool    *pool,
                                          GTask               *task,
                                          GTaskThreadFunc      func);

G_END_DECLS
