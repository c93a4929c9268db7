/* somscope-cpu-load.h: how busy the machine is with other programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The machine's CPU time (from /proc/stat's "cpu" line, in clock ticks),
 * this process's, and when. */
typedef struct
{
  guint64 busy_ticks;   /* user, nice, system, irq, softirq, steal */
  guint64 total_ticks;  /* the same and idle, iowait */
  gint64  self_ns;      /* CLOCK_PROCESS_CPUTIME_ID */
  gint64  time_us;      /* g_get_monotonic_time () */
} SomscopeCpuSample;

/* Reads the busy and total ticks from @proc_stat, the text of /proc/stat;
 * FALSE when it has no "cpu " line of at least four numbers. */
gboolean somscope_cpu_sample_parse   (const char              *proc_stat,
                                      SomscopeCpuSample       *sample);
gboolean somscope_cpu_sample_read    (SomscopeCpuSample       *sample);
/* The cores' worth of CPU time other programs used between @before and
 * @after (1.0: one core busy all along), never below 0. */
double   somscope_cpu_foreign_load   (const SomscopeCpuSample *before,
                                      const SomscopeCpuSample *after,
                                      long                     ticks_per_second);

G_END_DECLS
