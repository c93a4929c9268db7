/* som-render.c: Cairo + Pango renderers for every Somscope figure
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <pango/pangocairo.h>

#include "som-render.h"
#include "som-types.h"

#define FONT_FAMILY   "DejaVu Sans"
#define MARGIN        4.0   /* points around the figure */
#define GAP           6.0   /* between the map and its colour bar or legend */
#define BAR_WIDTH     7.0   /* colour bar */
#define TICK_LENGTH   2.5
#define HEX_APOTHEM   0.5   /* cells tile with neighbours one grid unit apart */
#define HEX_RADIUS    0.57735026918962576451 /* 1/√3: centre to vertex */
#define INTER_CORE    0.5   /* interstitial U-matrix: unit cores at half size */

typedef struct
{
  double bg[3];
  double fg[3];
  double muted[3];
  double empty[3];   /* cells with no data */
  double outline[3]; /* thin lines between marker cells */
  double marker[3];  /* hit markers */
} Palette;

static void
theme_palette (SomRenderTheme theme, Palette *p)
{
  static const Palette light = {
    { 1, 1, 1 }, { 0.10, 0.10, 0.10 }, { 0.40, 0.40, 0.40 },
    { 0.90, 0.90, 0.90 }, { 1, 1, 1 }, { 0.15, 0.20, 0.30 },
  };
  static const Palette dark = {
    { 0.14, 0.14, 0.14 }, { 0.92, 0.92, 0.92 }, { 0.65, 0.65, 0.65 },
    { 0.26, 0.26, 0.26 }, { 0.14, 0.14, 0.14 }, { 0.85, 0.88, 0.95 },
  };

  *p = theme == SOM_RENDER_THEME_DARK ? dark : light;
}

static inline void
set_rgb (cairo_t *cr, const double rgb[3])
{
  cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
}

void
som_render_options_init (SomRenderOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->theme = SOM_RENDER_THEME_LIGHT;
  options->font_size = 8;
  options->colormap = SOM_COLORMAP_VIRIDIS;
  options->hits_style = SOM_HITS_HEAT;
  options->vmin = NAN;
  options->vmax = NAN;
  options->marked_unit = -1;
  options->zoom = 1;
}

static const char *view_names[] = {
  [SOM_VIEW_UMATRIX] = "umatrix",
  [SOM_VIEW_HITS] = "hits",
  [SOM_VIEW_CLASS_HITS] = "class-hits",
  [SOM_VIEW_CLASSES] = "classes",
  [SOM_VIEW_COMPONENT] = "component",
  [SOM_VIEW_RESPONSE] = "response",
};

static const char *scale_names[] = {
  [SOM_SCALE_LINEAR] = "linear",
  [SOM_SCALE_SQRT] = "sqrt",
  [SOM_SCALE_LOG] = "log",
};

const char *
som_scale_to_string (SomScale scale)
{
  g_return_val_if_fail ((guint) scale < G_N_ELEMENTS (scale_names), NULL);
  return scale_names[scale];
}

gboolean
som_scale_from_string (const char *text,
                       SomScale   *scale)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (scale_names); i++)
    if (strcmp (text, scale_names[i]) == 0)
      {
        *scale = (SomScale) i;
        return TRUE;
      }
  return FALSE;
}

/* The scale's transform; NaN where it is undefined (log of v ≤ 0). */
static double
scale_forward (SomScale scale, double v)
{
  switch (scale)
    {
    case SOM_SCALE_SQRT:
      return v >= 0 ? sqrt (v) : NAN;
    case SOM_SCALE_LOG:
      return v > 0 ? log10 (v) : NAN;
    case SOM_SCALE_LINEAR:
    default:
      return v;
    }
}

/* Where @v sits on the colour scale [vmin, vmax], in [0, 1] (unclamped);
 * NaN when the scale cannot place it. */
static double
scale_position (SomScale scale, double v, double vmin, double vmax)
{
  double f0 = scale_forward (scale, vmin), f1 = scale_forward (scale, vmax);
  double fv = scale_forward (scale, v);

  if (!isfinite (fv) || !isfinite (f0) || !isfinite (f1))
    return NAN;
  if (f1 <= f0)
    return 0.5;
  return (fv - f0) / (f1 - f0);
}

const char *
som_view_to_string (SomView view)
{
  g_return_val_if_fail ((guint) view < G_N_ELEMENTS (view_names), NULL);
  return view_names[view];
}

gboolean
som_view_from_string (const char *text,
                      SomView    *view)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (view_names); i++)
    if (strcmp (text, view_names[i]) == 0)
      {
        *view = (SomView) i;
        return TRUE;
      }
  return FALSE;
}

/* ------------------------------------------------------------------ text */

typedef enum
{
  TEXT_REGULAR,
  TEXT_BOLD,
} TextWeight;

