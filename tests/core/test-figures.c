/* test-figures.c: colour maps, renderers, hexagon geometry, golden images,
 * PNG/SVG/PDF export and the figure command
 *
 * Golden images live in tests/data/golden/.  After an intended change to a
 * drawing, regenerate them and look at every one before committing:
 *
 *   SOMSCOPE_REGENERATE_GOLDEN=1 meson test -C build test-figures
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <cairo.h>
#include <glib/gstdio.h>
#include <png.h>

#include "som.h"

/* ------------------------------------------------------------ helpers */

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  if (tmp_dir == NULL)
    tmp_dir = g_dir_make_tmp ("somscope-figures-XXXXXX", NULL);
  return g_build_filename (tmp_dir, name, NULL);
}

/* Removes the scratch folder unless SOMSCOPE_KEEP_TEST_FILES is set (to look
 * at the drawings of a failed golden comparison). */
static void
remove_tmp_dir (void)
{
  GDir *dir;
  const char *name;

  if (tmp_dir == NULL || g_getenv ("SOMSCOPE_KEEP_TEST_FILES") != NULL)
    return;
  dir = g_dir_open (tmp_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
      g_unlink (path);
    }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (tmp_dir);
  g_clear_pointer (&tmp_dir, g_free);
}

/* A synthetic map, deterministic, no training: a smooth codebook with a
 * ridge (so the U-matrix has a boundary) and K classes whose hits fall off
 * with the grid distance from a centre per class. */
typedef struct
{
  SomGrid *grid;
  guint    dim;
  float   *codebook;
  float   *umatrix;
  gint32  *hits;
  gint32  *class_hits;
  guint    n_classes;
  float   *response;
} Synth;

static const char *class_names[] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

static Synth *
synth_new (guint rows, guint cols, SomTopology topology, guint n_classes)
{
  Synth *s = g_new0 (Synth, 1);
  guint n;

  s->grid = som_grid_new (rows, cols, topology, FALSE, NULL);
  g_assert_nonnull (s->grid);
  n = som_grid_get_n_units (s->grid);
  s->dim = 4;
  s->codebook = g_new (float, n * s->dim);
  s->umatrix = g_new (float, n);
  s->hits = g_new0 (gint32, n);
  s->n_classes = n_classes;
  s->class_hits = g_new0 (gint32, (gsize) MAX (n_classes, 1) * n);
  s->response = g_new (float, n);
  for (guint k = 0; k < n; k++)
    {
      double x, y;

      som_grid_get_position (s->grid, k, &x, &y);
      for (guint d = 0; d < s->dim; d++)
        s->codebook[k * s->dim + d] = sin (x * (0.3 + 0.1 * d) + d) + cos (y * (0.25 + 0.05 * d))
                                      + (d == 0 && x > som_grid_get_width (s->grid) / 2 ? 2 : 0);
    }
  for (guint k = 0; k < n; k++)
    {
      guint nn;
      const guint *nb = som_grid_get_neighbours (s->grid, k, &nn);
      double acc = 0, r = 0;

      for (guint i = 0; i < nn; i++)
        {
          double d2 = 0;

          for (guint d = 0; d < s->dim; d++)
            {
              double t = s->codebook[k * s->dim + d] - s->codebook[nb[i] * s->dim + d];
              d2 += t * t;
            }
          acc += sqrt (d2);
        }
      s->umatrix[k] = acc / nn;
      for (guint d = 0; d < s->dim; d++)
        {
          double t = s->codebook[k * s->dim + d] - s->codebook[(n / 3) * s->dim + d];
          r += t * t;
        }
      s->response[k] = sqrt (r);
    }
  for (guint j = 0; j < n_classes; j++)
    {
      /* Class centres spread over the map. */
      double cx = fmod (j * 0.37 + 0.1, 1.0) * som_grid_get_width (s->grid);
      double cy = fmod (j * 0.61 + 0.2, 1.0) * som_grid_get_height (s->grid);

      for (guint k = 0; k < n; k++)
        {
          double x, y;

          som_grid_get_position (s->grid, k, &x, &y);
          s->class_hits[(gsize) j * n + k] = (gint32) floor (30 * exp (-((x - cx) * (x - cx) +
                                                                        (y - cy) * (y - cy)) / 6));
          s->hits[k] += s->class_hits[(gsize) j * n + k];
        }
    }
  return s;
}

static void
synth_free (Synth *s)
{
  som_grid_unref (s->grid);
  g_free (s->codebook);
  g_free (s->umatrix);
  g_free (s->hits);
  g_free (s->class_hits);
  g_free (s->response);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Synth, synth_free)

static void
synth_data (const Synth *s, SomMapData *d, const char *name)
{
  memset (d, 0, sizeof *d);
  d->grid = s->grid;
  d->name = name;
  d->umatrix = s->umatrix;
  d->codebook = s->codebook;
  d->dim = s->dim;
  d->hits = s->hits;
  d->class_hits = s->n_classes ? s->class_hits : NULL;
  d->n_classes = s->n_classes;
  d->class_names = s->n_classes <= G_N_ELEMENTS (class_names) ? class_names : NULL;
  d->response = s->response;
  d->response_bmu = som_grid_get_n_units (s->grid) / 3;
}

/* --------------------------------------------------------- colour maps */

static void
test_colormap_tables (void)
{
  double rgb[3];
  SomColormap map;

  /* Published endpoints (matplotlib _cm_listed.py). */
  som_colormap_entry (SOM_COLORMAP_VIRIDIS, 0, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 0.267004, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[1], 0.004874, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[2], 0.329415, 1e-6);
  som_colormap_entry (SOM_COLORMAP_VIRIDIS, 255, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 0.993248, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[1], 0.906157, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[2], 0.143936, 1e-6);
  som_colormap_entry (SOM_COLORMAP_MAGMA, 255, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 0.987053, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[2], 0.749504, 1e-6);
  som_colormap_entry (SOM_COLORMAP_CIVIDIS, 0, rgb);
  g_assert_cmpfloat_with_epsilon (rgb[0], 0.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[1], 0.135112, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[2], 0.304751, 1e-6);

  /* Diverging: blue at the bottom, red at the top, near white in the middle. */
  som_colormap_rgb (SOM_COLORMAP_DIVERGING, 0, rgb);
  g_assert_cmpfloat (rgb[2], >, rgb[0]);
  som_colormap_rgb (SOM_COLORMAP_DIVERGING, 1, rgb);
  g_assert_cmpfloat (rgb[0], >, rgb[2]);
  som_colormap_rgb (SOM_COLORMAP_DIVERGING, 0.5, rgb);
  g_assert_cmpfloat (MIN (rgb[0], MIN (rgb[1], rgb[2])), >, 0.9);

  /* Index mapping as matplotlib: floor(t·256), clamped. */
  g_assert_cmpuint (som_colormap_index (0), ==, 0);
  g_assert_cmpuint (som_colormap_index (-3), ==, 0);
  g_assert_cmpuint (som_colormap_index (1), ==, 255);
  g_assert_cmpuint (som_colormap_index (0.5), ==, 128);
  g_assert_cmpuint (som_colormap_index (0.999), ==, 255);
  g_assert_cmpuint (som_colormap_index (1.0 / 256 - 1e-9), ==, 0);
  g_assert_cmpuint (som_colormap_index (1.0 / 256 + 1e-9), ==, 1);

  g_assert_true (som_colormap_from_name ("cividis", &map));
  g_assert_cmpint (map, ==, SOM_COLORMAP_CIVIDIS);
  g_assert_cmpstr (som_colormap_get_name (SOM_COLORMAP_MAGMA), ==, "magma");
  g_assert_false (som_colormap_from_name ("jet", &map));

  /* Viridis is monotonic in lightness (a proxy: rising luma). */
  for (guint i = 1; i < 256; i++)
    {
      double a[3], b[3];

      som_colormap_entry (SOM_COLORMAP_VIRIDIS, i - 1, a);
      som_colormap_entry (SOM_COLORMAP_VIRIDIS, i, b);
      g_assert_cmpfloat (0.2126 * b[0] + 0.7152 * b[1] + 0.0722 * b[2], >,
                         0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2]);
    }
}

static void
test_palette (void)
{
  g_assert_cmpuint (SOM_PALETTE_N_COLORS, >=, 10);
  for (guint i = 0; i < SOM_PALETTE_N_COLORS; i++)
    for (guint j = 0; j < i; j++)
      {
        double a[3], b[3];

        som_palette_rgb (i, a);
        som_palette_rgb (j, b);
        g_assert_cmpfloat (fabs (a[0] - b[0]) + fabs (a[1] - b[1]) + fabs (a[2] - b[2]), >, 0.15);
      }
}

