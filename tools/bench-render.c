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

#include "som.h"

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
bench (SomMapData *data, SomRenderOptions *o, int frames, double *best)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1000, 1000);
  double *t = g_new (double, frames), median;

  for (int f = -3; f < frames; f++)
    {
      cairo_t *cr = cairo_create (surface);
      gint64 start = g_get_monotonic_time ();

      if (!som_render_view (cr, 1000, 1000, SOM_VIEW_UMATRIX, data, o, NULL))
        abort ();
      cairo_destroy (cr);
      cairo_surface_flush (surface);
      if (f >= 0)
        t[f] = (g_get_monotonic_time () - start) / 1000.0;
    }
  qsort (t, frames, sizeof (double), compare_double);
  median = t[frames / 2];
  *best = t[0];
  g_free (t);
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
  double median, best;

  if (frames < 1)
    frames = 60;
  for (guint k = 0; k < n; k++)
    {
      double x, y;

      som_grid_get_position (grid, k, &x, &y);
      umatrix[k] = sin (x * 0.17) * cos (y * 0.11) + 0.3 * sin (k * 12.9898);
    }
  data.grid = grid;
  data.umatrix = umatrix;
  som_render_options_init (&o);

  o.crisp = TRUE;
  median = bench (&data, &o, frames, &best);
  printf ("100x100 hex U-matrix into 1000x1000 ARGB32, crisp (live redraw): "
          "median %.2f ms, best %.2f ms over %d frames (target <= 8 ms)\n", median, best, frames);
  o.marked_unit = 5050;
  median = bench (&data, &o, frames, &best);
  printf ("  crisp, with a hovered unit outlined:      median %.2f ms, best %.2f ms\n", median, best);
  o.marked_unit = -1;
  o.crisp = FALSE;
  median = bench (&data, &o, frames, &best);
  printf ("  antialiased (export quality):             median %.2f ms, best %.2f ms\n", median, best);
  return 0;
}