static PangoLayout *
text_layout (cairo_t    *cr,
             const char *text,
             double      size,
             TextWeight  weight)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoContext *context = pango_layout_get_context (layout);
  cairo_font_options_t *fo = cairo_font_options_create ();
  PangoFontDescription *desc = pango_font_description_from_string (FONT_FAMILY);

  /* Unhinted outlines and metrics: text is laid out the same at every scale
   * and on every surface, so a PNG and a PDF of one figure agree. */
  cairo_font_options_set_hint_style (fo, CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics (fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_antialias (fo, CAIRO_ANTIALIAS_GRAY);
  pango_cairo_context_set_font_options (context, fo);
  cairo_font_options_destroy (fo);
  /* Absolute size is in user units, which are points. */
  pango_font_description_set_absolute_size (desc, size * PANGO_SCALE);
  if (weight == TEXT_BOLD)
    pango_font_description_set_weight (desc, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, desc);
  pango_font_description_free (desc);
  pango_layout_context_changed (layout);
  pango_layout_set_text (layout, text, -1);
  return layout;
}

static void
text_extent (cairo_t    *cr,
             const char *text,
             double      size,
             TextWeight  weight,
             double     *width,
             double     *height)
{
  PangoLayout *layout = text_layout (cr, text, size, weight);
  PangoRectangle logical;

  pango_layout_get_extents (layout, NULL, &logical);
  if (width)
    *width = logical.width / (double) PANGO_SCALE;
  if (height)
    *height = logical.height / (double) PANGO_SCALE;
  g_object_unref (layout);
}

/* Draws @text with its logical box anchored at (@x, @y): @ax = 0 left,
 * 0.5 centre, 1 right; @ay likewise top to bottom.  @angle in radians
 * rotates about the anchor. */
static void
draw_text (cairo_t      *cr,
           const char   *text,
           double        x,
           double        y,
           double        ax,
           double        ay,
           double        angle,
           double        size,
           TextWeight    weight,
           const double  rgb[3])
{
  PangoLayout *layout;
  PangoRectangle logical;

  if (!isfinite (x) || !isfinite (y))
    return;
  layout = text_layout (cr, text, size, weight);
  pango_layout_get_extents (layout, NULL, &logical);
  cairo_save (cr);
  cairo_translate (cr, x, y);
  if (angle != 0)
    cairo_rotate (cr, angle);
  cairo_move_to (cr,
                 -ax * logical.width / (double) PANGO_SCALE - logical.x / (double) PANGO_SCALE,
                 -ay * logical.height / (double) PANGO_SCALE - logical.y / (double) PANGO_SCALE);
  set_rgb (cr, rgb);
  pango_cairo_update_layout (cr, layout);
  pango_cairo_show_layout (cr, layout);
  /* The path is not part of the saved state: leave no current point behind
   * for a later arc to join. */
  cairo_new_path (cr);
  cairo_restore (cr);
  g_object_unref (layout);
}

/* As draw_text, rotated by −90° (reading upwards), centred on (@x, @y) along
 * the vertical, its top edge at @x, and ellipsized to @max_len. */
static void
draw_vertical_label (cairo_t      *cr,
                     const char   *text,
                     double        x,
                     double        y,
                     double        max_len,
                     double        size,
                     const double  rgb[3])
{
  PangoLayout *layout = text_layout (cr, text, size, TEXT_REGULAR);
  PangoRectangle logical;

  pango_layout_set_width (layout, (int) (MAX (max_len, size) * PANGO_SCALE));
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_layout_get_extents (layout, NULL, &logical);
  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_rotate (cr, -G_PI / 2);
  cairo_move_to (cr, -logical.width / 2.0 / PANGO_SCALE - logical.x / (double) PANGO_SCALE,
                 -logical.y / (double) PANGO_SCALE);
  set_rgb (cr, rgb);
  pango_cairo_update_layout (cr, layout);
  pango_cairo_show_layout (cr, layout);
  cairo_new_path (cr);
  cairo_restore (cr);
  g_object_unref (layout);
}

static double
title_size (const SomRenderOptions *o)
{
  return o->font_size * 9.0 / 8.0;
}

static double
label_size (const SomRenderOptions *o)
{
  return o->font_size;
}

static double
tick_size (const SomRenderOptions *o)
{
  return o->font_size * 7.0 / 8.0;
}

/* --------------------------------------------------------------- ticks */

guint
som_render_nice_ticks (double  vmin,
                       double  vmax,
                       guint   max_ticks,
                       double *ticks,
                       int    *decimals)
{
  static const double steps[] = { 1, 2, 2.5, 5, 10 };
  double range, raw, mag, step = 1, first;
  guint n = 0;
  int dec;

  if (max_ticks == 0 || !isfinite (vmin) || !isfinite (vmax))
    return 0;
  if (vmax < vmin)
    {
      double t = vmin;
      vmin = vmax;
      vmax = t;
    }
  range = vmax - vmin;
  if (range <= 0 || range < 1e-12 * MAX (fabs (vmin), fabs (vmax)))
    {
      ticks[0] = vmin;
      dec = vmin == 0 ? 0 : MAX (0, 2 - (int) floor (log10 (fabs (vmin))));
      *decimals = MIN (dec, 6);
      return 1;
    }
  for (guint want = MAX (max_ticks, 2) - 1; ; )
    {
      raw = range / want;
      mag = pow (10, floor (log10 (raw)));
      for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
        if (steps[i] * mag >= raw * (1 - 1e-9))
          {
            step = steps[i] * mag;
            break;
          }
      first = ceil (vmin / step - 1e-9) * step;
      n = (guint) floor ((vmax - first) / step + 1e-9) + 1;
      if (n <= max_ticks || want == 1)
        break;
      want--;
    }
  n = MIN (n, max_ticks);
  for (guint i = 0; i < n; i++)
    {
      ticks[i] = first + i * step;
      if (fabs (ticks[i]) < step * 1e-9)
        ticks[i] = 0;
    }
  dec = (int) -floor (log10 (step) + 1e-9);
  if (fabs (step / pow (10, floor (log10 (step) + 1e-9)) - 2.5) < 1e-6)
    dec++;
  *decimals = CLAMP (dec, 0, 8);
  return n;
}

static char *
format_tick (double v, int decimals)
{
  /* A real minus sign, as typeset figures use. */
  char *s = g_strdup_printf ("%.*f", decimals, fabs (v));

  if (v < 0 && strspn (s, "0.") != strlen (s))
    {
      char *t = g_strconcat ("\xe2\x88\x92", s, NULL);
      g_free (s);
      return t;
    }
  return s;
}

/* ---------------------------------------------------------- geometry */

static gboolean
is_hex (const SomGrid *grid)
{
  return som_grid_get_topology (grid) == SOM_TOPOLOGY_HEX;
}

/* The extent of the cells (not just their centres), in grid units. */
static void
grid_extent (const SomGrid *grid,
             double        *x_min,
             double        *y_min,
             double        *x_max,
             double        *y_max)
{
  double half_h = is_hex (grid) ? HEX_RADIUS : 0.5;

  *x_min = -0.5;
  *y_min = -half_h;
  *x_max = som_grid_get_width (grid) + 0.5;
  *y_max = som_grid_get_height (grid) + half_h;
}

static double
grid_aspect (const SomGrid *grid)
{
  double x0, y0, x1, y1;

  grid_extent (grid, &x0, &y0, &x1, &y1);
  return (y1 - y0) / (x1 - x0);
}

/* Fits the grid in the box, centred. */
static void
fit_layout (const SomGrid *grid,
            double         bx,
            double         by,
            double         bw,
            double         bh,
            SomMapLayout  *layout)
{
  double x0, y0, x1, y1, s;

  grid_extent (grid, &x0, &y0, &x1, &y1);
  s = MIN (MAX (bw, 0) / (x1 - x0), MAX (bh, 0) / (y1 - y0));
  layout->grid = grid;
  layout->scale = s;
  layout->x0 = bx + (bw - (x1 - x0) * s) / 2 - x0 * s;
  layout->y0 = by + (bh - (y1 - y0) * s) / 2 - y0 * s;
}

static void
layout_bounds (const SomMapLayout *layout,
               double             *x,
               double             *y,
               double             *w,
               double             *h)
{
  double x0, y0, x1, y1;

  grid_extent (layout->grid, &x0, &y0, &x1, &y1);
  *x = layout->x0 + x0 * layout->scale;
  *y = layout->y0 + y0 * layout->scale;
  *w = (x1 - x0) * layout->scale;
  *h = (y1 - y0) * layout->scale;
}

/* Unit polygon offsets from the centre, in grid units.  Hex cells are
 * pointy-top hexagons of apothem 1/2 (neighbours one unit apart share an
 * edge); rect cells are unit squares. */
static const double hex_dx[6] = { 0, HEX_APOTHEM, HEX_APOTHEM, 0, -HEX_APOTHEM, -HEX_APOTHEM };
static const double hex_dy[6] = { -HEX_RADIUS, -HEX_RADIUS / 2, HEX_RADIUS / 2, HEX_RADIUS,
                                  HEX_RADIUS / 2, -HEX_RADIUS / 2 };
static const double rect_dx[4] = { -0.5, 0.5, 0.5, -0.5 };
static const double rect_dy[4] = { -0.5, -0.5, 0.5, 0.5 };

guint
som_map_layout_unit_polygon (const SomMapLayout *layout,
                             guint               unit,
                             double             *xs,
                             double             *ys)
{
  double gx, gy, cx, cy, s = layout->scale;
  gboolean hex = is_hex (layout->grid);
  guint n = hex ? 6 : 4;

  som_grid_get_position (layout->grid, unit, &gx, &gy);
  cx = layout->x0 + gx * s;
  cy = layout->y0 + gy * s;
  for (guint i = 0; i < n; i++)
    {
      xs[i] = cx + (hex ? hex_dx[i] : rect_dx[i]) * s;
      ys[i] = cy + (hex ? hex_dy[i] : rect_dy[i]) * s;
    }
  return n;
}

void
som_map_layout_unit_rect (const SomMapLayout *layout,
                          guint               unit,
                          double             *x,
                          double             *y,
                          double             *width,
                          double             *height)
{
  double gx, gy, s = layout->scale;
  double hh = is_hex (layout->grid) ? HEX_RADIUS : 0.5;

  som_grid_get_position (layout->grid, unit, &gx, &gy);
  *x = layout->x0 + (gx - 0.5) * s;
  *y = layout->y0 + (gy - hh) * s;
  *width = s;
  *height = 2 * hh * s;
}

static gboolean
point_in_cell (const SomGrid *grid, guint unit, double gx, double gy)
{
  double ux, uy, dx, dy;

  som_grid_get_position (grid, unit, &ux, &uy);
  dx = fabs (gx - ux);
  dy = fabs (gy - uy);
  if (!is_hex (grid))
    return dx <= 0.5 && dy <= 0.5;
  /* Pointy-top hexagon: |dx| ≤ apothem and the slanted edges. */
  return dx <= HEX_APOTHEM && dy <= HEX_RADIUS - dx * HEX_RADIUS / (2 * HEX_APOTHEM) + 1e-12;
}

int
som_map_layout_hit_test (const SomMapLayout *layout,
                         double              x,
                         double              y)
{
  const SomGrid *grid = layout->grid;
  guint rows = som_grid_get_rows (grid), cols = som_grid_get_cols (grid);
  double gx, gy, row_h = is_hex (grid) ? sqrt (3) / 2 : 1;
  int r0;

  if (layout->scale <= 0)
    return -1;
  gx = (x - layout->x0) / layout->scale;
  gy = (y - layout->y0) / layout->scale;
  r0 = (int) floor (gy / row_h + 0.5);
  /* Cells are the Voronoi regions of their centres, so the containing cell
   * is among the nearest rows and columns. */
  for (int r = r0 - 1; r <= r0 + 1; r++)
    {
      int c0;

      if (r < 0 || r >= (int) rows)
        continue;
      c0 = (int) floor (gx - (is_hex (grid) ? 0.5 * (r % 2) : 0) + 0.5);
      for (int c = c0 - 1; c <= c0 + 1; c++)
        {
          guint unit;

          if (c < 0 || c >= (int) cols)
            continue;
          unit = som_grid_unit_index (grid, r, c);
          if (point_in_cell (grid, unit, gx, gy))
            return (int) unit;
        }
    }
  return -1;
}

/* ------------------------------------------------------------- cells */

/* How far to grow each filled cell, in user units, so that antialiased
 * neighbours cover each other's edge pixels and no background shows through
 * as hairline seams.  On raster targets 0.75 device pixels: a half-plane
 * covers every pixel its edge crosses once shifted by half the pixel's
 * extent across the edge, at most √2/2 (a diagonal edge).  On vector
 * targets (device unit = 1 pt) a tenth of a point. */
static double
seam_overlap (cairo_t *cr)
{
  cairo_surface_type_t type = cairo_surface_get_type (cairo_get_target (cr));
  double dx = 0.75, dy = 0;

  /* Without antialiasing every pixel belongs to exactly one cell already. */
  if (cairo_get_antialias (cr) == CAIRO_ANTIALIAS_NONE)
    return 0;

  if (type == CAIRO_SURFACE_TYPE_PDF || type == CAIRO_SURFACE_TYPE_SVG ||
      type == CAIRO_SURFACE_TYPE_PS)
    dx = 0.1;
  cairo_device_to_user_distance (cr, &dx, &dy);
  return hypot (dx, dy);
}

static void
append_cell (cairo_t            *cr,
             const SomMapLayout *layout,
             guint               unit,
             double              grow,   /* user units added to the apothem */
             double              shrink) /* factor on the cell size */
{
  double gx, gy, cx, cy, f;
  gboolean hex = is_hex (layout->grid);
  const double *dx = hex ? hex_dx : rect_dx, *dy = hex ? hex_dy : rect_dy;
  guint n = hex ? 6 : 4;

  som_grid_get_position (layout->grid, unit, &gx, &gy);
  cx = layout->x0 + gx * layout->scale;
  cy = layout->y0 + gy * layout->scale;
  f = layout->scale * shrink + 2 * grow;
  cairo_move_to (cr, cx + dx[0] * f, cy + dy[0] * f);
  for (guint i = 1; i < n; i++)
    cairo_line_to (cr, cx + dx[i] * f, cy + dy[i] * f);
  cairo_close_path (cr);
}

/* Colour classes for batched fills: 0…255 are colour-map entries, EMPTY the
 * no-data colour, SKIP draws nothing. */
#define BIN_EMPTY 256
#define BIN_SKIP  257
#define N_BINS    258

static guint16
value_bin (double v, double vmin, double vmax, SomScale scale)
{
  double t;

  if (!isfinite (v))
    return BIN_EMPTY;
  t = scale_position (scale, v, vmin, vmax);
  if (isnan (t))
    return BIN_EMPTY;
  return (guint16) som_colormap_index (t);
}

/* Sorts 0…@n−1 by @bins into @order (a counting sort); count[b] is then the
 * end of bin b in @order, and count[b − 1] (0 for b = 0) its start. */
static void
order_by_bin (const guint16 *bins,
              guint          n,
              guint         *order,
              guint          count[N_BINS + 1])
{
  memset (count, 0, (N_BINS + 1) * sizeof (guint));
  for (guint k = 0; k < n; k++)
    count[bins[k] + 1]++;
  for (guint b = 1; b <= N_BINS; b++)
    count[b] += count[b - 1];
  for (guint k = 0; k < n; k++)
    order[count[bins[k]]++] = k;
}

/* The fill colour of bin @b (not BIN_SKIP). */
static void
set_bin_rgb (cairo_t *cr, guint b, SomColormap cmap, const double empty[3])
{
  double rgb[3];

  if (b == BIN_EMPTY)
    {
      set_rgb (cr, empty);
      return;
    }
  som_colormap_entry (cmap, b, rgb);
  set_rgb (cr, rgb);
}

/* Fills every unit's cell with its bin's colour, one path per colour.  The
 * antialiasing rasteriser pays for the whole extent of every path it fills,
 * so then each row of cells gets its own paths (measured: 28 → 19 ms CPU for
 * a 100×100 hex map at 1000×1000 pixels); without antialiasing one path per
 * colour for the whole map is cheapest. */
static void
fill_cells_binned (cairo_t            *cr,
                   const SomMapLayout *layout,
                   const guint16      *bins,
                   SomColormap         cmap,
                   const double        empty[3])
{
  guint rows = som_grid_get_rows (layout->grid), cols = som_grid_get_cols (layout->grid);
  guint count[N_BINS + 1];
  g_autofree guint *order = NULL;
  double grow = seam_overlap (cr);
  guint band_rows = cairo_get_antialias (cr) == CAIRO_ANTIALIAS_NONE ? rows : 1;

  order = g_new (guint, (gsize) band_rows * cols);
  cairo_save (cr);
  for (guint r0 = 0; r0 < rows; r0 += band_rows)
    {
      guint k0 = r0 * cols, k1 = MIN (r0 + band_rows, rows) * cols;

      order_by_bin (bins + k0, k1 - k0, order, count);
      for (guint b = 0, start = 0; b < BIN_SKIP; start = count[b], b++)
        {
          if (count[b] == start)
            continue;
          cairo_new_path (cr);
          for (guint i = start; i < count[b]; i++)
            append_cell (cr, layout, k0 + order[i], grow, 1);
          set_bin_rgb (cr, b, cmap, empty);
          cairo_fill (cr);
        }
    }
  cairo_restore (cr);
}

static void
fill_cells_rgb (cairo_t            *cr,
                const SomMapLayout *layout,
                const double       *rgb) /* 3 per unit */
{
  guint n = som_grid_get_n_units (layout->grid);
  double grow = seam_overlap (cr);

  for (guint k = 0; k < n; k++)
    {
      append_cell (cr, layout, k, grow, 1);
      cairo_set_source_rgb (cr, rgb[3 * k], rgb[3 * k + 1], rgb[3 * k + 2]);
      cairo_fill (cr);
    }
}

/* A ring around @unit that reads on any colour: light over dark. */
static void
mark_unit (cairo_t            *cr,
           const SomMapLayout *layout,
           guint               unit,
           double              width)
{
  cairo_save (cr);
  cairo_new_path (cr);
  append_cell (cr, layout, unit, 0, 0.92);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, width * 2.2);
  cairo_stroke_preserve (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_set_line_width (cr, width);
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* ------------------------------------------------------- view state */

typedef struct
{
  SomView                 view;
  const SomMapData       *data;
  const SomRenderOptions *opts;
  Palette                 pal;
  SomColormap             cmap;
  SomHitsStyle            hits_style;
  const char             *units;
  guint                   n_units;
  float                  *values;  /* per unit, for scalar views */
  /* Interstitial U-matrix: neighbour pairs a < b (planar neighbours only) */
  guint                   n_edges;
  guint                  *edge_a;
  guint                  *edge_b;
  float                  *edge_d;
  double                  vmin;    /* the data's range */
  double                  vmax;
  double                  max_count; /* markers and class hits */
  double                  min_positive; /* the smallest value > 0 (log scales), 1 if none */
  /* Classes: majority class and purity per unit (-1: no hits) */
  int                    *majority;
  float                  *purity;
} ViewState;

static void
view_state_clear (ViewState *s)
{
  g_clear_pointer (&s->values, g_free);
  g_clear_pointer (&s->edge_a, g_free);
  g_clear_pointer (&s->edge_b, g_free);
  g_clear_pointer (&s->edge_d, g_free);
  g_clear_pointer (&s->majority, g_free);
  g_clear_pointer (&s->purity, g_free);
}

static double
vec_distance (const float *a, const float *b, guint dim)
{
  double acc = 0;

  for (guint i = 0; i < dim; i++)
    {
      double d = (double) a[i] - b[i];
      acc += d * d;
    }
  return sqrt (acc);
}

gboolean
som_render_check (SomView                 view,
                  const SomMapData       *data,
                  const SomRenderOptions *options,
                  GError                **error)
{
  const char *what = data->name != NULL ? data->name : "map";

  g_return_val_if_fail (data != NULL && data->grid != NULL, FALSE);

  switch (view)
    {
    case SOM_VIEW_UMATRIX:
      if (data->umatrix == NULL && data->codebook == NULL)
        goto missing_umatrix;
      if (options->interstitial && data->codebook == NULL)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: the interstitial U-matrix needs the codebook", what);
          return FALSE;
        }
      return TRUE;
    missing_umatrix:
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: the U-matrix view needs 'umatrix' or 'codebook'", what);
      return FALSE;
    case SOM_VIEW_HITS:
      if (data->hits == NULL && data->class_hits == NULL)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: the hit map needs hit counts ('hits')", what);
          return FALSE;
        }
      return TRUE;
    case SOM_VIEW_CLASS_HITS:
    case SOM_VIEW_CLASSES:
      if (data->class_hits == NULL || data->n_classes == 0)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: the %s view needs labels: no per-class hit counts ('class_hits'); "
                       "train the map with --labels", what, som_view_to_string (view));
          return FALSE;
        }
      return TRUE;
    case SOM_VIEW_COMPONENT:
      if (data->codebook == NULL || data->dim == 0)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: the component plane needs the codebook", what);
          return FALSE;
        }
      if (options->feature >= data->dim)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: feature %u out of range: the codebook has %u features (0…%u)",
                       what, options->feature, data->dim, data->dim - 1);
          return FALSE;
        }
      return TRUE;
    case SOM_VIEW_RESPONSE:
      if (data->response == NULL)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: the response view needs the distances of one input to every unit", what);
          return FALSE;
        }
      return TRUE;
    default:
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "unknown view %d", view);
      return FALSE;
    }
}

