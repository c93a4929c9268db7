/* test-cpu-load.c: the load of other programs, from /proc/stat and this
 * process's CPU time, against hand-computed cases
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "somscope-cpu-load.h"

static void
test_parse (void)
{
  SomscopeCpuSample s = { 0 };

  /* user nice system idle iowait irq softirq steal guest guest_nice */
  g_assert_true (somscope_cpu_sample_parse ("cpu  100 5 50 800 40 3 2 1 7 0\ncpu0 1 2 3 4\n", &s));
  g_assert_cmpuint (s.busy_ticks, ==, 100 + 5 + 50 + 3 + 2 + 1);
  g_assert_cmpuint (s.total_ticks, ==, 161 + 800 + 40);
  /* Old kernels: four fields. */
  g_assert_true (somscope_cpu_sample_parse ("cpu 10 0 5 85\n", &s));
  g_assert_cmpuint (s.busy_ticks, ==, 15);
  g_assert_cmpuint (s.total_ticks, ==, 100);

  g_assert_false (somscope_cpu_sample_parse ("cpu0 1 2 3 4\n", &s));
  g_assert_false (somscope_cpu_sample_parse ("cpu  1 2 x\n", &s));
  g_assert_false (somscope_cpu_sample_parse ("", &s));
  g_assert_false (somscope_cpu_sample_parse (NULL, &s));
}

static void
test_foreign_load (void)
{
  SomscopeCpuSample a = { 150, 1000, 0, 0 };
  /* One second later, 150 ticks (1.5 s of CPU at 100 a second) were busy,
   * 0.5 s of them this process's: others kept one core busy. */
  SomscopeCpuSample b = { 300, 1200, 500000000, 1000000 };
  SomscopeCpuSample c = b;

  g_assert_cmpfloat_with_epsilon (somscope_cpu_foreign_load (&a, &b, 100), 1.0, 1e-9);
  /* Over half a second, twice the rate. */
  c.time_us = 500000;
  g_assert_cmpfloat_with_epsilon (somscope_cpu_foreign_load (&a, &c, 100), 2.0, 1e-9);
  /* This process's time counted finer than the ticks: never below 0. */
  c = b;
  c.self_ns = 2000000000;
  g_assert_cmpfloat (somscope_cpu_foreign_load (&a, &c, 100), ==, 0);
  /* No time passed, or counters that went back: nothing to say. */
  g_assert_cmpfloat (somscope_cpu_foreign_load (&a, &a, 100), ==, 0);
  g_assert_cmpfloat (somscope_cpu_foreign_load (&b, &a, 100), ==, 0);
}

/* This machine's own counters read and make sense. */
static void
test_read (void)
{
  SomscopeCpuSample s;

  g_assert_true (somscope_cpu_sample_read (&s));
  g_assert_cmpuint (s.total_ticks, >=, s.busy_ticks);
  g_assert_cmpuint (s.total_ticks, >, 0);
  g_assert_cmpint (s.self_ns, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu-load/parse", test_parse);
  g_test_add_func ("/cpu-load/foreign-load", test_foreign_load);
  g_test_add_func ("/cpu-load/read", test_read);
  return g_test_run ();
}