static void
test_nice_ticks (void)
{
  double t[16];
  int dec;
  guint n;

  n = som_render_nice_ticks (0, 1.75, 5, t, &dec);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpfloat (t[0], ==, 0);
  g_assert_cmpfloat_with_epsilon (t[3], 1.5, 1e-12);
  g_assert_cmpint (dec, ==, 1);

  n = som_render_nice_ticks (0.9, 1.75, 5, t, &dec);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpfloat_with_epsilon (t[0], 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (t[1], 1.25, 1e-12);
  g_assert_cmpint (dec, ==, 2);

  n = som_render_nice_ticks (0, 83, 5, t, &dec);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpfloat (t[3], ==, 75);
  g_assert_cmpint (dec, ==, 0);

  n = som_render_nice_ticks (-0.003, 0.004, 5, t, &dec);
  g_assert_cmpuint (n, >=, 3);
  g_assert_cmpuint (n, <=, 5);
  for (guint i = 0; i < n; i++)
    g_assert_true (t[i] >= -0.003 - 1e-12 && t[i] <= 0.004 + 1e-12);

  /* A constant scale gives one tick at the value. */
  n = som_render_nice_ticks (2, 2, 5, t, &dec);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpfloat (t[0], ==, 2);
}

/* ------------------------------------------------------- geometry */

static double
polygon_area (const double *x, const double *y, guint n)
{
  double a = 0;

  for (guint i = 0; i < n; i++)
    a += x[i] * y[(i + 1) % n] - x[(i + 1) % n] * y[i];
  return fabs (a) / 2;
}

/* Independent of the renderer's own test: inside or on a convex polygon. */
static gboolean
in_convex (const double *x, const double *y, guint n, double px, double py)
{
  int sign = 0;

  for (guint i = 0; i < n; i++)
    {
      double cross = (x[(i + 1) % n] - x[i]) * (py - y[i]) - (y[(i + 1) % n] - y[i]) * (px - x[i]);

      if (fabs (cross) < 1e-9)
        continue;
      if (sign == 0)
        sign = cross > 0 ? 1 : -1;
      else if ((cross > 0 ? 1 : -1) != sign)
        return FALSE;
    }
  return TRUE;
}

static void
check_tiling (SomTopology topology)
{
  g_autoptr(Synth) s = synth_new (7, 9, topology, 0);
  SomMapData d;
  SomRenderOptions o;
  SomMapLayout layout;
  guint n = som_grid_get_n_units (s->grid), nv = topology == SOM_TOPOLOGY_HEX ? 6 : 4;
  g_autofree double *xs = g_new (double, 6 * n);
  g_autofree double *ys = g_new (double, 6 * n);
  double total = 0, cell_area, eps;
  guint shared_pairs = 0;

  synth_data (s, &d, NULL);
  som_render_options_init (&o);
  som_render_view_layout (400, 300, SOM_VIEW_UMATRIX, &d, &o, &layout);
  g_assert_cmpfloat (layout.scale, >, 5);
  eps = 1e-9 * layout.scale;
  cell_area = (topology == SOM_TOPOLOGY_HEX ? sqrt (3) / 2 : 1) * layout.scale * layout.scale;

  for (guint k = 0; k < n; k++)
    {
      g_assert_cmpuint (som_map_layout_unit_polygon (&layout, k, xs + 6 * k, ys + 6 * k), ==, nv);
      g_assert_cmpfloat_with_epsilon (polygon_area (xs + 6 * k, ys + 6 * k, nv), cell_area,
                                      1e-9 * cell_area);
      total += polygon_area (xs + 6 * k, ys + 6 * k, nv);
    }
  g_assert_cmpfloat_with_epsilon (total, n * cell_area, 1e-9 * total);

  /* Neighbours share an edge: exactly two vertices in common; other pairs
   * share at most one (a corner). */
  for (guint a = 0; a < n; a++)
    for (guint b = a + 1; b < n; b++)
      {
        guint common = 0;

        for (guint i = 0; i < nv; i++)
          for (guint j = 0; j < nv; j++)
            if (fabs (xs[6 * a + i] - xs[6 * b + j]) < eps && fabs (ys[6 * a + i] - ys[6 * b + j]) < eps)
              common++;
        if (som_grid_are_neighbours (s->grid, a, b))
          {
            g_assert_cmpuint (common, ==, 2);
            shared_pairs++;
          }
        else
          g_assert_cmpuint (common, <=, 1);
      }
  g_assert_cmpuint (shared_pairs, >, n);

  /* No gaps, no overlaps: every point of a fine lattice inside the map's
   * interior lies in exactly one cell, and the hit test names that cell. */
  {
    double x0, y0, x1, y1;
    guint inner = 0;

    som_map_layout_unit_rect (&layout, som_grid_unit_index (s->grid, 1, 1), &x0, &y0, &x1, &y1);
    x0 += x1 / 2;
    y0 += y1 / 2;
    som_map_layout_unit_rect (&layout, som_grid_unit_index (s->grid, 5, 7), &x1, &y1, &cell_area,
                              &total);
    x1 += cell_area / 2;
    y1 += total / 2;
    for (double py = y0; py <= y1; py += layout.scale / 7.3)
      for (double px = x0; px <= x1; px += layout.scale / 6.7)
        {
          int hit = som_map_layout_hit_test (&layout, px, py), owner = -1;
          guint owners = 0;

          for (guint k = 0; k < n; k++)
            if (in_convex (xs + 6 * k, ys + 6 * k, nv, px, py))
              {
                owners++;
                owner = k;
              }
          g_assert_cmpuint (owners, >=, 1);
          if (owners == 1)
            {
              g_assert_cmpint (hit, ==, owner);
              inner++;
            }
        }
    g_assert_cmpuint (inner, >, 500);
  }

  /* Outside the map: no unit. */
  g_assert_cmpint (som_map_layout_hit_test (&layout, -10, -10), ==, -1);
  g_assert_cmpint (som_map_layout_hit_test (&layout, 1e4, 5), ==, -1);
}

static void
test_hex_tiling (void)
{
  check_tiling (SOM_TOPOLOGY_HEX);
}

static void
test_rect_tiling (void)
{
  check_tiling (SOM_TOPOLOGY_RECT);
}

/* The drawn map has no seams: a U-matrix of one value painted on a contrasting
 * background leaves no background pixel between cells. */
static void
test_no_seams (void)
{
  g_autoptr(Synth) s = synth_new (20, 20, SOM_TOPOLOGY_HEX, 0);
  SomMapData d;
  SomRenderOptions o;
  SomMapLayout layout;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 333, 301);
  cairo_t *cr = cairo_create (surface);
  guint n = som_grid_get_n_units (s->grid), bad = 0, checked = 0;
  int worst = 0;
  double x0, y0, w, h, x1, y1;
  guint32 *px;
  int stride;
  g_autoptr(GError) error = NULL;

  for (guint k = 0; k < n; k++)
    s->umatrix[k] = 1;
  synth_data (s, &d, NULL);
  som_render_options_init (&o);
  o.vmin = 0;
  o.vmax = 2;
  g_assert_true (som_render_view (cr, 333, 301, SOM_VIEW_UMATRIX, &d, &o, &error));
  g_assert_no_error (error);
  cairo_surface_flush (surface);
  som_render_view_layout (333, 301, SOM_VIEW_UMATRIX, &d, &o, &layout);
  som_map_layout_unit_rect (&layout, som_grid_unit_index (s->grid, 1, 1), &x0, &y0, &w, &h);
  som_map_layout_unit_rect (&layout, som_grid_unit_index (s->grid, 18, 18), &x1, &y1, &w, &h);
  px = (guint32 *) cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface) / 4;
  {
    guint32 ref = px[(int) (y0 + h / 2) * stride + (int) (x0 + w / 2)];

    for (int y = (int) (y0 + h / 2); y < (int) (y1 + h / 2); y++)
      for (int x = (int) (x0 + w / 2); x < (int) (x1 + w / 2); x++)
        {
          guint32 v = px[y * stride + x];
          int diff = 0;

          checked++;
          for (int sh = 0; sh < 24; sh += 8)
            diff = MAX (diff, abs ((int) ((v >> sh) & 0xff) - (int) ((ref >> sh) & 0xff)));
          worst = MAX (worst, diff);
          /* A seam is background showing through: more than a rounding step. */
          if (diff > 2)
            bad++;
        }
  }
  g_assert_cmpuint (checked, >, 40000);
  g_test_message ("largest difference from the cell colour: %d/255", worst);
  g_assert_cmpuint (bad, ==, 0);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

/* ---------------------------------------------------- golden images */

typedef enum
{
  G_UMATRIX_HEX,
  G_UMATRIX_INTERSTITIAL_RECT,
  G_UMATRIX_DARK,
  G_HITS_HEAT,
  G_HITS_MARKERS,
  G_HITS_LOG,
  G_CLASSES,
  G_CLASS_HITS,
  G_COMPONENT,
  G_RESPONSE,
  G_MULTIPLES_SHARED,
  G_MULTIPLES_OWN,
  G_TRAJECTORY,
  G_METRIC,
} GoldenCase;

static const char *golden_names[] = {
  "umatrix-hex", "umatrix-interstitial-rect", "umatrix-dark", "hits-heat", "hits-markers", "hits-log",
  "classes", "class-hits", "component", "response", "multiples-shared", "multiples-own",
  "trajectory", "metric",
};

#define GOLDEN_WIDTH_PT 240.0
#define GOLDEN_DPI      96.0

typedef struct
{
  GoldenCase  which;
  Synth      *maps[3];
} GoldenJob;