static void
compute_range (const float *v, guint n, double *lo, double *hi)
{
  for (guint k = 0; k < n; k++)
    if (isfinite (v[k]))
      {
        *lo = MIN (*lo, v[k]);
        *hi = MAX (*hi, v[k]);
      }
}

static void
view_state_init (ViewState              *s,
                 SomView                 view,
                 const SomMapData       *data,
                 const SomRenderOptions *opts)
{
  const SomGrid *grid = data->grid;
  guint n = som_grid_get_n_units (grid);

  memset (s, 0, sizeof *s);
  s->view = view;
  s->data = data;
  s->opts = opts;
  s->n_units = n;
  theme_palette (opts->theme, &s->pal);
  s->cmap = opts->colormap_set ? opts->colormap
            : view == SOM_VIEW_HITS || view == SOM_VIEW_CLASS_HITS ? SOM_COLORMAP_MAGMA
            : SOM_COLORMAP_VIRIDIS;
  s->hits_style = opts->hits_style_set ? opts->hits_style
                  : view == SOM_VIEW_CLASS_HITS ? SOM_HITS_MARKERS : SOM_HITS_HEAT;
  s->vmin = INFINITY;
  s->vmax = -INFINITY;

  switch (view)
    {
    case SOM_VIEW_UMATRIX:
      s->units = "distance to neighbours";
      s->values = g_new (float, n);
      if (data->umatrix != NULL)
        memcpy (s->values, data->umatrix, n * sizeof (float));
      else
        for (guint k = 0; k < n; k++)
          {
            guint nn;
            const guint *nb = som_grid_get_neighbours (grid, k, &nn);
            double acc = 0;

            for (guint i = 0; i < nn; i++)
              acc += vec_distance (data->codebook + (gsize) k * data->dim,
                                   data->codebook + (gsize) nb[i] * data->dim, data->dim);
            s->values[k] = nn ? acc / nn : NAN;
          }
      compute_range (s->values, n, &s->vmin, &s->vmax);
      if (opts->interstitial && data->codebook != NULL)
        {
          GArray *a = g_array_new (FALSE, FALSE, sizeof (guint));
          GArray *b = g_array_new (FALSE, FALSE, sizeof (guint));
          GArray *d = g_array_new (FALSE, FALSE, sizeof (float));

          for (guint k = 0; k < n; k++)
            {
              guint nn;
              const guint *nb = som_grid_get_neighbours (grid, k, &nn);
              double xk, yk;

              som_grid_get_position (grid, k, &xk, &yk);
              for (guint i = 0; i < nn; i++)
                {
                  double xj, yj;
                  float dist;

                  if (nb[i] <= k)
                    continue;
                  /* Wrap-around pairs of a torus have no shared edge on the page. */
                  som_grid_get_position (grid, nb[i], &xj, &yj);
                  if (hypot (xj - xk, yj - yk) > 1 + 1e-6)
                    continue;
                  dist = vec_distance (data->codebook + (gsize) k * data->dim,
                                       data->codebook + (gsize) nb[i] * data->dim, data->dim);
                  g_array_append_val (a, k);
                  g_array_append_val (b, nb[i]);
                  g_array_append_val (d, dist);
                }
            }
          s->n_edges = a->len;
          s->edge_a = (guint *) g_array_free (a, FALSE);
          s->edge_b = (guint *) g_array_free (b, FALSE);
          s->edge_d = (float *) g_array_free (d, FALSE);
          compute_range (s->edge_d, s->n_edges, &s->vmin, &s->vmax);
          s->units = "distance";
        }
      break;

    case SOM_VIEW_HITS:
      /* On a log scale units without hits are drawn empty: say so. */
      s->units = opts->scale == SOM_SCALE_LOG ? "hits (grey: none)" : "hits";
      s->values = g_new (float, n);
      for (guint k = 0; k < n; k++)
        {
          double c = 0;

          if (data->hits != NULL)
            c = data->hits[k];
          else
            for (guint j = 0; j < data->n_classes; j++)
              c += data->class_hits[(gsize) j * n + k];
          s->values[k] = c;
        }
      s->vmin = 0;
      s->vmax = 0;
      compute_range (s->values, n, &s->vmin, &s->vmax);
      s->max_count = s->vmax;
      break;

    case SOM_VIEW_CLASS_HITS:
      s->units = "hits";
      s->vmin = 0;
      s->vmax = 0;
      for (gsize i = 0; i < (gsize) n * data->n_classes; i++)
        s->vmax = MAX (s->vmax, data->class_hits[i]);
      s->max_count = s->vmax;
      break;

    case SOM_VIEW_CLASSES:
      s->majority = g_new (int, n);
      s->purity = g_new (float, n);
      for (guint k = 0; k < n; k++)
        {
          gint64 total = 0, best = 0;
          int arg = -1;

          for (guint j = 0; j < data->n_classes; j++)
            {
              gint32 c = data->class_hits[(gsize) j * n + k];

              total += MAX (c, 0);
              if (c > best)
                {
                  best = c;
                  arg = (int) j;
                }
            }
          s->majority[k] = arg;
          s->purity[k] = total > 0 ? (float) best / total : 0;
        }
      s->vmin = 0;
      s->vmax = 1;
      break;

    case SOM_VIEW_COMPONENT:
      s->units = "weight";
      s->values = g_new (float, n);
      for (guint k = 0; k < n; k++)
        s->values[k] = data->codebook[(gsize) k * data->dim + opts->feature];
      compute_range (s->values, n, &s->vmin, &s->vmax);
      break;

    case SOM_VIEW_RESPONSE:
      s->units = "distance to input";
      s->values = g_new (float, n);
      memcpy (s->values, data->response, n * sizeof (float));
      compute_range (s->values, n, &s->vmin, &s->vmax);
      break;

    default:
      g_assert_not_reached ();
    }

  if (!isfinite (s->vmin) || !isfinite (s->vmax))
    s->vmin = s->vmax = 0;
  s->min_positive = INFINITY;
  for (guint k = 0; s->values != NULL && k < n; k++)
    if (isfinite (s->values[k]) && s->values[k] > 0)
      s->min_positive = MIN (s->min_positive, s->values[k]);
  for (guint e = 0; e < s->n_edges; e++)
    if (isfinite (s->edge_d[e]) && s->edge_d[e] > 0)
      s->min_positive = MIN (s->min_positive, s->edge_d[e]);
  if (view == SOM_VIEW_CLASS_HITS)
    s->min_positive = 1;
  if (!isfinite (s->min_positive))
    s->min_positive = 1;
  if (opts->units != NULL)
    s->units = opts->units;
}

static gboolean
view_uses_colorbar (const ViewState *s)
{
  switch (s->view)
    {
    case SOM_VIEW_CLASSES:
      return FALSE;
    case SOM_VIEW_HITS:
    case SOM_VIEW_CLASS_HITS:
      return s->hits_style == SOM_HITS_HEAT;
    default:
      return TRUE;
    }
}

/* ---------------------------------------------------- colour bar */

/* Log ticks: the powers of ten in [vmin, vmax], with 2× and 5× between
 * them when there are fewer than two of those; at most 8. */
static guint
log_ticks (double vmin, double vmax, double *ticks, int *decimals)
{
  static const double mult[3] = { 1, 2, 5 };
  guint n = 0;
  int e0, e1, dec = 0;

  if (!(vmin > 0) || !(vmax >= vmin) || !isfinite (vmax))
    return 0;
  e0 = (int) floor (log10 (vmin) + 1e-9);
  e1 = (int) floor (log10 (vmax) + 1e-9);
  for (int pass = 0; pass < 2 && n < 2; pass++)
    {
      n = 0;
      for (int e = e0; e <= e1 && n < 8; e++)
        for (guint m = 0; m < (pass ? 3u : 1u) && n < 8; m++)
          {
            double t = mult[m] * pow (10, e);

            if (t >= vmin * (1 - 1e-9) && t <= vmax * (1 + 1e-9))
              {
                ticks[n++] = t;
                dec = MAX (dec, -e);
              }
          }
    }
  *decimals = CLAMP (dec, 0, 8);
  if (n < 2)
    /* Less than a factor of 2.5 between the ends: plain nice ticks. */
    return som_render_nice_ticks (vmin, vmax, 4, ticks, decimals);
  return n;
}

static void
scale_ticks (const SomRenderOptions *o, double vmin, double vmax, gboolean integer,
             double *ticks, guint *n, int *decimals)
{
  if (o->scale == SOM_SCALE_LOG)
    *n = log_ticks (vmin, vmax, ticks, decimals);
  else
    *n = som_render_nice_ticks (vmin, vmax, 5, ticks, decimals);
  if (integer)
    {
      /* Counts: never fractional ticks. */
      guint m = 0;

      for (guint i = 0; i < *n; i++)
        if (fabs (ticks[i] - round (ticks[i])) < 1e-9)
          ticks[m++] = ticks[i];
      *n = m;
      *decimals = 0;
    }
}

static double
colorbar_width (cairo_t *cr, const SomRenderOptions *o, double vmin, double vmax,
                gboolean integer, const char *units)
{
  double ticks[16], w = 0;
  guint n;
  int dec;

  scale_ticks (o, vmin, vmax, integer, ticks, &n, &dec);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *s = format_tick (ticks[i], dec);
      double tw;

      text_extent (cr, s, tick_size (o), TEXT_REGULAR, &tw, NULL);
      w = MAX (w, tw);
    }
  w += BAR_WIDTH + TICK_LENGTH + 1.5;
  if (units != NULL && *units)
    {
      double th;

      text_extent (cr, units, label_size (o), TEXT_REGULAR, NULL, &th);
      w += 2 + th;
    }
  return w;
}

static void
draw_colorbar (cairo_t                *cr,
               double                  x,
               double                  y,
               double                  height,
               SomColormap             cmap,
               double                  vmin,
               double                  vmax,
               gboolean                integer,
               const char             *units,
               const SomRenderOptions *o)
{
  Palette pal;
  double ticks[16], label_w = 0;
  guint n;
  int dec;
  cairo_pattern_t *pat;

  theme_palette (o->theme, &pal);
  if (vmax < vmin)
    {
      double t = vmin;
      vmin = vmax;
      vmax = t;
    }
  /* The gradient is the colour map's own 256 steps, low at the bottom. */
  pat = cairo_pattern_create_linear (0, y + height, 0, y);
  for (guint i = 0; i < SOM_COLORMAP_N_ENTRIES; i++)
    {
      double rgb[3];

      som_colormap_entry (cmap, i, rgb);
      cairo_pattern_add_color_stop_rgb (pat, i / 256.0, rgb[0], rgb[1], rgb[2]);
      cairo_pattern_add_color_stop_rgb (pat, (i + 1) / 256.0, rgb[0], rgb[1], rgb[2]);
    }
  cairo_save (cr);
  cairo_rectangle (cr, x, y, BAR_WIDTH, height);
  cairo_set_source (cr, pat);
  cairo_fill (cr);
  cairo_pattern_destroy (pat);

  cairo_set_line_width (cr, 0.5);
  set_rgb (cr, pal.fg);
  cairo_rectangle (cr, x, y, BAR_WIDTH, height);
  cairo_stroke (cr);

  scale_ticks (o, vmin, vmax, integer, ticks, &n, &dec);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *s = format_tick (ticks[i], dec);
      double t = scale_position (o->scale, ticks[i], vmin, vmax);
      double ty = isfinite (t) ? y + height * (1 - t) : y + height / 2;
      double tw;

      cairo_move_to (cr, x + BAR_WIDTH, ty);
      cairo_line_to (cr, x + BAR_WIDTH + TICK_LENGTH, ty);
      set_rgb (cr, pal.fg);
      cairo_stroke (cr);
      draw_text (cr, s, x + BAR_WIDTH + TICK_LENGTH + 1.5, ty, 0, 0.5, 0,
                 tick_size (o), TEXT_REGULAR, pal.fg);
      text_extent (cr, s, tick_size (o), TEXT_REGULAR, &tw, NULL);
      label_w = MAX (label_w, tw);
    }
  if (units != NULL && *units)
    draw_vertical_label (cr, units, x + BAR_WIDTH + TICK_LENGTH + 1.5 + label_w + 2, y + height / 2,
                         height, label_size (o), pal.fg);
  cairo_restore (cr);
}

