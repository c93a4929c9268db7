/* somscope-sched.h: a thread's scheduler slice (EEVDF's custom slice)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

G_BEGIN_DECLS

/* The kernel's struct sched_attr, first version (glibc 2.36 has no
 * wrapper, and <linux/sched/types.h> clashes with <sched.h>). */
typedef struct
{
  guint32 size;
  guint32 sched_policy;
  guint64 sched_flags;
  gint32  sched_nice;
  guint32 sched_priority;
  guint64 sched_runtime;
  guint64 sched_deadline;
  guint64 sched_period;
} SomscopeSchedAttr;

/* The calling thread, at normal policy and @nice, asks for slices of
 * @slice_ns (Linux 6.12 on; older kernels ignore it).  Best effort. */
static inline gboolean
somscope_sched_set_slice (int     nice,
                          guint64 slice_ns)
{
  SomscopeSchedAttr attr = { 0 };

  attr.size = sizeof attr;
  attr.sched_policy = SCHED_OTHER;
  attr.sched_nice = nice;
  attr.sched_runtime = slice_ns;
  return syscall (SYS_sched_setattr, 0, &attr, 0) == 0;
}

/* Thread @tid's slice in nanoseconds: 0 where the kernel reports none. */
static inline guint64
somscope_sched_get_slice (int tid)
{
  SomscopeSchedAttr attr = { 0 };

  if (syscall (SYS_sched_getattr, tid, &attr, sizeof attr, 0) != 0)
    return 0;
  return attr.sched_runtime;
}

G_END_DECLS