static gboolean
draw_golden (cairo_t *cr, double width, double height, guint page, gpointer user_data,
             GError **error)
{
  GoldenJob *job = user_data;
  SomMapData d[3];
  SomRenderOptions o;
  static const char *layer_names[] = { "conv1/relu", "conv2/relu", "fc1" };

  for (guint i = 0; i < 3; i++)
    synth_data (job->maps[i], &d[i], layer_names[i]);
  som_render_options_init (&o);
  switch (job->which)
    {
    case G_UMATRIX_HEX:
      o.title = "U-matrix";
      return som_render_view (cr, width, height, SOM_VIEW_UMATRIX, &d[0], &o, error);
    case G_UMATRIX_INTERSTITIAL_RECT:
      o.interstitial = TRUE;
      return som_render_view (cr, width, height, SOM_VIEW_UMATRIX, &d[1], &o, error);
    case G_UMATRIX_DARK:
      o.theme = SOM_RENDER_THEME_DARK;
      o.title = "Dark";
      o.marked_unit = 5;
      return som_render_view (cr, width, height, SOM_VIEW_UMATRIX, &d[0], &o, error);
    case G_HITS_HEAT:
      return som_render_view (cr, width, height, SOM_VIEW_HITS, &d[0], &o, error);
    case G_HITS_MARKERS:
      o.hits_style = SOM_HITS_MARKERS;
      o.hits_style_set = TRUE;
      return som_render_view (cr, width, height, SOM_VIEW_HITS, &d[0], &o, error);
    case G_HITS_LOG:
      o.scale = SOM_SCALE_LOG;
      return som_render_view (cr, width, height, SOM_VIEW_HITS, &d[0], &o, error);
    case G_CLASSES:
      return som_render_view (cr, width, height, SOM_VIEW_CLASSES, &d[0], &o, error);
    case G_CLASS_HITS:
      return som_render_view (cr, width, height, SOM_VIEW_CLASS_HITS, &d[0], &o, error);
    case G_COMPONENT:
      o.feature = 2;
      o.colormap = SOM_COLORMAP_DIVERGING;
      o.colormap_set = TRUE;
      return som_render_view (cr, width, height, SOM_VIEW_COMPONENT, &d[0], &o, error);
    case G_RESPONSE:
      return som_render_view (cr, width, height, SOM_VIEW_RESPONSE, &d[0], &o, error);
    case G_MULTIPLES_SHARED:
      o.shared_scale = TRUE;
      o.title = "U-matrix per layer";
      d[1] = d[2];
      return som_render_multiples (cr, width, height, SOM_VIEW_UMATRIX, d, 3, &o, error);
    case G_MULTIPLES_OWN:
      d[1] = d[2];
      return som_render_multiples (cr, width, height, SOM_VIEW_COMPONENT, d, 3, &o, error);
    case G_TRAJECTORY:
      {
        int clean[3] = { 10, 40, 100 }, adv[3] = { 10, 55, 20 };
        double dist[3] = { 0, 2.6, 7.1 };

        d[1] = d[2];
        d[2] = d[0];
        d[2].name = "logits";
        o.title = "Input 0: clean vs adversarial";
        return som_render_trajectory (cr, width, height, d, 3, clean, adv, dist, 1, &o, error);
      }
    case G_METRIC:
      {
        const char *names[6] = { "relu1", "pool1", "relu2", "pool2", "fc1", "fc2" };
        double clean[6] = { 0.82, 0.75, 0.64, 0.55, 0.41, 0.30 };
        double cerr[6] = { 0.05, 0.04, 0.06, 0.05, 0.04, 0.03 };
        double adv[6] = { 0.81, 0.70, 0.52, 0.40, 0.30, NAN };
        double aerr[6] = { 0.06, 0.05, 0.07, 0.06, 0.05, 0.04 };

        o.title = "Class spread";
        return som_render_metric_chart (cr, width, height, 6, names, "class spread", clean, cerr,
                                        adv, aerr, &o, error);
      }
    default:
      g_assert_not_reached ();
    }
}

static double
golden_height (GoldenJob *job)
{
  SomMapData d[3];
  SomRenderOptions o;

  for (guint i = 0; i < 3; i++)
    synth_data (job->maps[i], &d[i], "layer");
  som_render_options_init (&o);
  switch (job->which)
    {
    case G_UMATRIX_HEX:
    case G_UMATRIX_DARK:
      o.title = "U-matrix";
      return som_render_natural_height (SOM_VIEW_UMATRIX, &d[0], &o, GOLDEN_WIDTH_PT);
    case G_UMATRIX_INTERSTITIAL_RECT:
      return som_render_natural_height (SOM_VIEW_UMATRIX, &d[1], &o, GOLDEN_WIDTH_PT);
    case G_HITS_HEAT:
    case G_HITS_MARKERS:
    case G_HITS_LOG:
      return som_render_natural_height (SOM_VIEW_HITS, &d[0], &o, GOLDEN_WIDTH_PT);
    case G_CLASSES:
      return som_render_natural_height (SOM_VIEW_CLASSES, &d[0], &o, GOLDEN_WIDTH_PT);
    case G_CLASS_HITS:
      return som_render_natural_height (SOM_VIEW_CLASS_HITS, &d[0], &o, GOLDEN_WIDTH_PT);
    case G_COMPONENT:
    case G_RESPONSE:
      return som_render_natural_height (SOM_VIEW_COMPONENT, &d[0], &o, GOLDEN_WIDTH_PT);
    case G_MULTIPLES_SHARED:
    case G_MULTIPLES_OWN:
      o.title = "U-matrix per layer";
      o.shared_scale = job->which == G_MULTIPLES_SHARED;
      return som_render_multiples_natural_height (SOM_VIEW_UMATRIX, d, 3, &o, GOLDEN_WIDTH_PT);
    case G_TRAJECTORY:
      return som_render_trajectory_natural_height (3, GOLDEN_WIDTH_PT);
    case G_METRIC:
      return GOLDEN_WIDTH_PT * 0.62;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
read_png_rgb (const char *path, int *width, int *height, guint8 **rgb, double *dpi)
{
  png_image image = { 0 };
  png_structp png;
  png_infop info;
  FILE *fp;

  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file (&image, path))
    return FALSE;
  image.format = PNG_FORMAT_RGB;
  *rgb = g_malloc (PNG_IMAGE_SIZE (image));
  if (!png_image_finish_read (&image, NULL, *rgb, 0, NULL))
    {
      g_free (*rgb);
      return FALSE;
    }
  *width = image.width;
  *height = image.height;

  /* The pHYs chunk, with the classic API. */
  *dpi = 0;
  fp = g_fopen (path, "rb");
  png = png_create_read_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  info = png_create_info_struct (png);
  if (setjmp (png_jmpbuf (png)) == 0)
    {
      png_uint_32 rx, ry;
      int unit;

      png_init_io (png, fp);
      png_read_info (png, info);
      if (png_get_pHYs (png, info, &rx, &ry, &unit) && unit == PNG_RESOLUTION_METER)
        *dpi = rx * 0.0254;
    }
  png_destroy_read_struct (&png, &info, NULL);
  fclose (fp);
  return TRUE;
}

static void
test_golden (gconstpointer user_data)
{
  GoldenCase which = GPOINTER_TO_INT (user_data);
  const char *name = golden_names[which];
  g_autoptr(Synth) a = synth_new (8, 12, SOM_TOPOLOGY_HEX, 10);
  g_autoptr(Synth) b = synth_new (6, 6, SOM_TOPOLOGY_RECT, 3);
  g_autoptr(Synth) c = synth_new (10, 10, SOM_TOPOLOGY_HEX, 10);
  GoldenJob job = { which, { a, b, c } };
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  g_autofree char *golden = g_build_filename (g_getenv ("SOMSCOPE_SOURCE_DIR"), "tests", "data",
                                              "golden", file, NULL);
  g_autofree char *actual = tmp_path (file);
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *want = NULL;
  g_autofree guint8 *got = NULL;
  int ww, wh, gw, gh;
  double dpi;
  gsize bad = 0, n;

  g_assert_true (som_figure_export (actual, SOM_FIGURE_PNG, GOLDEN_WIDTH_PT, golden_height (&job),
                                    GOLDEN_DPI, 1, draw_golden, &job, &error));
  g_assert_no_error (error);

  if (g_getenv ("SOMSCOPE_REGENERATE_GOLDEN") != NULL)
    {
      g_autofree char *contents = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (actual, &contents, &len, NULL));
      g_assert_true (som_file_set_contents_atomic (golden, contents, len, &error));
      g_assert_no_error (error);
      g_test_message ("regenerated %s", golden);
      return;
    }

  g_assert_true (read_png_rgb (actual, &gw, &gh, &got, &dpi));
  g_assert_cmpfloat_with_epsilon (dpi, GOLDEN_DPI, 0.05);
  if (!read_png_rgb (golden, &ww, &wh, &want, &dpi))
    {
      g_test_message ("missing golden image %s; the drawing is at %s; regenerate with "
                      "SOMSCOPE_REGENERATE_GOLDEN=1", golden, actual);
      g_test_fail ();
      return;
    }
  if (gw != ww || gh != wh)
    {
      g_test_message ("%s: the drawing is %d × %d pixels, the golden image %d × %d; the drawing "
                      "is at %s (set SOMSCOPE_KEEP_TEST_FILES=1 to keep it)", name, gw, gh, ww, wh,
                      actual);
      g_test_fail ();
      return;
    }
  n = (gsize) ww * wh;
  /* A pixel matches when every channel is within 8 of the golden one; text
   * antialiasing may move a few pixels, so allow 0.2% to differ. */
  for (gsize i = 0; i < n; i++)
    for (int ch = 0; ch < 3; ch++)
      if (abs ((int) got[3 * i + ch] - (int) want[3 * i + ch]) > 8)
        {
          bad++;
          break;
        }
  if (bad > n / 500)
    {
      g_test_message ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " pixels differ from %s; "
                      "the drawing is at %s (set SOMSCOPE_KEEP_TEST_FILES=1 to keep it)", name, bad, n, golden,
                      actual);
      g_test_fail ();
    }
}

/* ------------------------------------------------------------ export */