void
som_render_colorbar (cairo_t                *cr,
                     double                  x,
                     double                  y,
                     double                  width,
                     double                  height,
                     SomColormap             colormap,
                     double                  vmin,
                     double                  vmax,
                     const char             *units,
                     const SomRenderOptions *options)
{
  draw_colorbar (cr, x, y, height, colormap, vmin, vmax, FALSE, units, options);
}

/* -------------------------------------------- legends and keys */

static double
class_legend_width (cairo_t *cr, const ViewState *s)
{
  const SomRenderOptions *o = s->opts;
  double w = 0, tw;

  for (guint j = 0; j < s->data->n_classes; j++)
    {
      g_autofree char *fallback = g_strdup_printf ("%u", j);
      const char *name = s->data->class_names ? s->data->class_names[j] : fallback;

      text_extent (cr, name, tick_size (o), TEXT_REGULAR, &tw, NULL);
      w = MAX (w, tw);
    }
  text_extent (cr, "no hits", tick_size (o), TEXT_REGULAR, &tw, NULL);
  w = MAX (w, tw);
  text_extent (cr, "purity", tick_size (o), TEXT_REGULAR, &tw, NULL);
  /* The purity ramp is five swatches of 0.9 × the swatch size. */
  return MAX (MAX (w + tick_size (o) + 3, tw), 5 * tick_size (o) * 0.9 + 1);
}

static double
class_legend_height (cairo_t *cr, const SomMapData *data, const SomRenderOptions *o)
{
  double line = tick_size (o) * 1.35;

  return (data->n_classes + 1) * line + 3.4 * line + 4;
}

static void
draw_class_legend (cairo_t *cr, const ViewState *s, double x, double y)
{
  const SomRenderOptions *o = s->opts;
  double sw = tick_size (o), line = sw * 1.35, rgb[3];
  guint K = s->data->n_classes;

  for (guint j = 0; j < K; j++)
    {
      g_autofree char *fallback = g_strdup_printf ("%u", j);
      const char *name = s->data->class_names ? s->data->class_names[j] : fallback;
      double cy = y + (j + 0.5) * line;

      som_palette_rgb (j, rgb);
      cairo_rectangle (cr, x, cy - sw / 2, sw, sw);
      set_rgb (cr, rgb);
      cairo_fill (cr);
      draw_text (cr, name, x + sw + 3, cy, 0, 0.5, 0, tick_size (o), TEXT_REGULAR, s->pal.fg);
    }
  /* Units no input hit. */
  {
    double cy = y + (K + 0.5) * line;

    cairo_rectangle (cr, x, cy - sw / 2, sw, sw);
    set_rgb (cr, s->pal.empty);
    cairo_fill (cr);
    draw_text (cr, "no hits", x + sw + 3, cy, 0, 0.5, 0, tick_size (o), TEXT_REGULAR, s->pal.muted);
  }
  /* Purity as opacity: a ramp of the first class colour over the empty colour. */
  y += (K + 1) * line + 4;
  draw_text (cr, "purity", x, y, 0, 0, 0, tick_size (o), TEXT_REGULAR, s->pal.fg);
  y += line;
  som_palette_rgb (0, rgb);
  for (guint i = 0; i < 5; i++)
    {
      double a = 0.2 + 0.2 * i;

      cairo_rectangle (cr, x + i * sw * 0.9, y, sw * 0.9 + 0.05, sw);
      cairo_set_source_rgb (cr, a * rgb[0] + (1 - a) * s->pal.empty[0],
                            a * rgb[1] + (1 - a) * s->pal.empty[1],
                            a * rgb[2] + (1 - a) * s->pal.empty[2]);
      cairo_fill (cr);
    }
  draw_text (cr, "0.2", x, y + sw + 0.5, 0, 0, 0, tick_size (o), TEXT_REGULAR, s->pal.muted);
  draw_text (cr, "1", x + 5 * sw * 0.9, y + sw + 0.5, 1, 0, 0, tick_size (o), TEXT_REGULAR,
             s->pal.muted);
}

/* Marker side length relative to the cell for @count hits: area ∝ count. */
static double
marker_fraction (double count, double max_count)
{
  if (count <= 0 || max_count <= 0)
    return 0;
  return 0.95 * sqrt (count / max_count);
}

static void
key_counts (double max_count, double *counts, guint *n)
{
  double ticks[8];
  int dec;
  guint m = som_render_nice_ticks (0, max_count, 4, ticks, &dec), k = 0;

  /* The largest count, then two nice smaller ones. */
  counts[k++] = max_count;
  for (int i = (int) m - 1; i >= 0 && k < 3; i--)
    if (ticks[i] > 0 && ticks[i] < max_count * 0.9 && fabs (ticks[i] - round (ticks[i])) < 1e-9)
      counts[k++] = ticks[i];
  *n = k;
}

static double
marker_key_width (cairo_t *cr, const SomRenderOptions *o, double max_count, double cell)
{
  double counts[3], w = 0, tw;
  guint n;

  key_counts (max_count, counts, &n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *s = g_strdup_printf ("%.0f", counts[i]);

      text_extent (cr, s, tick_size (o), TEXT_REGULAR, &tw, NULL);
      w = MAX (w, tw);
    }
  text_extent (cr, "hits", tick_size (o), TEXT_REGULAR, &tw, NULL);
  return MAX (cell + 3 + w, tw);
}

static void
draw_marker_key (cairo_t *cr, const SomRenderOptions *o, const Palette *pal,
                 const double marker_rgb[3], double max_count, double cell, gboolean hex,
                 double x, double y)
{
  double counts[3], line = MAX (cell, tick_size (o) * 1.35) + 2;
  guint n;

  if (max_count <= 0)
    return;
  key_counts (max_count, counts, &n);
  draw_text (cr, "hits", x, y, 0, 0, 0, tick_size (o), TEXT_REGULAR, pal->fg);
  y += tick_size (o) * 1.5;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *s = g_strdup_printf ("%.0f", counts[i]);
      double f = marker_fraction (counts[i], max_count) * cell, cx = x + cell / 2, cy = y + line / 2;

      if (hex)
        {
          for (int v = 0; v < 6; v++)
            (v ? cairo_line_to : cairo_move_to) (cr, cx + hex_dx[v] * f, cy + hex_dy[v] * f);
          cairo_close_path (cr);
        }
      else
        cairo_rectangle (cr, cx - f / 2, cy - f / 2, f, f);
      set_rgb (cr, marker_rgb);
      cairo_fill (cr);
      draw_text (cr, s, x + cell + 3, cy, 0, 0.5, 0, tick_size (o), TEXT_REGULAR, pal->fg);
      y += line;
    }
}

/* ------------------------------------------------------ map drawing */

/* Draws the cells of one map (no decorations) for a scalar colour scale
 * [vmin, vmax]. */
static void
draw_scalar_cells (cairo_t            *cr,
                   const ViewState    *s,
                   const SomMapLayout *layout,
                   const float        *values,
                   double              vmin,
                   double              vmax)
{
  g_autofree guint16 *bins = g_new (guint16, s->n_units);

  for (guint k = 0; k < s->n_units; k++)
    bins[k] = value_bin (values[k], vmin, vmax, s->opts->scale);
  fill_cells_binned (cr, layout, bins, s->cmap, s->pal.empty);

  if (s->n_edges > 0)
    {
      /* Interstitial cells: a band across every shared edge, coloured by the
       * distance between the two units' weight vectors. */
      double grow = seam_overlap (cr), sc = layout->scale;
      /* Between two unit cores shrunk by INTER_CORE: as long as their facing
       * edges, as deep as the gap between them. */
      double half_edge = (is_hex (layout->grid) ? HEX_RADIUS / 2 : 0.5) * INTER_CORE;
      double half_depth = HEX_APOTHEM * (1 - INTER_CORE);
      guint count[N_BINS + 1];
      g_autofree guint16 *eb = g_new (guint16, s->n_edges);
      g_autofree guint *order = g_new (guint, s->n_edges);

      for (guint e = 0; e < s->n_edges; e++)
        eb[e] = value_bin (s->edge_d[e], vmin, vmax, s->opts->scale);
      order_by_bin (eb, s->n_edges, order, count);
      for (guint b = 0, start = 0; b < BIN_SKIP; start = count[b], b++)
        {
          if (count[b] == start)
            continue;
          cairo_new_path (cr);
          for (guint i = start; i < count[b]; i++)
            {
              guint e = order[i];
              double xa, ya, xb, yb, ux, uy, px, py, mx, my, hd, he;

              som_grid_get_position (layout->grid, s->edge_a[e], &xa, &ya);
              som_grid_get_position (layout->grid, s->edge_b[e], &xb, &yb);
              ux = xb - xa;
              uy = yb - ya;
              px = -uy;
              py = ux;
              mx = layout->x0 + (xa + xb) / 2 * sc;
              my = layout->y0 + (ya + yb) / 2 * sc;
              hd = half_depth * sc + grow;
              he = half_edge * sc + grow;
              cairo_move_to (cr, mx - ux * hd + px * he, my - uy * hd + py * he);
              cairo_line_to (cr, mx + ux * hd + px * he, my + uy * hd + py * he);
              cairo_line_to (cr, mx + ux * hd - px * he, my + uy * hd - py * he);
              cairo_line_to (cr, mx - ux * hd - px * he, my - uy * hd - py * he);
              cairo_close_path (cr);
            }
          set_bin_rgb (cr, b, s->cmap, s->pal.empty);
          cairo_fill (cr);
        }
    }
}

static void
draw_marker_cells (cairo_t            *cr,
                   const ViewState    *s,
                   const SomMapLayout *layout,
                   const float        *counts,
                   const gint32       *icounts,
                   double              max_count,
                   const double        marker_rgb[3])
{
  guint n = s->n_units;

  /* The lattice in the empty colour, cells separated by thin lines. */
  cairo_save (cr);
  cairo_new_path (cr);
  for (guint k = 0; k < n; k++)
    append_cell (cr, layout, k, 0, 1);
  set_rgb (cr, s->pal.empty);
  cairo_fill_preserve (cr);
  set_rgb (cr, s->pal.outline);
  cairo_set_line_width (cr, MIN (0.5, layout->scale * 0.06));
  cairo_stroke (cr);

  cairo_new_path (cr);
  for (guint k = 0; k < n; k++)
    {
      double c = counts ? counts[k] : icounts[k];
      double f = marker_fraction (c, max_count);

      if (f > 0)
        append_cell (cr, layout, k, 0, f);
    }
  set_rgb (cr, marker_rgb);
  cairo_fill (cr);
  cairo_restore (cr);
}

static void
draw_class_cells (cairo_t *cr, const ViewState *s, const SomMapLayout *layout)
{
  g_autofree double *rgb = g_new (double, 3 * s->n_units);

  for (guint k = 0; k < s->n_units; k++)
    {
      double c[3], a = s->purity[k];

      if (s->majority[k] < 0)
        {
          memcpy (rgb + 3 * k, s->pal.empty, sizeof c);
          continue;
        }
      /* Purity as opacity, composited here so cells stay opaque and their
       * seam overlap cannot double-paint. */
      som_palette_rgb (s->majority[k], c);
      for (int i = 0; i < 3; i++)
        rgb[3 * k + i] = a * c[i] + (1 - a) * s->pal.empty[i];
    }
  fill_cells_rgb (cr, layout, rgb);
}

