/* somscope-cpu-load.c: how busy the machine is with other programs
 *
 * The workers choose their priority from it (somscope-document.c): at idle
 * priority on an otherwise idle machine, where they give way at once to
 * the main thread and the X server, but not beside other busy programs,
 * which would keep them from running at all.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include "somscope-cpu-load.h"

gboolean
somscope_cpu_sample_parse (const char        *proc_stat,
                           SomscopeCpuSample *sample)
{
  /* user nice system idle iowait irq softirq steal (guest time is already
   * in user and nice) */
  guint64 v[8] = { 0 };
  const char *p;
  guint n = 0;

  g_return_val_if_fail (sample != NULL, FALSE);

  if (proc_stat == NULL || !g_str_has_prefix (proc_stat, "cpu "))
    return FALSE;
  p = proc_stat + 4;
  while (n < G_N_ELEMENTS (v))
    {
      char *end;

      while (*p == ' ')
        p++;
      if (!g_ascii_isdigit (*p))
        break;
      v[n++] = g_ascii_strtoull (p, &end, 10);
      p = end;
    }
  if (n < 4)
    return FALSE;
  sample->busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  sample->total_ticks = sample->busy_ticks + v[3] + v[4];
  return TRUE;
}

gboolean
somscope_cpu_sample_read (SomscopeCpuSample *sample)
{
  g_autofree char *text = NULL;
  struct timespec ts;

  g_return_val_if_fail (sample != NULL, FALSE);

  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL) ||
      !somscope_cpu_sample_parse (text, sample) ||
      clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
    return FALSE;
  sample->self_ns = (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
  sample->time_us = g_get_monotonic_time ();
  return TRUE;
}

double
somscope_cpu_foreign_load (const SomscopeCpuSample *before,
                           const SomscopeCpuSample *after,
                           long                     ticks_per_second)
{
  double seconds, busy, self;

  g_return_val_if_fail (before != NULL && after != NULL, 0);

  seconds = (after->time_us - before->time_us) / 1e6;
  if (seconds <= 0 || ticks_per_second <= 0 || after->busy_ticks < before->busy_ticks)
    return 0;
  busy = (double) (after->busy_ticks - before->busy_ticks) / ticks_per_second;
  self = (after->self_ns - before->self_ns) / 1e9;
  return MAX (busy - self, 0) / seconds;
}