static gboolean
draw_simple (cairo_t *cr, double width, double height, guint page, gpointer user_data,
             GError **error)
{
  Synth *s = user_data;
  SomMapData d;
  SomRenderOptions o;
  g_autofree char *title = g_strdup_printf ("Layer %u", page);

  synth_data (s, &d, NULL);
  som_render_options_init (&o);
  o.title = title;
  return som_render_view (cr, width, height, SOM_VIEW_UMATRIX, &d, &o, error);
}

static char *
run_tool (const char *const *argv, int *status)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               NULL, status, &error));
  g_assert_no_error (error);
  return out;
}

static guint
pdf_pages (const char *pdfinfo_output)
{
  const char *p = strstr (pdfinfo_output, "Pages:");

  g_assert_nonnull (p);
  return (guint) g_ascii_strtoull (p + 6 + strspn (p + 6, " "), NULL, 10);
}

static void
test_export_formats (void)
{
  g_autoptr(Synth) s = synth_new (6, 8, SOM_TOPOLOGY_HEX, 0);
  g_autofree char *png = tmp_path ("e.png");
  g_autofree char *svg = tmp_path ("e.svg");
  g_autofree char *pdf = tmp_path ("e.pdf");
  g_autofree guint8 *rgb = NULL;
  g_autoptr(GError) error = NULL;
  SomFigureFormat f;
  int w, h, status;
  double dpi;

  g_assert_true (som_figure_format_from_path ("a/b.PNG", &f));
  g_assert_cmpint (f, ==, SOM_FIGURE_PNG);
  g_assert_true (som_figure_format_from_path ("x.svg", &f));
  g_assert_cmpint (f, ==, SOM_FIGURE_SVG);
  g_assert_true (som_figure_format_from_path ("x.pdf", &f));
  g_assert_cmpint (f, ==, SOM_FIGURE_PDF);
  g_assert_false (som_figure_format_from_path ("x.jpg", &f));
  g_assert_false (som_figure_format_from_path ("x", &f));
  g_assert_false (som_figure_format_from_path ("dir.png/x", &f));

  /* PNG: pixels = round(points × dpi / 72); pHYs records the dpi. */
  g_assert_true (som_figure_export (png, SOM_FIGURE_PNG, 100, 50, 150, 1, draw_simple, s, &error));
  g_assert_no_error (error);
  g_assert_true (read_png_rgb (png, &w, &h, &rgb, &dpi));
  g_assert_cmpint (w, ==, 208);
  g_assert_cmpint (h, ==, 104);
  g_assert_cmpfloat (fabs (dpi - 150), <, 0.02);

  /* SVG: well-formed. */
  g_assert_true (som_figure_export (svg, SOM_FIGURE_SVG, 200, 120, 0, 1, draw_simple, s, &error));
  g_assert_no_error (error);
  {
    const char *argv[] = { "xmllint", "--noout", svg, NULL };
    g_autofree char *out = run_tool (argv, &status);

    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }

  /* PDF: readable, one page per layer, the size in points. */
  g_assert_true (som_figure_export (pdf, SOM_FIGURE_PDF, 241, 150, 0, 3, draw_simple, s, &error));
  g_assert_no_error (error);
  {
    const char *argv[] = { "pdfinfo", pdf, NULL };
    g_autofree char *out = run_tool (argv, &status);

    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_cmpuint (pdf_pages (out), ==, 3);
    g_assert_nonnull (strstr (out, "241 x 150 pts"));
  }
  {
    /* Text is text: pdftotext finds the titles. */
    const char *argv[] = { "pdftotext", pdf, "-", NULL };
    g_autofree char *out = run_tool (argv, &status);

    g_assert_nonnull (strstr (out, "Layer 2"));
  }

  /* Only PDFs have pages; nonsense sizes are refused. */
  g_assert_false (som_figure_export (png, SOM_FIGURE_PNG, 100, 50, 72, 2, draw_simple, s, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (som_figure_export (png, SOM_FIGURE_PNG, 1e6, 50, 300, 1, draw_simple, s, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE);
  g_clear_error (&error);
  g_assert_false (som_figure_export (png, SOM_FIGURE_PNG, NAN, 50, 300, 1, draw_simple, s, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_clear_error (&error);
}

static void
test_export_unwritable (void)
{
  g_autoptr(Synth) s = synth_new (4, 4, SOM_TOPOLOGY_HEX, 0);
  g_autoptr(GError) error = NULL;
  const char *bad = "/nonexistent-dir/figure.png";

  g_assert_false (som_figure_export (bad, SOM_FIGURE_PNG, 100, 50, 72, 1, draw_simple, s, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_IO);
  g_assert_nonnull (strstr (error->message, bad));
  g_clear_error (&error);
  g_assert_false (som_figure_export ("/nonexistent-dir/f.pdf", SOM_FIGURE_PDF, 100, 50, 72, 1,
                                     draw_simple, s, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_IO);
}

static void
test_render_checks (void)
{
  g_autoptr(Synth) s = synth_new (4, 5, SOM_TOPOLOGY_HEX, 0);
  SomMapData d;
  SomRenderOptions o;
  g_autoptr(GError) error = NULL;

  synth_data (s, &d, "layer_007");
  som_render_options_init (&o);
  g_assert_false (som_render_check (SOM_VIEW_CLASSES, &d, &o, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "labels"));
  g_clear_error (&error);
  o.feature = 4;
  g_assert_false (som_render_check (SOM_VIEW_COMPONENT, &d, &o, &error));
  g_assert_nonnull (strstr (error->message, "feature 4"));
  g_clear_error (&error);
  d.umatrix = NULL;
  d.codebook = NULL;
  g_assert_false (som_render_check (SOM_VIEW_UMATRIX, &d, &o, &error));
  g_clear_error (&error);
}

/* ------------------------------------------------------------- CLI */

static char *
write_som_npz (const Synth *s, const char *name, gboolean with_labels)
{
  char *path = tmp_path (name);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomNpzWriter) w = som_npz_writer_new (path, FALSE, &error);
  guint R = som_grid_get_rows (s->grid), C = som_grid_get_cols (s->grid);
  gsize cb_shape[3] = { R, C, s->dim }, rc[2] = { R, C }, kc[3] = { s->n_classes, R, C };
  g_autoptr(SomArray) cb = som_array_new (SOM_DTYPE_F32, 3, cb_shape, NULL);
  g_autoptr(SomArray) um = som_array_new (SOM_DTYPE_F32, 2, rc, NULL);
  g_autoptr(SomArray) hits = som_array_new (SOM_DTYPE_I32, 2, rc, NULL);
  g_autoptr(SomArray) ch = som_array_new (SOM_DTYPE_I32, 3, kc, NULL);
  g_autofree char *meta = g_strdup_printf ("{\"format\":\"somscope-som\",\"version\":1,\"rows\":%u,"
                                           "\"cols\":%u,\"topology\":\"%s\",\"toroidal\":false,"
                                           "\"dim\":%u,\"class_names\":[\"a\",\"b\",\"c\"]}",
                                           R, C, som_topology_to_string (som_grid_get_topology (s->grid)),
                                           s->dim);

  g_assert_no_error (error);
  memcpy (cb->data, s->codebook, R * C * s->dim * sizeof (float));
  memcpy (um->data, s->umatrix, R * C * sizeof (float));
  memcpy (hits->data, s->hits, R * C * sizeof (gint32));
  memcpy (ch->data, s->class_hits, s->n_classes * R * C * sizeof (gint32));
  g_assert_true (som_npz_writer_add_array (w, "codebook", cb, &error));
  g_assert_true (som_npz_writer_add_array (w, "umatrix", um, &error));
  g_assert_true (som_npz_writer_add_array (w, "hits", hits, &error));
  if (with_labels)
    g_assert_true (som_npz_writer_add_array (w, "class_hits", ch, &error));
  g_assert_true (som_npz_writer_add_string (w, "meta.json", meta, &error));
  g_assert_true (som_npz_writer_close (w, &error));
  g_assert_no_error (error);
  return path;
}

static int
run_cli (const char *const *args, char **out, char **err)
{
  g_autofree char *cli = g_build_filename (SOMSCOPE_BUILD_DIR, "src", "cli", "somscope-cli", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status;

  g_ptr_array_add (argv, cli);
  g_ptr_array_add (argv, (char *) "figure");
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, 0, NULL, NULL, out, err, &status,
                               &error));
  g_assert_no_error (error);
  if (!WIFEXITED (status))
    g_error ("somscope-cli figure died with signal %d; stderr: %s", WTERMSIG (status), *err);
  return WEXITSTATUS (status);
}

static void
test_cli_figure (void)
{
  g_autoptr(Synth) s = synth_new (5, 7, SOM_TOPOLOGY_HEX, 3);
  g_autofree char *som = write_som_npz (s, "som.npz", TRUE);
  g_autofree char *nolab = write_som_npz (s, "nolabels.npz", FALSE);
  g_autofree char *png = tmp_path ("cli.png");
  g_autofree char *pdf = tmp_path ("cli.pdf");
  g_autofree char *svg = tmp_path ("cli.svg");
  g_autofree char *jpg = tmp_path ("cli.jpg");
  g_autofree guint8 *rgb = NULL;
  int w, h;
  double dpi;

  {
    /* --width-cm and --dpi: pixels = round(4 / 2.54 × 150) = 236; pHYs = 150. */
    const char *args[] = { som, "--view", "umatrix", "--width-cm", "4", "--dpi", "150",
                           "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    g_assert_true (read_png_rgb (png, &w, &h, &rgb, &dpi));
    g_assert_cmpint (w, ==, 236);
    g_assert_cmpfloat (fabs (dpi - 150), <, 0.02);
    g_clear_pointer (&rgb, g_free);
  }
  {
    /* Default: 8.5 cm at 300 dpi = 1004 pixels. */
    const char *args[] = { som, "--view", "hits", "--out", png, "--json", NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "\"width_px\" : 1004"));
    g_assert_true (read_png_rgb (png, &w, &h, &rgb, &dpi));
    g_assert_cmpint (w, ==, 1004);
    g_assert_cmpfloat (fabs (dpi - 300), <, 0.05);
    g_clear_pointer (&rgb, g_free);
  }
  {
    const char *args[] = { som, "--view", "classes", "--width", "400", "--height", "300",
                           "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    g_assert_true (read_png_rgb (png, &w, &h, &rgb, &dpi));
    g_assert_cmpint (w, ==, 400);
    g_assert_cmpint (h, ==, 300);
  }
  {
    const char *args[] = { som, "--view", "class-hits", "--out", svg, NULL };
    const char *lint[] = { "xmllint", "--noout", svg, NULL };
    g_autofree char *out = NULL, *err = NULL, *lout = NULL;
    int status;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    lout = run_tool (lint, &status);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  {
    const char *args[] = { som, "--view", "component", "--feature", "3", "--all-layers",
                           "--out", pdf, NULL };
    const char *info[] = { "pdfinfo", pdf, NULL };
    g_autofree char *out = NULL, *err = NULL, *iout = NULL;
    int status;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    iout = run_tool (info, &status);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_cmpuint (pdf_pages (iout), ==, 1);
  }
  {
    /* Another extension is a usage error, and nothing is written. */
    const char *args[] = { som, "--view", "umatrix", "--out", jpg, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 2);
    g_assert_false (g_file_test (jpg, G_FILE_TEST_EXISTS));
  }
  {
    /* Class views without labels name the missing labels. */
    const char *args[] = { nolab, "--view", "classes", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 1);
    g_assert_nonnull (strstr (err, "labels"));
    g_assert_nonnull (strstr (err, "nolabels.npz"));
  }
  {
    const char *args[] = { som, "--view", "component", "--feature", "9", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 1);
    g_assert_nonnull (strstr (err, "feature 9"));
  }
  {
    const char *args[] = { som, "--view", "response", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 2);
    g_assert_nonnull (strstr (err, "--data"));
  }
  {
    const char *args[] = { som, "--view", "hits", "--scale", "cubic", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 2);
  }
  {
    /* A log colour bar says what its empty cells are; 12…44 hits get
     * ticks at 20 and 40 (no decade in range). */
    const char *args[] = { som, "--view", "hits", "--scale", "log", "--out", pdf, NULL };
    const char *text[] = { "pdftotext", pdf, "-", NULL };
    g_autofree char *out = NULL, *err = NULL, *tout = NULL;
    int status;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    tout = run_tool (text, &status);
    g_assert_nonnull (strstr (tout, "grey: none"));
    g_assert_nonnull (strstr (tout, "20"));
    g_assert_nonnull (strstr (tout, "40"));
  }
  {
    const char *args[] = { som, "--view", "bogus", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 2);
  }
  {
    const char *args[] = { "/nonexistent.npz", "--view", "umatrix", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 1);
    g_assert_nonnull (strstr (err, "/nonexistent.npz"));
  }
}


static void
add_session_layer (SomSession *session, const Synth *s, gint64 index, const char *name, guint N,
                   guint far_unit)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  guint R = som_grid_get_rows (s->grid), C = som_grid_get_cols (s->grid), n = R * C;
  gsize cb_shape[3] = { R, C, s->dim }, rc[2] = { R, C }, nd[2] = { N, s->dim };
  g_autoptr(SomArray) cb = som_array_new (SOM_DTYPE_F32, 3, cb_shape, NULL);
  g_autoptr(SomArray) um = som_array_new (SOM_DTYPE_F32, 2, rc, NULL);
  g_autoptr(SomArray) hits = som_array_new (SOM_DTYPE_I32, 2, rc, NULL);
  g_autoptr(SomArray) bmus = som_array_new_1d_i32 (N);
  g_autoptr(SomArray) adv = som_array_new_1d_i32 (N);
  g_autoptr(SomArray) codes = som_array_new (SOM_DTYPE_F32, 2, nd, NULL);
  g_autofree char *meta = g_strdup_printf ("{\"rows\":%u,\"cols\":%u,\"dim\":%u,\"topology\":\"%s\","
                                           "\"toroidal\":false,\"class_names\":[\"a\",\"b\",\"c\"]}",
                                           R, C, s->dim,
                                           som_topology_to_string (som_grid_get_topology (s->grid)));
  g_autoptr(JsonNode) shape = json_from_string ("[null, 4]", NULL);
  int pos;

  g_assert_true (json_parser_load_from_data (parser, meta, -1, NULL));
  pos = som_session_add_layer (session, index, name, "Relu", shape, json_parser_get_root (parser),
                               &error);
  g_assert_no_error (error);
  memcpy (cb->data, s->codebook, n * s->dim * sizeof (float));
  memcpy (um->data, s->umatrix, n * sizeof (float));
  memset (hits->data, 0, n * sizeof (gint32));
  for (guint i = 0; i < N; i++)
    {
      gint32 b = (i * 7) % n;

      ((gint32 *) bmus->data)[i] = b;
      /* Input 0 stays put on the first layer and jumps to @far_unit on the second. */
      ((gint32 *) adv->data)[i] = i == 0 ? (gint32) far_unit : (gint32) ((b + 1) % n);
      ((gint32 *) hits->data)[b]++;
      memcpy ((float *) codes->data + i * s->dim, s->codebook + b * s->dim, s->dim * sizeof (float));
    }
  g_assert_true (som_session_set_layer_array (session, pos, SOM_LAYER_CODEBOOK, cb, &error));
  g_assert_true (som_session_set_layer_array (session, pos, SOM_LAYER_UMATRIX, um, &error));
  g_assert_true (som_session_set_layer_array (session, pos, SOM_LAYER_HITS, hits, &error));
  g_assert_true (som_session_set_layer_array (session, pos, SOM_LAYER_BMUS, bmus, &error));
  g_assert_true (som_session_set_layer_array (session, pos, SOM_LAYER_BMUS_ADVERSARIAL, adv, &error));
  g_assert_true (som_session_set_layer_array (session, pos, SOM_LAYER_CODES, codes, &error));
  g_assert_no_error (error);
}

static char *
write_session (const Synth *a, const Synth *b)
{
  char *path = tmp_path ("s.somscope");
  g_autoptr(SomSession) session = som_session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SomArray) labels = som_array_new_1d_i32 (20);
  g_autoptr(JsonNode) metrics = json_from_string (
    "{\"format\":\"somscope-metrics\",\"version\":1,\"layers\":["
    "{\"index\":3,\"name\":\"relu1\",\"depth\":0,"
    " \"clean\":{\"class_spread\":1.2,\"class_spread_std\":0.1,\"occupied_units_per_class\":[3,4,5]},"
    " \"adversarial\":{\"class_spread\":1.5,\"occupied_units_per_class\":[2,2,5]}},"
    "{\"index\":7,\"name\":\"fc1\",\"depth\":1,"
    " \"clean\":{\"class_spread\":0.9,\"class_spread_std\":0.2,\"occupied_units_per_class\":[1,2,3]},"
    " \"adversarial\":{\"class_spread\":2.1,\"occupied_units_per_class\":[4,4,4]}}]}", NULL);

  for (guint i = 0; i < 20; i++)
    ((gint32 *) labels->data)[i] = i % 3;
  g_assert_true (som_session_set_array (session, SOM_SESSION_LABELS, labels, &error));
  add_session_layer (session, a, 3, "relu1", 20, 0);
  add_session_layer (session, b, 7, "fc1", 20, som_grid_get_n_units (b->grid) - 1);
  som_session_set_metrics (session, metrics);
  g_assert_true (som_session_save (session, path, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_cli_session (void)
{
  g_autoptr(Synth) a = synth_new (5, 6, SOM_TOPOLOGY_HEX, 0);
  g_autoptr(Synth) b = synth_new (6, 6, SOM_TOPOLOGY_RECT, 0);
  g_autofree char *session = write_session (a, b);
  g_autofree char *png = tmp_path ("session.png");
  g_autofree char *svg = tmp_path ("session.svg");
  g_autofree char *pdf = tmp_path ("session.pdf");
  static const char *ok_views[][4] = {
    { "trajectory", "--input", "0", NULL },
    { "classes", "--layer", "fc1", NULL },
    { "class-hits", "--layer", "3", NULL },
    { "response", "--input", "5", NULL },
    { "hits", "--all-layers", NULL, NULL },
  };

  {
    /* Input 0: the same unit (0) on relu1; unit 0 vs unit 35 = (5, 5) on the
     * 6×6 rect fc1, grid distance √50; so it diverges at fc1 (position 1). */
    const char *args[] = { session, "--view", "trajectory", "--input", "0", "--json", "--out", png,
                           NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *t;
    JsonArray *d;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
    t = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                       "trajectory");
    g_assert_nonnull (t);
    g_assert_cmpint (json_object_get_int_member (t, "divergence_layer"), ==, 1);
    d = json_object_get_array_member (t, "grid_distances");
    g_assert_cmpuint (json_array_get_length (d), ==, 2);
    g_assert_cmpfloat (json_array_get_double_element (d, 0), ==, 0);
    g_assert_cmpfloat_with_epsilon (json_array_get_double_element (d, 1), sqrt (50), 1e-9);
    g_assert_cmpint (json_array_get_int_element (json_object_get_array_member (t, "adversarial_bmus"), 1),
                     ==, 35);
  }
  {
    /* Input 3: BMU b and b+1 (neighbours on both maps): no divergence. */
    const char *args[] = { session, "--view", "trajectory", "--input", "3", "--json", "--out", png,
                           NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *t;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
    t = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                       "trajectory");
    g_assert_true (json_object_get_null_member (t, "divergence_layer"));
  }
  for (guint i = 0; i < G_N_ELEMENTS (ok_views); i++)
    {
      const char *args[] = { session, "--view", ok_views[i][0], ok_views[i][1], ok_views[i][2],
                             "--out", png, NULL };
      g_autofree char *out = NULL, *err = NULL;

      if (ok_views[i][2] == NULL)
        {
          args[4] = "--out";
          args[5] = png;
          args[6] = NULL;
        }
      g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    }
  {
    const char *args[] = { session, "--view", "metric", "--metric", "class_spread", "--out", svg,
                           NULL };
    const char *lint[] = { "xmllint", "--noout", svg, NULL };
    g_autofree char *out = NULL, *err = NULL, *lout = NULL;
    int status;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    lout = run_tool (lint, &status);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  {
    /* A list metric (per class) gets mean ± std over classes. */
    const char *args[] = { session, "--view", "metric", "--metric", "occupied_units_per_class",
                           "--out", pdf, NULL };
    const char *text[] = { "pdftotext", pdf, "-", NULL };
    g_autofree char *out = NULL, *err = NULL, *tout = NULL;
    int status;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    tout = run_tool (text, &status);
    g_assert_nonnull (strstr (tout, "relu1"));
    g_assert_nonnull (strstr (tout, "fc1"));
  }
  {
    const char *args[] = { session, "--view", "umatrix", "--all-layers", "--out", pdf, NULL };
    const char *info[] = { "pdfinfo", pdf, NULL };
    g_autofree char *out = NULL, *err = NULL, *iout = NULL;
    int status;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
    iout = run_tool (info, &status);
    g_assert_cmpuint (pdf_pages (iout), ==, 2);
  }
  {
    const char *args[] = { session, "--view", "metric", "--metric", "no_such_metric", "--out",
                           png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 1);
    g_assert_nonnull (strstr (err, "no_such_metric"));
  }
  {
    const char *args[] = { session, "--view", "metric", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 2);
  }
  {
    const char *args[] = { session, "--view", "umatrix", "--layer", "conv9", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 1);
    g_assert_nonnull (strstr (err, "conv9"));
    g_assert_nonnull (strstr (err, "relu1"));
  }
  {
    const char *args[] = { session, "--view", "trajectory", "--input", "99", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 1);
    g_assert_nonnull (strstr (err, "--input 99"));
  }
}

/* Degenerate data draws without crashing and with sane scales: NaN and
 * infinite values (drawn as empty cells), a constant map, a 1×N chain, a
 * 2-unit map, the largest grid, and tiny or huge pages. */
static void
test_degenerate (void)
{
  static const guint shapes[][2] = { { 1, 9 }, { 2, 1 }, { 1000, 3 }, { 4, 1000 }, { 3, 3 } };
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 200, 150);
  cairo_t *cr = cairo_create (surface);

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      g_autoptr(Synth) s = synth_new (shapes[i][0], shapes[i][1], SOM_TOPOLOGY_HEX, 3);
      guint n = som_grid_get_n_units (s->grid);
      SomMapData d;
      SomRenderOptions o;
      g_autoptr(GError) error = NULL;
      double h;

      synth_data (s, &d, "a layer name that is far too long to fit above a small panel");
      som_render_options_init (&o);
      o.interstitial = TRUE;
      s->umatrix[0] = NAN;
      if (n > 2)
        s->umatrix[1] = INFINITY;
      for (guint v = 0; v <= SOM_VIEW_RESPONSE; v++)
        {
          h = som_render_natural_height (v, &d, &o, 241);
          g_assert_true (isfinite (h) && h > 0 && h < 241 * 1000);
          g_assert_true (som_render_view (cr, 200, 150, v, &d, &o, &error));
          g_assert_no_error (error);
          g_assert_true (som_render_view (cr, 3, 2, v, &d, &o, &error));
          g_assert_no_error (error);
        }
      /* A constant map: one tick, mid colour. */
      for (guint k = 0; k < n; k++)
        s->umatrix[k] = 0.25f;
      o.interstitial = FALSE;
      g_assert_true (som_render_view (cr, 200, 150, SOM_VIEW_UMATRIX, &d, &o, &error));
      /* No hits at all. */
      memset (s->hits, 0, n * sizeof (gint32));
      memset (s->class_hits, 0, 3 * n * sizeof (gint32));
      g_assert_true (som_render_view (cr, 200, 150, SOM_VIEW_HITS, &d, &o, &error));
      g_assert_true (som_render_view (cr, 200, 150, SOM_VIEW_CLASSES, &d, &o, &error));
      g_assert_true (som_render_view (cr, 200, 150, SOM_VIEW_CLASS_HITS, &d, &o, &error));
      g_assert_true (som_render_multiples (cr, 200, 150, SOM_VIEW_UMATRIX, &d, 1, &o, &error));
      g_assert_no_error (error);
    }
  {
    g_autoptr(Synth) s = synth_new (3, 4, SOM_TOPOLOGY_RECT, 0);
    SomMapData d[2];
    SomRenderOptions o;
    int bmus[2] = { 0, 11 };
    double dist[2] = { 0, NAN }, v[2] = { NAN, NAN }, w[2] = { 1, 1 };
    g_autoptr(GError) error = NULL;

    synth_data (s, &d[0], NULL);
    synth_data (s, &d[1], NULL);
    som_render_options_init (&o);
    g_assert_true (som_render_trajectory (cr, 3, 2, d, 2, bmus, bmus, dist, 1, &o, &error));
    g_assert_true (som_render_metric_chart (cr, 3, 2, 2, NULL, "m", w, NULL, v, v, &o, &error));
    g_assert_true (som_render_metric_chart (cr, 200, 150, 1, NULL, "m", v, v, NULL, NULL, &o, &error));
    g_assert_no_error (error);
    g_assert_false (som_render_view (cr, 0, 10, SOM_VIEW_UMATRIX, d, &o, &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_false (som_render_multiples (cr, NAN, 10, SOM_VIEW_UMATRIX, d, 2, &o, &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  }
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static void
test_cli_bad_input (void)
{
  g_autoptr(Synth) s = synth_new (4, 5, SOM_TOPOLOGY_HEX, 3);
  g_autofree char *png = tmp_path ("bad.png");
  g_autofree char *garbage = tmp_path ("garbage.npz");
  g_autofree char *nometa = tmp_path ("nometa.npz");
  g_autofree char *wrong = tmp_path ("wrongshape.npz");
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (garbage, "PK\003\004 this is not a zip", -1, NULL));
  {
    g_autoptr(SomNpzWriter) w = som_npz_writer_new (nometa, FALSE, &error);
    g_autoptr(SomArray) a = som_array_new_1d_i32 (3);

    memset (a->data, 0, 12);
    g_assert_true (som_npz_writer_add_array (w, "hits", a, &error));
    g_assert_true (som_npz_writer_close (w, &error));
  }
  {
    /* meta.json says 4×5, the U-matrix is 5×4. */
    g_autoptr(SomNpzWriter) w = som_npz_writer_new (wrong, FALSE, &error);
    gsize shape[2] = { 5, 4 };
    g_autoptr(SomArray) u = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);

    memset (u->data, 0, 80);
    g_assert_true (som_npz_writer_add_array (w, "umatrix", u, &error));
    g_assert_true (som_npz_writer_add_string (w, "meta.json",
                                              "{\"rows\":4,\"cols\":5,\"topology\":\"hex\"}", &error));
    g_assert_true (som_npz_writer_close (w, &error));
  }
  g_assert_no_error (error);
  {
    const char *args[] = { garbage, "--view", "umatrix", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 1);
    g_assert_nonnull (strstr (err, "garbage.npz"));
  }
  {
    const char *args[] = { nometa, "--view", "umatrix", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 1);
    g_assert_nonnull (strstr (err, "meta.json"));
  }
  {
    const char *args[] = { wrong, "--view", "umatrix", "--out", png, NULL };
    g_autofree char *out = NULL, *err = NULL;

    g_assert_cmpint (run_cli (args, &out, &err), ==, 1);
    g_assert_nonnull (strstr (err, "umatrix"));
    g_assert_nonnull (strstr (err, "5×4"));
  }
  {
    g_autofree char *som = write_som_npz (s, "ok.npz", TRUE);
    const char *args[][10] = {
      { som, "--view", "umatrix", "--dpi", "0", "--out", png, NULL },
      { som, "--view", "umatrix", "--width", "-5", "--out", png, NULL },
      { som, "--view", "umatrix", "--colormap", "jet", "--out", png, NULL },
      { som, "--view", "umatrix", "--style", "sepia", "--out", png, NULL },
      { som, "--view", "umatrix", "--width", "10", "--width-cm", "3", "--out", png, NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS (args); i++)
      {
        g_autofree char *out = NULL, *err = NULL;

        g_assert_cmpint (run_cli (args[i], &out, &err), ==, 2);
      }
    {
      /* A PNG beyond 20000 pixels a side is refused, not attempted. */
      const char *big[] = { som, "--view", "umatrix", "--width", "90000", "--out", png, NULL };
      g_autofree char *out = NULL, *err = NULL;

      g_assert_cmpint (run_cli (big, &out, &err), ==, 1);
      g_assert_nonnull (strstr (err, "pixels"));
    }
  }
  g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));
}

/* In an 8.5 cm wide PDF (the default) every word is set at 7–9 pt: DejaVu
 * Sans' line box is 1.164 em, so word boxes are 8.1–10.5 pt across the
 * baseline (pdftotext -bbox). */
static void
test_cli_type_sizes (void)
{
  g_autoptr(Synth) s = synth_new (8, 10, SOM_TOPOLOGY_HEX, 3);
  g_autofree char *som = write_som_npz (s, "type.npz", TRUE);
  g_autofree char *pdf = tmp_path ("type.pdf");
  static const char *views[] = { "umatrix", "hits", "classes", "class-hits", "component" };

  for (guint v = 0; v < G_N_ELEMENTS (views); v++)
    {
      const char *args[] = { som, "--view", views[v], "--title", "A title", "--out", pdf, NULL };
      const char *bbox[] = { "pdftotext", "-bbox", pdf, "-", NULL };
      g_autofree char *out = NULL, *err = NULL, *html = NULL;
      const char *p;
      guint words = 0;
      int status;

      g_assert_cmpint (run_cli (args, &out, &err), ==, 0);
      html = run_tool (bbox, &status);
      {
        typedef struct { double v[4]; } Box;
        g_autoptr(GArray) boxes = g_array_new (FALSE, FALSE, sizeof (Box));

        for (p = strstr (html, "<word "); p != NULL; p = strstr (p + 1, "<word "))
          {
            Box box;

            g_assert_cmpint (sscanf (p, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%lf\"",
                                     &box.v[0], &box.v[1], &box.v[2], &box.v[3]), ==, 4);
            g_array_append_val (boxes, box);
          }
        for (guint i = 0; i < boxes->len; i++)
          {
            const double *b = g_array_index (boxes, Box, i).v;
            gboolean rotated = b[3] - b[1] > MAX (b[2] - b[0], 9 * 1.164 + 0.05);
            double across;

            /* pdftotext does not say which words are rotated (the colour
             * bar's label): words taller than any line box are, and so are
             * the short words in the same column as such a word. */
            for (guint j = 0; !rotated && j < boxes->len; j++)
              {
                const double *c = g_array_index (boxes, Box, j).v;

                rotated = c[3] - c[1] > MAX (c[2] - c[0], 9 * 1.164 + 0.05) && fabs (c[0] - b[0]) < 0.01 &&
                          fabs (c[2] - b[2]) < 0.01;
              }
            across = rotated ? b[2] - b[0] : b[3] - b[1];
            if (across < 7 * 1.164 - 0.05 || across > 9 * 1.164 + 0.05)
              g_error ("%s view: word %u is %.2f pt across its baseline (%.1f pt type)", views[v], i,
                       across, across / 1.164);
            words++;
          }
      }
      g_assert_cmpuint (words, >=, 3);
    }
}

/* What the layout functions say is where the drawing puts it: the pixel at
 * each unit's centre has that unit's colour-map entry, and the hit test
 * there names the unit; for a single view and for one panel of small
 * multiples. */
static void
check_unit_colours (cairo_surface_t *surface, const SomMapLayout *layout, const double *rgb)
{
  guint n = som_grid_get_n_units (layout->grid);
  const guint8 *px = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);

  cairo_surface_flush (surface);
  for (guint k = 0; k < n; k++)
    {
      double x, y, w, h;
      guint32 v;
      int cx, cy;

      som_map_layout_unit_rect (layout, k, &x, &y, &w, &h);
      cx = (int) floor (x + w / 2);
      cy = (int) floor (y + h / 2);
      g_assert_cmpint (som_map_layout_hit_test (layout, cx + 0.5, cy + 0.5), ==, k);
      v = *(const guint32 *) (px + cy * stride + 4 * cx);
      /* Cairo rounds colours through 16 bits: within one level. */
      g_assert_cmpint (abs ((int) ((v >> 16) & 0xff) - (int) lround (rgb[3 * k] * 255)), <=, 1);
      g_assert_cmpint (abs ((int) ((v >> 8) & 0xff) - (int) lround (rgb[3 * k + 1] * 255)), <=, 1);
      g_assert_cmpint (abs ((int) (v & 0xff) - (int) lround (rgb[3 * k + 2] * 255)), <=, 1);
    }
}

static void
check_layout_matches (cairo_surface_t *surface, const SomMapLayout *layout, const float *values,
                      double vmin, double vmax)
{
  guint n = som_grid_get_n_units (layout->grid);
  g_autofree double *rgb = g_new (double, 3 * n);

  for (guint k = 0; k < n; k++)
    som_colormap_rgb (SOM_COLORMAP_VIRIDIS, (values[k] - vmin) / (vmax - vmin), rgb + 3 * k);
  check_unit_colours (surface, layout, rgb);
}

/* Log colour scale, hand-computed: a unit with h hits sits at
 * (log10 h − log10 h_min) / (log10 h_max − log10 h_min) of magma, h_min the
 * smallest positive count; units without hits are empty grey.  Square root
 * likewise with √h / √h_max. */
static void
test_scales (void)
{
  g_autoptr(Synth) s = synth_new (6, 8, SOM_TOPOLOGY_HEX, 3);
  guint n = som_grid_get_n_units (s->grid);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 300, 200);
  cairo_t *cr = cairo_create (surface);
  g_autofree double *rgb = g_new (double, 3 * n);
  SomMapData d;
  SomRenderOptions o;
  SomMapLayout layout;
  g_autoptr(GError) error = NULL;
  double lo = INFINITY, hi = 0;

  for (guint k = 0; k < n; k++)
    {
      s->hits[k] = (k % 7 == 0) ? 0 : (gint32) (1 + (k * 37) % 500);
      if (s->hits[k] > 0)
        lo = MIN (lo, s->hits[k]);
      hi = MAX (hi, s->hits[k]);
    }
  synth_data (s, &d, NULL);
  som_render_options_init (&o);
  o.crisp = TRUE;
  o.scale = SOM_SCALE_LOG;
  g_assert_true (som_render_view (cr, 300, 200, SOM_VIEW_HITS, &d, &o, &error));
  g_assert_no_error (error);
  som_render_view_layout (300, 200, SOM_VIEW_HITS, &d, &o, &layout);
  for (guint k = 0; k < n; k++)
    if (s->hits[k] == 0)
      rgb[3 * k] = rgb[3 * k + 1] = rgb[3 * k + 2] = 0.90;
    else
      som_colormap_rgb (SOM_COLORMAP_MAGMA, (log10 (s->hits[k]) - log10 (lo)) / (log10 (hi) - log10 (lo)),
                        rgb + 3 * k);
  check_unit_colours (surface, &layout, rgb);

  o.scale = SOM_SCALE_SQRT;
  g_assert_true (som_render_view (cr, 300, 200, SOM_VIEW_HITS, &d, &o, &error));
  som_render_view_layout (300, 200, SOM_VIEW_HITS, &d, &o, &layout);
  for (guint k = 0; k < n; k++)
    som_colormap_rgb (SOM_COLORMAP_MAGMA, sqrt (s->hits[k]) / sqrt (hi), rgb + 3 * k);
  check_unit_colours (surface, &layout, rgb);

  g_assert_true (som_scale_from_string ("log", &o.scale));
  g_assert_cmpint (o.scale, ==, SOM_SCALE_LOG);
  g_assert_false (som_scale_from_string ("exp", &o.scale));
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static void
test_layout_matches_drawing (void)
{
  g_autoptr(Synth) a = synth_new (7, 9, SOM_TOPOLOGY_HEX, 0);
  g_autoptr(Synth) b = synth_new (5, 5, SOM_TOPOLOGY_RECT, 0);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 420, 260);
  cairo_t *cr = cairo_create (surface);
  SomMapData d[3];
  SomRenderOptions o;
  SomMapLayout layout;
  g_autoptr(GError) error = NULL;

  synth_data (a, &d[0], "a");
  synth_data (b, &d[1], "b");
  synth_data (a, &d[2], "c");
  som_render_options_init (&o);
  o.crisp = TRUE;
  o.vmin = 0;
  o.vmax = 4;
  o.title = "Layout";
  g_assert_true (som_render_view (cr, 420, 260, SOM_VIEW_UMATRIX, &d[0], &o, &error));
  som_render_view_layout (420, 260, SOM_VIEW_UMATRIX, &d[0], &o, &layout);
  check_layout_matches (surface, &layout, a->umatrix, 0, 4);

  o.shared_scale = TRUE;
  g_assert_true (som_render_multiples (cr, 420, 260, SOM_VIEW_UMATRIX, d, 3, &o, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    {
      som_render_multiples_layout (420, 260, SOM_VIEW_UMATRIX, d, 3, &o, i, &layout);
      check_layout_matches (surface, &layout, i == 1 ? b->umatrix : a->umatrix, 0, 4);
    }
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

/* Laying out a view whose data lack what it needs (the response view before
 * an input is chosen, the class map without labels) says so instead of
 * reading what is not there: the app asks for it whenever the pointer moves
 * over its map (this crashed it). */
static void
test_layout_missing_data (void)
{
  g_autoptr(Synth) a = synth_new (5, 6, SOM_TOPOLOGY_HEX, 0);
  SomMapData d[2];
  SomRenderOptions o;
  SomMapLayout layout;
  double x, y, w, h;

  synth_data (a, &d[0], "a");
  synth_data (a, &d[1], "b");
  d[0].response = d[1].response = NULL;
  som_render_options_init (&o);
  g_assert_null (d[0].class_hits);
  g_assert_false (som_render_view_layout (300, 200, SOM_VIEW_RESPONSE, &d[0], &o, &layout));
  g_assert_false (som_render_view_layout (300, 200, SOM_VIEW_CLASSES, &d[0], &o, &layout));
  g_assert_false (som_render_view_map_room (300, 200, SOM_VIEW_RESPONSE, &d[0], &o, &x, &y, &w, &h));
  g_assert_cmpfloat (som_render_multiples_natural_height (SOM_VIEW_RESPONSE, d, 2, &o, 300), ==, 300);
  som_render_multiples_layout (300, 200, SOM_VIEW_RESPONSE, d, 2, &o, 1, &layout);
  g_assert_null (layout.grid);
  g_assert_true (som_render_view_layout (300, 200, SOM_VIEW_UMATRIX, &d[0], &o, &layout));
  g_assert_true (layout.grid == a->grid);
}

/* Zoomed (options->zoom, pan), only the map is magnified, and only within
 * its room: the title and the colour bar are the unzoomed drawing's, pixel
 * for pixel, and every unit whose centre shows in the room has its colour
 * there, at the zoomed place. */
static void
test_zoomed_view (void)
{
  const int width = 420, height = 260;
  g_autoptr(Synth) a = synth_new (7, 9, SOM_TOPOLOGY_HEX, 0);
  cairo_surface_t *plain = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  cairo_surface_t *zoomed = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  cairo_t *cr;
  SomMapData d;
  SomRenderOptions o;
  SomMapLayout layout;
  const guint8 *p, *z;
  int stride;
  double rx, ry, rw, rh;
  guint n = som_grid_get_n_units (a->grid), seen = 0;

  synth_data (a, &d, "zoom");
  som_render_options_init (&o);
  o.crisp = TRUE;
  o.vmin = 0;
  o.vmax = 4;
  o.title = "Zoomed";
  cr = cairo_create (plain);
  g_assert_true (som_render_view (cr, width, height, SOM_VIEW_UMATRIX, &d, &o, NULL));
  cairo_destroy (cr);
  som_render_view_layout (width, height, SOM_VIEW_UMATRIX, &d, &o, &layout);
  som_render_view_map_room (width, height, SOM_VIEW_UMATRIX, &d, &o, &rx, &ry, &rw, &rh);
  g_assert_cmpfloat (rx + rw, <, width - 20);
  g_assert_cmpfloat (ry, >, 5);

  o.zoom = 2.5;
  o.pan_x = -150;
  o.pan_y = -90;
  cr = cairo_create (zoomed);
  g_assert_true (som_render_view (cr, width, height, SOM_VIEW_UMATRIX, &d, &o, NULL));
  cairo_destroy (cr);

  cairo_surface_flush (plain);
  cairo_surface_flush (zoomed);
  p = cairo_image_surface_get_data (plain);
  z = cairo_image_surface_get_data (zoomed);
  stride = cairo_image_surface_get_stride (plain);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      /* (the room's edges fall inside pixels, which both drawings share) */
      if (x >= ceil (rx + rw) || y < floor (ry))
        g_assert_cmphex (*(const guint32 *) (p + y * stride + 4 * x), ==, *(const guint32 *) (z + y * stride + 4 * x));

  layout.x0 = o.pan_x + o.zoom * layout.x0;
  layout.y0 = o.pan_y + o.zoom * layout.y0;
  layout.scale *= o.zoom;
  for (guint k = 0; k < n; k++)
    {
      double x, y, w, h, rgb[3];
      int cx, cy;
      guint32 v;

      som_map_layout_unit_rect (&layout, k, &x, &y, &w, &h);
      cx = (int) floor (x + w / 2);
      cy = (int) floor (y + h / 2);
      if (cx < rx + 2 || cy < ry + 2 || cx >= rx + rw - 2 || cy >= ry + rh - 2)
        continue;
      som_colormap_rgb (SOM_COLORMAP_VIRIDIS, a->umatrix[k] / 4.0, rgb);
      v = *(const guint32 *) (z + cy * stride + 4 * cx);
      g_assert_cmpint (abs ((int) ((v >> 16) & 0xff) - (int) lround (rgb[0] * 255)), <=, 1);
      g_assert_cmpint (abs ((int) ((v >> 8) & 0xff) - (int) lround (rgb[1] * 255)), <=, 1);
      g_assert_cmpint (abs ((int) (v & 0xff) - (int) lround (rgb[2] * 255)), <=, 1);
      seen++;
    }
  g_test_message ("%u of %u units in view, zoomed", seen, n);
  g_assert_cmpuint (seen, >, 3);
  g_assert_cmpuint (seen, <, n);
  cairo_surface_destroy (plain);
  cairo_surface_destroy (zoomed);
}

/* som_render_trajectory_panel_at () names the panel each layer is drawn
 * in: with only layer k's clean BMU set, every pixel of the clean marker's
 * colour inside a panel is in panel k (the legend's ring is outside them). */
static void
test_trajectory_panels (void)
{
  const double width = 300, height = 420, clean_rgb[3] = { 0.0, 0.447, 0.698 };
  g_autoptr(Synth) a = synth_new (6, 6, SOM_TOPOLOGY_HEX, 0);
  const guint n = 5;
  SomMapData d[5];
  SomRenderOptions o;
  const char *names[] = { "l0", "l1", "l2", "l3", "l4" };

  for (guint i = 0; i < n; i++)
    synth_data (a, &d[i], names[i]);
  som_render_options_init (&o);
  o.title = "Trajectory";
  g_assert_cmpint (som_render_trajectory_panel_at (width, height, d, n, &o, 1, 1), ==, -1);
  g_assert_cmpint (som_render_trajectory_panel_at (width, height, d, n, &o, width / 2, height - 2), ==, -1);
  g_assert_cmpint (som_render_trajectory_panel_at (width, height, d, 0, &o, width / 2, height / 2), ==, -1);
  for (guint k = 0; k < n; k++)
    {
      cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
      cairo_t *cr = cairo_create (surface);
      int clean[5] = { -1, -1, -1, -1, -1 }, adv[5] = { -1, -1, -1, -1, -1 };
      guint in_k = 0, elsewhere = 0, outside = 0;
      const guint8 *pixels;
      int stride;

      clean[k] = 14;
      g_assert_true (som_render_trajectory (cr, width, height, d, n, clean, adv, NULL, -1, &o, NULL));
      cairo_surface_flush (surface);
      pixels = cairo_image_surface_get_data (surface);
      stride = cairo_image_surface_get_stride (surface);
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            guint32 p = *(const guint32 *) (pixels + y * stride + 4 * x);
            double r = ((p >> 16) & 0xff) / 255.0, g = ((p >> 8) & 0xff) / 255.0, b = (p & 0xff) / 255.0;
            int panel;

            if (fabs (r - clean_rgb[0]) + fabs (g - clean_rgb[1]) + fabs (b - clean_rgb[2]) > 0.08)
              continue;
            panel = som_render_trajectory_panel_at (width, height, d, n, &o, x + 0.5, y + 0.5);
            if (panel == (int) k)
              in_k++;
            else if (panel < 0)
              outside++;
            else
              elsewhere++;
          }
      g_test_message ("layer %u: %u marker pixels in its panel, %u outside the panels", k, in_k, outside);
      g_assert_cmpuint (in_k, >, 3);
      g_assert_cmpuint (elsewhere, ==, 0);
      cairo_destroy (cr);
      cairo_surface_destroy (surface);
    }
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/figures/colormap/tables", test_colormap_tables);
  g_test_add_func ("/figures/colormap/palette", test_palette);
  g_test_add_func ("/figures/render/nice-ticks", test_nice_ticks);
  g_test_add_func ("/figures/render/checks", test_render_checks);
  g_test_add_func ("/figures/geometry/hex-tiling", test_hex_tiling);
  g_test_add_func ("/figures/geometry/rect-tiling", test_rect_tiling);
  g_test_add_func ("/figures/geometry/no-seams", test_no_seams);
  g_test_add_func ("/figures/geometry/layout-matches-drawing", test_layout_matches_drawing);
  g_test_add_func ("/figures/geometry/trajectory-panels", test_trajectory_panels);
  g_test_add_func ("/figures/geometry/zoomed-view", test_zoomed_view);
  g_test_add_func ("/figures/geometry/layout-missing-data", test_layout_missing_data);
  g_test_add_func ("/figures/render/scales", test_scales);
  for (guint i = 0; i < G_N_ELEMENTS (golden_names); i++)
    {
      g_autofree char *path = g_strdup_printf ("/figures/golden/%s", golden_names[i]);
      g_test_add_data_func (path, GINT_TO_POINTER (i), test_golden);
    }
  g_test_add_func ("/figures/export/formats", test_export_formats);
  g_test_add_func ("/figures/export/unwritable", test_export_unwritable);
  g_test_add_func ("/figures/cli/map", test_cli_figure);
  g_test_add_func ("/figures/cli/session", test_cli_session);
  g_test_add_func ("/figures/cli/bad-input", test_cli_bad_input);
  g_test_add_func ("/figures/cli/type-sizes", test_cli_type_sizes);
  g_test_add_func ("/figures/render/degenerate", test_degenerate);
  status = g_test_run ();
  remove_tmp_dir ();
  return status;
}