static void
draw_map_cells (cairo_t            *cr,
                const ViewState    *s,
                const SomMapLayout *layout,
                double              vmin,
                double              vmax,
                double              max_count)
{
  const SomMapData *d = s->data;

  cairo_save (cr);
  if (s->opts->crisp)
    cairo_set_antialias (cr, CAIRO_ANTIALIAS_NONE);

  switch (s->view)
    {
    case SOM_VIEW_CLASSES:
      draw_class_cells (cr, s, layout);
      break;
    case SOM_VIEW_HITS:
      if (s->hits_style == SOM_HITS_MARKERS)
        draw_marker_cells (cr, s, layout, s->values, NULL, max_count, s->pal.marker);
      else
        draw_scalar_cells (cr, s, layout, s->values, vmin, vmax);
      break;
    default:
      draw_scalar_cells (cr, s, layout, s->values, vmin, vmax);
      break;
    }
  cairo_restore (cr);
  if (s->view == SOM_VIEW_RESPONSE && d->response_bmu >= 0 && (guint) d->response_bmu < s->n_units)
    mark_unit (cr, layout, d->response_bmu, MAX (0.8, MIN (1.5, layout->scale * 0.12)));
  if (s->opts->marked_unit >= 0 && (guint) s->opts->marked_unit < s->n_units)
    mark_unit (cr, layout, s->opts->marked_unit, MAX (0.6, MIN (1.2, layout->scale * 0.1)));
}

/* ------------------------------------------------ single view */

static void
resolved_range (const ViewState *s, double *vmin, double *vmax)
{
  *vmin = isfinite (s->opts->vmin) ? s->opts->vmin : s->vmin;
  *vmax = isfinite (s->opts->vmax) ? s->opts->vmax : s->vmax;
  if (s->opts->scale == SOM_SCALE_LOG)
    {
      /* A log scale starts at the smallest positive value. */
      if (!(*vmin > 0))
        *vmin = s->min_positive;
      if (!(*vmax >= *vmin))
        *vmax = *vmin;
    }
  else if (s->opts->scale == SOM_SCALE_SQRT)
    *vmin = MAX (*vmin, 0);
}

static gboolean
is_count_view (const ViewState *s)
{
  return s->view == SOM_VIEW_HITS || s->view == SOM_VIEW_CLASS_HITS;
}

/* The side column: colour bar, class legend or marker key. */
static double
side_width (cairo_t *cr, const ViewState *s, double cell_guess)
{
  double vmin, vmax;

  resolved_range (s, &vmin, &vmax);
  if (s->view == SOM_VIEW_CLASSES)
    return class_legend_width (cr, s);
  if (view_uses_colorbar (s))
    return colorbar_width (cr, s->opts, vmin, vmax, is_count_view (s), s->units);
  return marker_key_width (cr, s->opts, s->max_count, cell_guess);
}

static double
title_height (cairo_t *cr, const SomRenderOptions *o)
{
  double h;

  if (o->title == NULL || *o->title == '\0')
    return 0;
  text_extent (cr, o->title, title_size (o), TEXT_BOLD, NULL, &h);
  return h + 3;
}

/* A scratch context for measuring text when none is given. */
static cairo_t *
measure_context (void)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create (surface);

  cairo_surface_destroy (surface);
  return cr;
}

static const double MARKER_KEY_CELL = 10;
/* A shared colour bar is never shorter than this (points). */
static const double SHARED_BAR_MIN = 72;

static void
single_layout (cairo_t *cr, const ViewState *s, double width, double height,
               SomMapLayout *layout, double *side_x)
{
  double th = title_height (cr, s->opts);
  double sw = side_width (cr, s, MARKER_KEY_CELL);
  double bx = MARGIN, by = MARGIN + th;
  double bw = width - 2 * MARGIN - sw - GAP, bh = height - 2 * MARGIN - th;
  double mx, my, mw, mh;

  fit_layout (s->data->grid, bx, by, bw, bh, layout);
  layout_bounds (layout, &mx, &my, &mw, &mh);
  /* Keep the side column next to the map, not at the far edge. */
  *side_x = mx + mw + GAP;
}

static double
natural_height_single (cairo_t *cr, const ViewState *s, double width)
{
  double th = title_height (cr, s->opts);
  double sw = side_width (cr, s, MARKER_KEY_CELL);
  double mw = width - 2 * MARGIN - sw - GAP;
  double h = MAX (mw, 1) * grid_aspect (s->data->grid) + 2 * MARGIN + th;

  if (s->view == SOM_VIEW_CLASSES)
    h = MAX (h, class_legend_height (cr, s->data, s->opts) + 2 * MARGIN + th);
  else
    h = MAX (h, 60 + 2 * MARGIN + th);
  return ceil (h);
}

double
som_render_natural_height (SomView                 view,
                           const SomMapData       *data,
                           const SomRenderOptions *options,
                           double                  width)
{
  ViewState s;
  cairo_t *cr = measure_context ();
  double h;

  if (!som_render_check (view, data, options, NULL))
    {
      cairo_destroy (cr);
      return width * grid_aspect (data->grid);
    }
  view_state_init (&s, view, data, options);
  h = view == SOM_VIEW_CLASS_HITS
      ? som_render_multiples_natural_height (view, data, 1, options, width)
      : natural_height_single (cr, &s, width);
  view_state_clear (&s);
  cairo_destroy (cr);
  return h;
}

gboolean
som_render_view_layout (double                  width,
                        double                  height,
                        SomView                 view,
                        const SomMapData       *data,
                        const SomRenderOptions *options,
                        SomMapLayout           *layout)
{
  ViewState s;
  cairo_t *cr;
  double side_x;

  g_return_val_if_fail (data != NULL && options != NULL && layout != NULL, FALSE);

  /* e.g. the response view before an input is chosen: no values to lay out */
  if (!som_render_check (view, data, options, NULL))
    return FALSE;
  cr = measure_context ();
  view_state_init (&s, view, data, options);
  single_layout (cr, &s, width, height, layout, &side_x);
  view_state_clear (&s);
  cairo_destroy (cr);
  return TRUE;
}

/* Left of the side column, below the title: a zoomed map stays in it. */
static void
map_room (cairo_t *cr, const SomRenderOptions *o, double height, double side_x, double *x, double *y,
          double *w, double *h)
{
  *x = 0;
  *y = MARGIN + title_height (cr, o);
  *w = MAX (side_x - GAP / 2, 0);
  *h = MAX (height - *y, 0);
}

gboolean
som_render_view_map_room (double                  width,
                          double                  height,
                          SomView                 view,
                          const SomMapData       *data,
                          const SomRenderOptions *options,
                          double                 *x,
                          double                 *y,
                          double                 *w,
                          double                 *h)
{
  ViewState s;
  SomMapLayout layout;
  cairo_t *cr;
  double side_x;

  g_return_val_if_fail (data != NULL && options != NULL, FALSE);

  if (!som_render_check (view, data, options, NULL))
    return FALSE;
  cr = measure_context ();
  view_state_init (&s, view, data, options);
  single_layout (cr, &s, width, height, &layout, &side_x);
  map_room (cr, options, height, side_x, x, y, w, h);
  view_state_clear (&s);
  cairo_destroy (cr);
  return TRUE;
}

static void
paint_background (cairo_t *cr, const Palette *pal, double width, double height)
{
  cairo_save (cr);
  cairo_rectangle (cr, 0, 0, width, height);
  set_rgb (cr, pal->bg);
  cairo_fill (cr);
  cairo_restore (cr);
}

static void
draw_title (cairo_t *cr, const SomRenderOptions *o, const Palette *pal, double width)
{
  if (o->title != NULL && *o->title != '\0')
    draw_text (cr, o->title, width / 2, MARGIN, 0.5, 0, 0, title_size (o), TEXT_BOLD, pal->fg);
}

/* A page must have a finite, positive size. */
static gboolean
check_page (double width, double height, GError **error)
{
  if (width > 0 && height > 0 && isfinite (width) && isfinite (height))
    return TRUE;
  g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "cannot draw on a %g × %g pt page", width,
               height);
  return FALSE;
}

static gboolean render_class_hits (cairo_t *cr, double width, double height,
                                   const SomMapData *data, const SomRenderOptions *o);

gboolean
som_render_view (cairo_t                *cr,
                 double                  width,
                 double                  height,
                 SomView                 view,
                 const SomMapData       *data,
                 const SomRenderOptions *options,
                 GError                **error)
{
  ViewState s;
  SomMapLayout layout;
  double side_x, mx, my, mw, mh, vmin, vmax;

  g_return_val_if_fail (cr != NULL && data != NULL && options != NULL, FALSE);

  if (!check_page (width, height, error) || !som_render_check (view, data, options, error))
    return FALSE;
  if (view == SOM_VIEW_CLASS_HITS)
    return render_class_hits (cr, width, height, data, options);

  view_state_init (&s, view, data, options);
  cairo_save (cr);
  paint_background (cr, &s.pal, width, height);
  draw_title (cr, options, &s.pal, width);
  single_layout (cr, &s, width, height, &layout, &side_x);
  layout_bounds (&layout, &mx, &my, &mw, &mh);
  resolved_range (&s, &vmin, &vmax);
  if ((options->zoom > 0 && options->zoom != 1) || options->pan_x != 0 || options->pan_y != 0)
    {
      /* Magnified, the map keeps to its room: left of the side column,
       * below the title. */
      SomMapLayout cells = layout;
      double zoom = options->zoom > 0 ? options->zoom : 1, rx, ry, rw, rh;

      cells.x0 = options->pan_x + zoom * layout.x0;
      cells.y0 = options->pan_y + zoom * layout.y0;
      cells.scale = zoom * layout.scale;
      cairo_save (cr);
      map_room (cr, options, height, side_x, &rx, &ry, &rw, &rh);
      cairo_rectangle (cr, rx, ry, rw, rh);
      cairo_clip (cr);
      draw_map_cells (cr, &s, &cells, vmin, vmax, s.max_count);
      cairo_restore (cr);
    }
  else
    draw_map_cells (cr, &s, &layout, vmin, vmax, s.max_count);

  if (s.view == SOM_VIEW_CLASSES)
    {
      /* Beside the map's top, unless the legend is taller than the map:
       * then as high as it must be to end inside the page. */
      double lh = class_legend_height (cr, data, options);
      double ly = MIN (my, height - MARGIN - lh);

      draw_class_legend (cr, &s, side_x, MAX (ly, MARGIN + title_height (cr, options)));
    }
  else if (view_uses_colorbar (&s))
    draw_colorbar (cr, side_x, my, mh, s.cmap, vmin, vmax, is_count_view (&s), s.units, options);
  else
    draw_marker_key (cr, options, &s.pal, s.pal.marker, s.max_count, MARKER_KEY_CELL,
                     is_hex (data->grid), side_x, my);
  cairo_restore (cr);
  view_state_clear (&s);
  return TRUE;
}

/* ------------------------------------------------ small multiples */

typedef struct
{
  guint  cols;
  guint  rows;
  double cell_w;   /* panel cell, including its title and any own colour bar */
  double cell_h;
  double top;      /* below the figure title */
  double left;
  double side_w;   /* shared side column (colour bar, legend, key) */
} Grid2;

static double
panel_title_height (cairo_t *cr, const SomRenderOptions *o)
{
  double h;

  text_extent (cr, "Ag", tick_size (o), TEXT_REGULAR, NULL, &h);
  return h + 1.5;
}

/* Panel content aspect: map height / map width. */
static void
choose_grid (guint n, double avail_w, double avail_h, double aspect, double extra_w,
             double extra_h, Grid2 *g)
{
  double best = -INFINITY;

  /* Tiny pages leave every layout negative; the best of them still wins. */
  g->cols = 1;
  g->rows = n;
  for (guint cols = 1; cols <= n; cols++)
    {
      guint rows = (n + cols - 1) / cols;
      double cw = avail_w / cols, ch = avail_h / rows;
      double mw = MIN (cw - extra_w, (ch - extra_h) / aspect);

      if (mw > best + 1e-9)
        {
          best = mw;
          g->cols = cols;
          g->rows = rows;
        }
    }
  g->cell_w = avail_w / g->cols;
  g->cell_h = avail_h / g->rows;
}

/* For natural heights: the column count a typical page wants. */
static guint
natural_cols (guint n)
{
  static const guint table[] = { 1, 1, 2, 3, 4, 3, 3, 4, 4, 5, 5, 4, 4 };

  if (n < G_N_ELEMENTS (table))
    return table[n];
  return (guint) ceil (sqrt (n * 1.5));
}

typedef struct
{
  const SomMapData       *layers;
  guint                   n;
  SomView                 view;
  const SomRenderOptions *o;
  ViewState              *states;
  gboolean                shared;
  double                  vmin;  /* shared range */
  double                  vmax;
  double                  max_count;
  double                  own_bar_w; /* per-panel colour bar width (0 when shared) */
  double                  side_w;
  gboolean                hex;
} Multi;

