/* bench-render.c: how long one frame of a 100×100 hex U-matrix takes
 *
 * Draws the U-matrix view (cells, colour bar, no title) into a 1000×1000
 * image surface, as the app does on a live redraw (options.crisp), and
 * reports the median and best of many frames, then the same antialiased.
 * Target: ≤ 8 ms for the live redraw.
 *
 *   meson compile -C build bench-render && build/tools/bench-render [FRAMES]
 *   meson test -C build --benchmark bench-render -v
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "som.h"

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* This thread's CPU time in ms: on a shared machine wall time also counts
 * the time other processes held the CPU. */
static double
cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double
bench (SomMapData *data, SomRenderOptions *o, int frames, double *best, double *cpu_median)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1000, 1000);
  double *t = g_new (double, frames), *c = g_new (double, frames), median;

  for (int f = -3; f < frames; f++)
    {
      cairo_t *cr = cairo_create (surface);
      gint64 start = g_get_monotonic_time ();
      double cpu_start = cpu_ms ();

      if (!som_render_view (cr, 1000, 1000, SOM_VIEW_UMATRIX, data, o, NULL))
        abort ();
      cairo_destroy (cr);
      cairo_surface_flush (surface);
      if (f >= 0)
        {
          t[f] = (g_get_monotonic_time () - start) / 1000.0;
          c[f] = cpu_ms () - cpu_start;
        }
    }
  qsort (t, frames, sizeof (double), compare_double);
  qsort (c, frames, sizeof (double), compare_double);
  median = t[frames / 2];
  *best = t[0];
  *cpu_median = c[frames / 2];
  g_free (t);
  g_free (c);
  cairo_surface_destroy (surface);
  return median;
}

int
main (int argc, char **argv)
{
  int frames = argc > 1 ? atoi (argv[1]) : 60;
  g_autoptr(SomGrid) grid = som_grid_new (100, 100, SOM_TOPOLOGY_HEX, FALSE, NULL);
  guint n = som_grid_get_n_units (grid);
  g_autofree float *umatrix = g_new (float, n);
  SomMapData data = { 0 };
  SomRenderOptions o;
  double median, best, cpu;
  g_autofree char *load = NULL;

  if (frames < 1)
    frames = 60;
  for (guint k = 0; k < n; k++)
    {
      double x, y;

      som_grid_get_position (grid, k, &x, &y);
      umatrix[k] = sin (x * 0.17) * cos (y * 0.11) + 0.3 * sin (k * 12.9898);
    }
  if (!g_file_get_contents ("/proc/loadavg", &load, NULL, NULL))
    load = g_strdup ("unknown");
  g_strchomp (load);
  data.grid = grid;
  data.umatrix = umatrix;
  som_render_options_init (&o);

  o.crisp = TRUE;
  median = bench (&data, &o, frames, &best, &cpu);
  printf ("100x100 hex U-matrix into 1000x1000 ARGB32 (target <= 8 ms), %d frames:\n", frames);
  printf ("  crisp (live redraw):            wall median %6.2f ms, best %6.2f ms; CPU median %6.2f ms\n",
          median, best, cpu);
  o.marked_unit = 5050;
  median = bench (&data, &o, frames, &best, &cpu);
  printf ("  crisp, hovered unit outlined:   wall median %6.2f ms, best %6.2f ms; CPU median %6.2f ms\n",
          median, best, cpu);
  o.marked_unit = -1;
  o.crisp = FALSE;
  median = bench (&data, &o, frames, &best, &cpu);
  printf ("  antialiased (export quality):   wall median %6.2f ms, best %6.2f ms; CPU median %6.2f ms\n",
          median, best, cpu);
  printf ("  (load average %s)\n", load);
  return 0;
}