static void
multi_init (cairo_t *cr, Multi *m, SomView view, const SomMapData *layers, guint n,
            const SomRenderOptions *o)
{
  memset (m, 0, sizeof *m);
  m->layers = layers;
  m->n = n;
  m->view = view;
  m->o = o;
  m->states = g_new0 (ViewState, n);
  m->vmin = INFINITY;
  m->vmax = -INFINITY;
  m->hex = is_hex (layers[0].grid);
  for (guint i = 0; i < n; i++)
    {
      double lo, hi;

      view_state_init (&m->states[i], view, &layers[i], o);
      resolved_range (&m->states[i], &lo, &hi);
      m->vmin = MIN (m->vmin, lo);
      m->vmax = MAX (m->vmax, hi);
      m->max_count = MAX (m->max_count, m->states[i].max_count);
    }
  /* Markers and class maps always share their scale (the key, the legend). */
  m->shared = o->shared_scale || view == SOM_VIEW_CLASSES || !view_uses_colorbar (&m->states[0]);
  if (view == SOM_VIEW_CLASSES)
    m->side_w = class_legend_width (cr, &m->states[0]);
  else if (!view_uses_colorbar (&m->states[0]))
    m->side_w = marker_key_width (cr, o, m->max_count, MARKER_KEY_CELL);
  else if (m->shared)
    m->side_w = colorbar_width (cr, o, m->vmin, m->vmax, is_count_view (&m->states[0]),
                                m->states[0].units);
  else
    {
      /* Each panel gets its own bar, without the units label (said once in
       * the side column is not possible without a shared bar, so it is
       * dropped: the view's title says what is shown). */
      for (guint i = 0; i < n; i++)
        {
          double lo, hi;

          resolved_range (&m->states[i], &lo, &hi);
          m->own_bar_w = MAX (m->own_bar_w,
                              colorbar_width (cr, o, lo, hi, is_count_view (&m->states[i]), NULL));
        }
    }
}

static void
multi_clear (Multi *m)
{
  for (guint i = 0; i < m->n; i++)
    view_state_clear (&m->states[i]);
  g_free (m->states);
}

static void
multi_grid (cairo_t *cr, Multi *m, double width, double height, gboolean natural, Grid2 *g)
{
  double th = title_height (cr, m->o), pth = panel_title_height (cr, m->o);
  double extra_w = m->own_bar_w > 0 ? m->own_bar_w + 3 : 0;
  double avail_w = width - 2 * MARGIN - (m->side_w > 0 ? m->side_w + GAP : 0);
  double aspect = grid_aspect (m->layers[0].grid);
  const double pad = 4;

  g->top = MARGIN + th;
  g->left = MARGIN;
  g->side_w = m->side_w;
  if (natural)
    {
      g->cols = natural_cols (m->n);
      g->rows = (m->n + g->cols - 1) / g->cols;
      g->cell_w = avail_w / g->cols;
      g->cell_h = (g->cell_w - extra_w - pad) * aspect + pth + pad;
    }
  else
    choose_grid (m->n, avail_w, height - g->top - MARGIN, aspect, extra_w + pad, pth + pad, g);
}

static void multi_panel_layout (const Multi *m, const Grid2 *g, double pth, guint i,
                                SomMapLayout *layout);

void
som_render_multiples_layout (double                  width,
                             double                  height,
                             SomView                 view,
                             const SomMapData       *layers,
                             guint                   n_layers,
                             const SomRenderOptions *options,
                             guint                   panel,
                             SomMapLayout           *layout)
{
  cairo_t *cr;
  Multi m;
  Grid2 g = { 0 };

  g_return_if_fail (layers != NULL && panel < n_layers && layout != NULL);

  memset (layout, 0, sizeof *layout);
  for (guint i = 0; i < n_layers; i++)
    if (!som_render_check (view, &layers[i], options, NULL))
      return;
  cr = measure_context ();
  multi_init (cr, &m, view, layers, n_layers, options);
  multi_grid (cr, &m, width, height, FALSE, &g);
  multi_panel_layout (&m, &g, panel_title_height (cr, options), panel, layout);
  multi_clear (&m);
  cairo_destroy (cr);
}

/* Class hits: one panel per class, hit counts of that class only, markers in
 * the class colour (or heat), one shared scale. */
typedef struct
{
  SomMapData       *panels;
  const char      **titles;
  double           *colors;  /* 3 per class */
  GPtrArray        *owned;
  SomRenderOptions  options;
} ClassPanels;

static void
class_panels_init (ClassPanels *cp, const SomMapData *data, const SomRenderOptions *o)
{
  guint K = data->n_classes, n = som_grid_get_n_units (data->grid);

  cp->panels = g_new0 (SomMapData, K);
  cp->titles = g_new0 (const char *, K);
  cp->colors = g_new (double, 3 * (gsize) K);
  cp->owned = g_ptr_array_new_with_free_func (g_free);
  for (guint j = 0; j < K; j++)
    {
      cp->panels[j] = *data;
      cp->panels[j].hits = data->class_hits + (gsize) j * n;
      cp->panels[j].class_hits = NULL;
      cp->panels[j].n_classes = 0;
      if (data->class_names != NULL)
        cp->titles[j] = data->class_names[j];
      else
        {
          char *t = g_strdup_printf ("class %u", j);
          g_ptr_array_add (cp->owned, t);
          cp->titles[j] = t;
        }
      som_palette_rgb (j, cp->colors + 3 * j);
    }
  cp->options = *o;
  if (!cp->options.hits_style_set)
    {
      cp->options.hits_style = SOM_HITS_MARKERS;
      cp->options.hits_style_set = TRUE;
    }
  cp->options.shared_scale = TRUE;
}

static void
class_panels_clear (ClassPanels *cp)
{
  g_free (cp->panels);
  g_free (cp->titles);
  g_free (cp->colors);
  g_ptr_array_unref (cp->owned);
}

double
som_render_multiples_natural_height (SomView                 view,
                                     const SomMapData       *layers,
                                     guint                   n_layers,
                                     const SomRenderOptions *options,
                                     double                  width)
{
  cairo_t *cr = measure_context ();
  Multi m;
  Grid2 g = { 0 };
  double h;

  ClassPanels cp = { 0 };

  if (n_layers == 0 || (view == SOM_VIEW_CLASS_HITS && layers[0].n_classes == 0))
    {
      cairo_destroy (cr);
      return width;
    }
  /* A layer without what the view needs is an error when drawn; its size
   * here is only a guess, and no values may be read. */
  for (guint i = 0; i < n_layers; i++)
    if (!som_render_check (view, &layers[i], options, NULL))
      {
        cairo_destroy (cr);
        return width;
      }
  if (view == SOM_VIEW_CLASS_HITS)
    {
      /* One panel per class of the (first) map. */
      class_panels_init (&cp, &layers[0], options);
      multi_init (cr, &m, SOM_VIEW_HITS, cp.panels, layers[0].n_classes, &cp.options);
    }
  else
    multi_init (cr, &m, view, layers, n_layers, options);
  multi_grid (cr, &m, width, 0, TRUE, &g);
  h = g.top + g.rows * g.cell_h + MARGIN;
  if (m.shared && view_uses_colorbar (&m.states[0]))
    h = MAX (h, g.top + panel_title_height (cr, options) + SHARED_BAR_MIN + MARGIN);
  if (view == SOM_VIEW_CLASSES)
    h = MAX (h, g.top + class_legend_height (cr, layers, options) + MARGIN);
  multi_clear (&m);
  if (cp.panels != NULL)
    class_panels_clear (&cp);
  cairo_destroy (cr);
  return ceil (h);
}

/* Where panel @i's map lands: the arithmetic draw_multi() draws with. */
static void
multi_panel_layout (const Multi *m, const Grid2 *g, double pth, guint i, SomMapLayout *layout)
{
  double extra_w = m->own_bar_w > 0 ? m->own_bar_w + 3 : 0;
  guint r = i / g->cols, c = i % g->cols;
  double cx = g->left + c * g->cell_w, cy = g->top + r * g->cell_h;

  fit_layout (m->layers[i].grid, cx + 2, cy + pth, g->cell_w - 4 - extra_w, g->cell_h - pth - 4,
              layout);
}

static void
draw_multi (cairo_t *cr, Multi *m, double width, double height, const char * const *panel_titles,
            const double *marker_rgb /* 3 per panel, or NULL */)
{
  Grid2 g = { 0 };
  double pth = panel_title_height (cr, m->o), side_top = -1, side_bottom = 0;
  double key_cell = MARKER_KEY_CELL;
  Palette pal;

  theme_palette (m->o->theme, &pal);
  multi_grid (cr, m, width, height, FALSE, &g);
  for (guint i = 0; i < m->n; i++)
    {
      ViewState *s = &m->states[i];
      double mx, my, mw, mh, lo, hi;
      SomMapLayout layout;
      const char *title = panel_titles ? panel_titles[i] : m->layers[i].name;

      multi_panel_layout (m, &g, pth, i, &layout);
      layout_bounds (&layout, &mx, &my, &mw, &mh);
      if (title != NULL)
        {
          g_autofree char *fallback = NULL;
          double tw;

          /* Long layer names are ellipsized to the panel, not clipped: at
           * their start, as the end of a module path tells the layers apart
           * ("…1.0/relu1", "…2.0/relu1"; in the middle both read "layer… relu1"). */
          text_extent (cr, title, tick_size (m->o), TEXT_REGULAR, &tw, NULL);
          if (tw > g.cell_w - 2)
            {
              PangoLayout *pl = text_layout (cr, title, tick_size (m->o), TEXT_REGULAR);
              PangoRectangle lr;

              pango_layout_set_width (pl, (int) ((g.cell_w - 2) * PANGO_SCALE));
              pango_layout_set_ellipsize (pl, PANGO_ELLIPSIZE_START);
              pango_layout_get_extents (pl, NULL, &lr);
              cairo_save (cr);
              cairo_move_to (cr, mx + mw / 2 - lr.width / 2.0 / PANGO_SCALE - lr.x / (double) PANGO_SCALE,
                             my - pth);
              set_rgb (cr, pal.fg);
              pango_cairo_show_layout (cr, pl);
              cairo_new_path (cr);
              cairo_restore (cr);
              g_object_unref (pl);
            }
          else
            draw_text (cr, title, mx + mw / 2, my - pth, 0.5, 0, 0, tick_size (m->o), TEXT_REGULAR,
                       pal.fg);
        }
      if (m->shared)
        {
          lo = m->vmin;
          hi = m->vmax;
        }
      else
        resolved_range (s, &lo, &hi);
      if (s->view == SOM_VIEW_HITS && s->hits_style == SOM_HITS_MARKERS)
        {
          cairo_save (cr);
          if (m->o->crisp)
            cairo_set_antialias (cr, CAIRO_ANTIALIAS_NONE);
          draw_marker_cells (cr, s, &layout, s->values, NULL, m->max_count,
                             marker_rgb ? marker_rgb + 3 * i : pal.marker);
          cairo_restore (cr);
        }
      else
        draw_map_cells (cr, s, &layout, lo, hi, m->max_count);
      if (!m->shared)
        draw_colorbar (cr, mx + mw + 3, my, mh, s->cmap, lo, hi, is_count_view (s), NULL, m->o);
      if (side_top < 0)
        {
          side_top = my;
          key_cell = MIN (MARKER_KEY_CELL, layout.scale);
        }
      side_bottom = MAX (side_bottom, my + mh);
    }
  if (m->side_w > 0)
    {
      double sx = width - MARGIN - m->side_w;
      ViewState *s0 = &m->states[0];

      if (m->view == SOM_VIEW_CLASSES)
        draw_class_legend (cr, s0, sx, side_top);
      else if (!view_uses_colorbar (s0))
        draw_marker_key (cr, m->o, &pal, pal.marker, m->max_count, key_cell, m->hex, sx,
                         side_top);
      else
        draw_colorbar (cr, sx, side_top,
                       MAX (side_bottom - side_top, MIN (SHARED_BAR_MIN, height - side_top - MARGIN)),
                       s0->cmap, m->vmin, m->vmax, is_count_view (s0), s0->units, m->o);
    }
}

gboolean
som_render_multiples (cairo_t                *cr,
                      double                  width,
                      double                  height,
                      SomView                 view,
                      const SomMapData       *layers,
                      guint                   n_layers,
                      const SomRenderOptions *options,
                      GError                **error)
{
  Multi m;
  Palette pal;

  g_return_val_if_fail (cr != NULL && layers != NULL && options != NULL, FALSE);

  if (!check_page (width, height, error))
    return FALSE;
  if (n_layers == 0)
    {
      g_set_error_literal (error, SOM_ERROR, SOM_ERROR_INVALID, "no layers to draw");
      return FALSE;
    }
  if (view == SOM_VIEW_CLASS_HITS)
    {
      g_set_error_literal (error, SOM_ERROR, SOM_ERROR_INVALID,
                           "class hits are already small multiples (one panel per class); "
                           "draw them one layer at a time");
      return FALSE;
    }
  for (guint i = 0; i < n_layers; i++)
    if (!som_render_check (view, &layers[i], options, error))
      return FALSE;

  theme_palette (options->theme, &pal);
  cairo_save (cr);
  paint_background (cr, &pal, width, height);
  draw_title (cr, options, &pal, width);
  multi_init (cr, &m, view, layers, n_layers, options);
  draw_multi (cr, &m, width, height, NULL, NULL);
  multi_clear (&m);
  cairo_restore (cr);
  return TRUE;
}

static gboolean
render_class_hits (cairo_t *cr, double width, double height, const SomMapData *data,
                   const SomRenderOptions *o)
{
  ClassPanels cp;
  Palette pal;
  Multi m;

  class_panels_init (&cp, data, o);
  theme_palette (o->theme, &pal);
  cairo_save (cr);
  paint_background (cr, &pal, width, height);
  draw_title (cr, o, &pal, width);
  multi_init (cr, &m, SOM_VIEW_HITS, cp.panels, data->n_classes, &cp.options);
  draw_multi (cr, &m, width, height, cp.titles, cp.colors);
  multi_clear (&m);
  cairo_restore (cr);
  class_panels_clear (&cp);
  return TRUE;
}

/* ------------------------------------------------------- charts */

typedef struct
{
  double x;  /* plot area */
  double y;
  double w;
  double h;
  double xmin;
  double xmax;
  double ymin;
  double ymax;
} Axes;

static double
axes_px (const Axes *a, double v)
{
  return a->x + (a->xmax > a->xmin ? (v - a->xmin) / (a->xmax - a->xmin) : 0.5) * a->w;
}

static double
axes_py (const Axes *a, double v)
{
  return a->y + a->h - (a->ymax > a->ymin ? (v - a->ymin) / (a->ymax - a->ymin) : 0.5) * a->h;
}

/* Frame, y ticks with labels and grid lines, x ticks at every layer (labels
 * thinned to fit), axis titles.  Returns the y tick label width used. */
static void
draw_axes (cairo_t *cr, const Axes *a, const SomRenderOptions *o, const Palette *pal,
           guint n_layers, const char * const *layer_names, const char *xlabel,
           const char *ylabel)
{
  double ticks[16], tw, lh;
  guint n;
  int dec;
  guint every = 1;

  cairo_save (cr);
  cairo_set_line_width (cr, 0.5);
  n = som_render_nice_ticks (a->ymin, a->ymax, 5, ticks, &dec);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *s = format_tick (ticks[i], dec);
      double y = axes_py (a, ticks[i]);

      cairo_move_to (cr, a->x, y);
      cairo_line_to (cr, a->x + a->w, y);
      cairo_set_source_rgba (cr, pal->muted[0], pal->muted[1], pal->muted[2], 0.3);
      cairo_stroke (cr);
      cairo_move_to (cr, a->x - TICK_LENGTH, y);
      cairo_line_to (cr, a->x, y);
      set_rgb (cr, pal->fg);
      cairo_stroke (cr);
      draw_text (cr, s, a->x - TICK_LENGTH - 1.5, y, 1, 0.5, 0, tick_size (o), TEXT_REGULAR, pal->fg);
    }
  /* x: thin the labels so they do not collide. */
  text_extent (cr, "000", tick_size (o), TEXT_REGULAR, &tw, &lh);
  if (layer_names != NULL)
    for (guint i = 0; i < n_layers; i++)
      {
        double w;

        text_extent (cr, layer_names[i], tick_size (o), TEXT_REGULAR, &w, NULL);
        tw = MAX (tw, w);
      }
  if (n_layers > 1)
    while (every < n_layers && (a->w / (n_layers - 1)) * every < tw + 3)
      every++;
  for (guint i = 0; i < n_layers; i++)
    {
      double x = axes_px (a, i);

      cairo_move_to (cr, x, a->y + a->h);
      cairo_line_to (cr, x, a->y + a->h + TICK_LENGTH);
      set_rgb (cr, pal->fg);
      cairo_stroke (cr);
      if (i % every == 0)
        {
          g_autofree char *s = g_strdup_printf ("%u", i);

          draw_text (cr, layer_names ? layer_names[i] : s, x, a->y + a->h + TICK_LENGTH + 1, 0.5, 0,
                     0, tick_size (o), TEXT_REGULAR, pal->fg);
        }
    }
  cairo_rectangle (cr, a->x, a->y, a->w, a->h);
  set_rgb (cr, pal->fg);
  cairo_stroke (cr);
  if (xlabel)
    draw_text (cr, xlabel, a->x + a->w / 2, a->y + a->h + TICK_LENGTH + 2 + lh, 0.5, 0, 0,
               label_size (o), TEXT_REGULAR, pal->fg);
  if (ylabel)
    draw_text (cr, ylabel, MARGIN, a->y + a->h / 2, 0.5, 0, -G_PI / 2, label_size (o),
               TEXT_REGULAR, pal->fg);
  cairo_restore (cr);
}

static void
series_range (const double *v, const double *err, guint n, double *lo, double *hi)
{
  for (guint i = 0; v != NULL && i < n; i++)
    {
      double e = err && isfinite (err[i]) ? fabs (err[i]) : 0;

      if (!isfinite (v[i]))
        continue;
      *lo = MIN (*lo, v[i] - e);
      *hi = MAX (*hi, v[i] + e);
    }
}

static void
draw_series (cairo_t *cr, const Axes *a, const double *v, const double *err, guint n,
             const double rgb[3], gboolean dashed, gboolean square_markers)
{
  if (v == NULL)
    return;
  cairo_save (cr);
  if (err != NULL)
    {
      /* The band, one closed piece per run of finite values. */
      guint i = 0;

      while (i < n)
        {
          guint j;

          while (i < n && !(isfinite (v[i]) && isfinite (err[i])))
            i++;
          j = i;
          while (j < n && isfinite (v[j]) && isfinite (err[j]))
            j++;
          if (j > i)
            {
              for (guint k = i; k < j; k++)
                (k == i ? cairo_move_to : cairo_line_to) (cr, axes_px (a, k),
                                                          axes_py (a, v[k] + fabs (err[k])));
              for (guint k = j; k-- > i; )
                cairo_line_to (cr, axes_px (a, k), axes_py (a, v[k] - fabs (err[k])));
              cairo_close_path (cr);
              cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], 0.22);
              cairo_fill (cr);
            }
          i = j;
        }
    }
  cairo_new_path (cr);
  for (guint i = 0; i < n; i++)
    {
      if (!isfinite (v[i]))
        continue;
      if (i > 0 && isfinite (v[i - 1]))
        cairo_line_to (cr, axes_px (a, i), axes_py (a, v[i]));
      else
        cairo_move_to (cr, axes_px (a, i), axes_py (a, v[i]));
    }
  set_rgb (cr, rgb);
  cairo_set_line_width (cr, 1.2);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  if (dashed)
    {
      double d[] = { 3, 1.5 };
      cairo_set_dash (cr, d, 2, 0);
    }
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  for (guint i = 0; i < n; i++)
    {
      if (!isfinite (v[i]))
        continue;
      if (square_markers)
        cairo_rectangle (cr, axes_px (a, i) - 1.6, axes_py (a, v[i]) - 1.6, 3.2, 3.2);
      else
        cairo_arc (cr, axes_px (a, i), axes_py (a, v[i]), 1.8, 0, 2 * G_PI);
      cairo_fill (cr);
    }
  cairo_restore (cr);
}

/* Clean is Okabe-Ito blue, adversarial vermillion: distinct for every
 * common colour-vision deficiency, and also told apart by line and marker. */
static const double CLEAN_RGB[3] = { 0.0, 0.447, 0.698 };
static const double ADV_RGB[3] = { 0.835, 0.369, 0.0 };
static const double CLEAN_RGB_DARK[3] = { 0.337, 0.706, 0.914 };
static const double ADV_RGB_DARK[3] = { 0.902, 0.624, 0.0 };

static void
draw_series_legend (cairo_t *cr, const SomRenderOptions *o, const Palette *pal, double x_right,
                    double y, gboolean with_adv)
{
  const double *cc = o->theme == SOM_RENDER_THEME_DARK ? CLEAN_RGB_DARK : CLEAN_RGB;
  const double *ac = o->theme == SOM_RENDER_THEME_DARK ? ADV_RGB_DARK : ADV_RGB;
  const char *names[2] = { "clean", "adversarial" };
  double w[2], x = x_right;

  text_extent (cr, names[0], tick_size (o), TEXT_REGULAR, &w[0], NULL);
  text_extent (cr, names[1], tick_size (o), TEXT_REGULAR, &w[1], NULL);
  for (int i = with_adv ? 1 : 0; i >= 0; i--)
    {
      const double *rgb = i ? ac : cc;

      x -= w[i];
      draw_text (cr, names[i], x, y, 0, 0.5, 0, tick_size (o), TEXT_REGULAR, pal->fg);
      x -= 12;
      cairo_save (cr);
      set_rgb (cr, rgb);
      cairo_set_line_width (cr, 1.2);
      if (i)
        {
          double d[] = { 3, 1.5 };
          cairo_set_dash (cr, d, 2, 0);
        }
      cairo_move_to (cr, x, y);
      cairo_line_to (cr, x + 10, y);
      cairo_stroke (cr);
      cairo_restore (cr);
      x -= 6;
    }
}

static double
y_label_column (cairo_t *cr, const SomRenderOptions *o, double ymin, double ymax)
{
  double ticks[16], w = 0, tw, lh;
  guint n;
  int dec;

  n = som_render_nice_ticks (ymin, ymax, 5, ticks, &dec);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *s = format_tick (ticks[i], dec);

      text_extent (cr, s, tick_size (o), TEXT_REGULAR, &tw, NULL);
      w = MAX (w, tw);
    }
  text_extent (cr, "Ag", label_size (o), TEXT_REGULAR, NULL, &lh);
  return MARGIN + lh + 2 + w + 1.5 + TICK_LENGTH;
}

static void
pad_range (double *lo, double *hi, gboolean from_zero)
{
  if (!isfinite (*lo) || !isfinite (*hi))
    {
      *lo = 0;
      *hi = 1;
    }
  if (from_zero && *lo > 0)
    *lo = 0;
  if (*hi <= *lo)
    {
      *hi = *lo + 1;
      return;
    }
  *hi += 0.05 * (*hi - *lo);
}

gboolean
som_render_metric_chart (cairo_t                *cr,
                         double                  width,
                         double                  height,
                         guint                   n_layers,
                         const char * const     *layer_names,
                         const char             *metric,
                         const double           *clean,
                         const double           *clean_err,
                         const double           *adversarial,
                         const double           *adversarial_err,
                         const SomRenderOptions *o,
                         GError                **error)
{
  Palette pal;
  Axes a;
  double lo = INFINITY, hi = -INFINITY, th, lh, top;
  gboolean dark = o->theme == SOM_RENDER_THEME_DARK;

  if (!check_page (width, height, error))
    return FALSE;
  if (n_layers == 0 || clean == NULL)
    {
      g_set_error_literal (error, SOM_ERROR, SOM_ERROR_INVALID,
                           "the metric chart needs at least one layer's clean values");
      return FALSE;
    }
  theme_palette (o->theme, &pal);
  cairo_save (cr);
  paint_background (cr, &pal, width, height);
  draw_title (cr, o, &pal, width);
  th = title_height (cr, o);
  text_extent (cr, "Ag", label_size (o), TEXT_REGULAR, NULL, &lh);

  series_range (clean, clean_err, n_layers, &lo, &hi);
  series_range (adversarial, adversarial_err, n_layers, &lo, &hi);
  pad_range (&lo, &hi, lo >= 0);
  if (isfinite (o->vmin))
    lo = o->vmin;
  if (isfinite (o->vmax))
    hi = o->vmax;

  top = MARGIN + th + lh + 2; /* room for the series legend */
  a.x = y_label_column (cr, o, lo, hi);
  a.y = top;
  a.w = width - a.x - MARGIN - 4;
  a.h = height - top - MARGIN - 2 * lh - TICK_LENGTH - 4;
  a.xmin = -0.3;
  a.xmax = n_layers - 1 + 0.3;
  a.ymin = lo;
  a.ymax = hi;
  draw_axes (cr, &a, o, &pal, n_layers, layer_names, "layer (depth)", metric);
  draw_series (cr, &a, clean, clean_err, n_layers, dark ? CLEAN_RGB_DARK : CLEAN_RGB, FALSE, FALSE);
  draw_series (cr, &a, adversarial, adversarial_err, n_layers, dark ? ADV_RGB_DARK : ADV_RGB, TRUE,
               TRUE);
  draw_series_legend (cr, o, &pal, a.x + a.w, MARGIN + th + lh / 2, adversarial != NULL);
  cairo_restore (cr);
  return TRUE;
}

double
som_render_trajectory_natural_height (guint  n_layers,
                                      double width)
{
  guint cols = natural_cols (MAX (n_layers, 1));
  guint rows = (MAX (n_layers, 1) + cols - 1) / cols;
  double panel = (width - 2 * MARGIN) / cols;

  return ceil (MARGIN * 2 + 14 + rows * (panel * 0.95 + 10) + MAX (90, width * 0.38));
}

/* Where som_render_trajectory () puts its maps: a grid of panels, each a
 * layer's name over its map, between the title and marker legend and the
 * chart. */
static void
trajectory_grid (cairo_t                *cr,
                 double                  width,
                 double                  height,
                 const SomMapData       *layers,
                 guint                   n_layers,
                 const SomRenderOptions *o,
                 Grid2                  *g,
                 double                 *pth)
{
  double th = title_height (cr, o), lh, chart_h = MAX (90, MIN (height * 0.4, width * 0.38));
  double pw = width - 2 * MARGIN, ph;

  text_extent (cr, "Ag", label_size (o), TEXT_REGULAR, NULL, &lh);
  ph = height - th - chart_h - 2 * MARGIN - lh - 4;
  *pth = panel_title_height (cr, o);
  choose_grid (n_layers, pw, ph, grid_aspect (layers[0].grid), 4, *pth + 4, g);
  g->top = MARGIN + th + lh + 2;
  g->left = MARGIN;
}

int
som_render_trajectory_panel_at (double                  width,
                                double                  height,
                                const SomMapData       *layers,
                                guint                   n_layers,
                                const SomRenderOptions *options,
                                double                  x,
                                double                  y)
{
  cairo_t *cr;
  Grid2 g = { 0 };
  double pth, c, r;

  g_return_val_if_fail (options != NULL, -1);

  if (n_layers == 0 || layers == NULL || layers[0].grid == NULL || width <= 0 || height <= 0)
    return -1;
  cr = measure_context ();
  trajectory_grid (cr, width, height, layers, n_layers, options, &g, &pth);
  cairo_destroy (cr);
  c = floor ((x - g.left) / g.cell_w);
  r = floor ((y - g.top) / g.cell_h);
  if (c < 0 || c >= g.cols || r < 0 || r >= g.rows || r * g.cols + c >= n_layers)
    return -1;
  return (int) (r * g.cols + c);
}

gboolean
som_render_trajectory (cairo_t                *cr,
                       double                  width,
                       double                  height,
                       const SomMapData       *layers,
                       guint                   n_layers,
                       const int              *clean_bmus,
                       const int              *adv_bmus,
                       const double           *distances,
                       int                     divergence_layer,
                       const SomRenderOptions *o,
                       GError                **error)
{
  Palette pal;
  SomRenderOptions mo = *o;
  Multi m;
  Grid2 g = { 0 };
  Axes a;
  double th, lh, chart_h, lo = 0, hi = -INFINITY, pth;
  gboolean dark = o->theme == SOM_RENDER_THEME_DARK;
  const double *cc = dark ? CLEAN_RGB_DARK : CLEAN_RGB, *ac = dark ? ADV_RGB_DARK : ADV_RGB;
  g_autofree const char **names = g_new0 (const char *, n_layers + 1);
  g_autofree char **owned = g_new0 (char *, n_layers + 1);

  if (!check_page (width, height, error))
    return FALSE;
  if (n_layers == 0 || layers == NULL || clean_bmus == NULL || adv_bmus == NULL)
    {
      g_set_error_literal (error, SOM_ERROR, SOM_ERROR_INVALID,
                           "the trajectory view needs at least one layer and both inputs' BMUs");
      return FALSE;
    }
  for (guint i = 0; i < n_layers; i++)
    if (!som_render_check (SOM_VIEW_UMATRIX, &layers[i], o, error))
      return FALSE;

  theme_palette (o->theme, &pal);
  cairo_save (cr);
  paint_background (cr, &pal, width, height);
  draw_title (cr, o, &pal, width);
  th = title_height (cr, o);
  text_extent (cr, "Ag", label_size (o), TEXT_REGULAR, NULL, &lh);
  chart_h = MAX (90, MIN (height * 0.4, width * 0.38));

  /* Top: the maps, U-matrix in grey so the two markers stand out. */
  mo.colormap = SOM_COLORMAP_CIVIDIS;
  mo.colormap_set = TRUE;
  mo.shared_scale = FALSE;
  mo.title = NULL;
  mo.interstitial = FALSE;
  multi_init (cr, &m, SOM_VIEW_UMATRIX, layers, n_layers, &mo);
  m.own_bar_w = 0;     /* the maps are context; no per-panel bars */
  m.side_w = 0;
  m.shared = TRUE;
  trajectory_grid (cr, width, height, layers, n_layers, o, &g, &pth);
  for (guint i = 0; i < n_layers; i++)
    {
      ViewState *s = &m.states[i];
      guint r = i / g.cols, c = i % g.cols;
      double cx = g.left + c * g.cell_w, cy = g.top + r * g.cell_h, mx, my, mw, mh, lo_i, hi_i;
      SomMapLayout layout;
      g_autofree guint16 *bins = g_new (guint16, s->n_units);

      fit_layout (layers[i].grid, cx + 2, cy + pth, g.cell_w - 4, g.cell_h - pth - 4, &layout);
      layout_bounds (&layout, &mx, &my, &mw, &mh);
      resolved_range (s, &lo_i, &hi_i);
      /* Washed-out greys: the map is the stage, the BMUs the actors. */
      for (guint k = 0; k < s->n_units; k++)
        bins[k] = value_bin (s->values[k], lo_i, hi_i, SOM_SCALE_LINEAR);
      {
        g_autofree double *rgb = g_new (double, 3 * s->n_units);

        for (guint k = 0; k < s->n_units; k++)
          {
            double t = bins[k] >= SOM_COLORMAP_N_ENTRIES ? 0.5 : bins[k] / 255.0;
            double grey = dark ? 0.22 + 0.35 * t : 0.95 - 0.45 * t;

            rgb[3 * k] = rgb[3 * k + 1] = rgb[3 * k + 2] = grey;
          }
        fill_cells_rgb (cr, &layout, rgb);
      }
      if (layers[i].name)
        {
          PangoLayout *pl = text_layout (cr, layers[i].name, tick_size (o), TEXT_REGULAR);
          PangoRectangle lr;

          pango_layout_set_width (pl, (int) (MAX (g.cell_w - 2, 10) * PANGO_SCALE));
          pango_layout_set_ellipsize (pl, PANGO_ELLIPSIZE_START);
          pango_layout_set_alignment (pl, PANGO_ALIGN_CENTER);
          pango_layout_get_extents (pl, NULL, &lr);
          cairo_save (cr);
          cairo_move_to (cr, cx + 1, my - pth);
          set_rgb (cr, (int) i == divergence_layer ? ac : pal.fg);
          pango_cairo_show_layout (cr, pl);
          cairo_new_path (cr);
          cairo_restore (cr);
          g_object_unref (pl);
        }
      if ((int) i == divergence_layer)
        {
          cairo_save (cr);
          cairo_rectangle (cr, mx - 1, my - 1, mw + 2, mh + 2);
          set_rgb (cr, ac);
          cairo_set_line_width (cr, 1);
          cairo_stroke (cr);
          cairo_restore (cr);
        }
      /* Clean BMU: a ring; adversarial BMU: a cross.  Same unit: both. */
      {
        double r0 = MAX (layout.scale * 0.42, 2.2), x, y, w, h;

        if (clean_bmus[i] >= 0 && (guint) clean_bmus[i] < s->n_units)
          {
            som_map_layout_unit_rect (&layout, clean_bmus[i], &x, &y, &w, &h);
            cairo_save (cr);
            cairo_arc (cr, x + w / 2, y + h / 2, r0, 0, 2 * G_PI);
            set_rgb (cr, cc);
            cairo_set_line_width (cr, MAX (0.8, r0 * 0.35));
            cairo_stroke (cr);
            cairo_restore (cr);
          }
        if (adv_bmus[i] >= 0 && (guint) adv_bmus[i] < s->n_units)
          {
            double d = r0 * 0.8;

            som_map_layout_unit_rect (&layout, adv_bmus[i], &x, &y, &w, &h);
            cairo_save (cr);
            cairo_move_to (cr, x + w / 2 - d, y + h / 2 - d);
            cairo_line_to (cr, x + w / 2 + d, y + h / 2 + d);
            cairo_move_to (cr, x + w / 2 - d, y + h / 2 + d);
            cairo_line_to (cr, x + w / 2 + d, y + h / 2 - d);
            set_rgb (cr, ac);
            cairo_set_line_width (cr, MAX (0.8, r0 * 0.35));
            cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
            cairo_stroke (cr);
            cairo_restore (cr);
          }
      }
    }
  multi_clear (&m);

  /* Legend for the markers, top right. */
  {
    double x = width - MARGIN, y = MARGIN + th + lh / 2, w1, w2, r = 2.5;

    text_extent (cr, "adversarial BMU", tick_size (o), TEXT_REGULAR, &w2, NULL);
    text_extent (cr, "clean BMU", tick_size (o), TEXT_REGULAR, &w1, NULL);
    x -= w2;
    draw_text (cr, "adversarial BMU", x, y, 0, 0.5, 0, tick_size (o), TEXT_REGULAR, pal.fg);
    x -= 2 * r + 3;
    cairo_save (cr);
    set_rgb (cr, ac);
    cairo_set_line_width (cr, 1);
    cairo_move_to (cr, x, y - r);
    cairo_line_to (cr, x + 2 * r, y + r);
    cairo_move_to (cr, x, y + r);
    cairo_line_to (cr, x + 2 * r, y - r);
    cairo_stroke (cr);
    cairo_restore (cr);
    x -= 8 + w1;
    draw_text (cr, "clean BMU", x, y, 0, 0.5, 0, tick_size (o), TEXT_REGULAR, pal.fg);
    x -= r + 3;
    cairo_save (cr);
    set_rgb (cr, cc);
    cairo_set_line_width (cr, 1);
    cairo_arc (cr, x, y, r, 0, 2 * G_PI);
    cairo_stroke (cr);
    cairo_restore (cr);
  }

  /* Bottom: grid distance between the two BMUs per layer. */
  if (distances != NULL)
    {
      for (guint i = 0; i < n_layers; i++)
        {
          names[i] = layers[i].name;
          if (names[i] == NULL)
            names[i] = owned[i] = g_strdup_printf ("%u", i);
        }
      series_range (distances, NULL, n_layers, &lo, &hi);
      pad_range (&lo, &hi, TRUE);
      a.x = y_label_column (cr, o, lo, hi);
      a.y = height - MARGIN - chart_h + 4;
      a.w = width - a.x - MARGIN - 4;
      a.h = chart_h - 2 * lh - TICK_LENGTH - 8;
      a.xmin = -0.3;
      a.xmax = n_layers - 1 + 0.3;
      a.ymin = lo;
      a.ymax = hi;
      /* Short layer names on the axis would collide: index ticks instead. */
      draw_axes (cr, &a, o, &pal, n_layers, NULL, "layer (depth)", "BMU distance");
      if (divergence_layer >= 0 && (guint) divergence_layer < n_layers)
        {
          double x = axes_px (&a, divergence_layer), d[] = { 2, 2 };

          cairo_save (cr);
          set_rgb (cr, ac);
          cairo_set_line_width (cr, 0.8);
          cairo_set_dash (cr, d, 2, 0);
          cairo_move_to (cr, x, a.y);
          cairo_line_to (cr, x, a.y + a.h);
          cairo_stroke (cr);
          cairo_restore (cr);
          draw_text (cr, "diverges", x + 2, a.y + 1, 0, 0, 0, tick_size (o), TEXT_REGULAR, ac);
        }
      draw_series (cr, &a, distances, NULL, n_layers, pal.fg, FALSE, FALSE);
    }
  for (guint i = 0; i < n_layers; i++)
    g_free (owned[i]);
  cairo_restore (cr);
  return TRUE;
}
