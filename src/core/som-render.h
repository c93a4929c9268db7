/* som-render.h: Cairo + Pango renderers for every Somscope figure
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "som-colormap.h"
#include "som-grid.h"

G_BEGIN_DECLS

/* One set of renderers for the screen and for export: every function draws
 * into any cairo_t, in user units that are points (1/72 in), inside the
 * rectangle (0, 0, width, height).  The app's widgets call them in their
 * snapshot; the exporter calls them on PNG, SVG and PDF surfaces (PNG scales
 * the context by dpi/72 so text sizes stay in points).  Inputs are plain data:
 * a SomGrid and per-unit arrays, so nothing here depends on how a map was
 * trained or stored. */

typedef enum
{
  SOM_RENDER_THEME_LIGHT,
  SOM_RENDER_THEME_DARK,
} SomRenderTheme;

typedef enum
{
  SOM_VIEW_UMATRIX,    /* distance to neighbours, optionally interstitial */
  SOM_VIEW_HITS,       /* hit counts */
  SOM_VIEW_CLASS_HITS, /* hit counts per class, one small panel per class */
  SOM_VIEW_CLASSES,    /* majority class colour, purity as opacity */
  SOM_VIEW_COMPONENT,  /* codebook feature K */
  SOM_VIEW_RESPONSE,   /* distance of every unit to one input, BMU marked */
} SomView;

/* How values map to the colour scale: linearly, by their square root, or
 * by their logarithm (values ≤ 0 are then drawn as empty cells; for hit
 * counts that is "no hits"). */
typedef enum
{
  SOM_SCALE_LINEAR,
  SOM_SCALE_SQRT,
  SOM_SCALE_LOG,
} SomScale;

typedef enum
{
  SOM_HITS_HEAT,    /* cells coloured by count */
  SOM_HITS_MARKERS, /* markers whose area is proportional to the count */
} SomHitsStyle;

/* Everything one layer's map offers; NULL members are absent.  Arrays are
 * borrowed for the duration of the call, in unit order k = r·C + c. */
typedef struct
{
  const SomGrid       *grid;
  const char          *name;         /* layer name, for panel titles; may be NULL */
  const float         *umatrix;      /* R·C */
  const float         *codebook;     /* R·C·dim (interstitial U-matrix, component) */
  guint                dim;
  const gint32        *hits;         /* R·C */
  const gint32        *class_hits;   /* n_classes·R·C */
  guint                n_classes;
  const char * const  *class_names;  /* n_classes, or NULL for "0", "1", … */
  const float         *response;     /* R·C distances to one input (SOM_VIEW_RESPONSE) */
  int                  response_bmu; /* unit to mark in the response view, -1 none */
} SomMapData;

typedef struct
{
  SomRenderTheme  theme;
  double          font_size;     /* base size in points (default 8) */
  SomColormap     colormap;      /* default viridis; hits default magma */
  gboolean        colormap_set;  /* FALSE: the view's default colour map */
  SomHitsStyle    hits_style;    /* default heat for hits, markers for class hits */
  gboolean        hits_style_set;
  gboolean        interstitial;  /* U-matrix: a cell between every neighbour pair */
  guint           feature;       /* component plane: codebook column */
  SomScale        scale;         /* default linear */
  double          vmin;          /* colour scale; NaN = from the data */
  double          vmax;
  const char     *title;         /* NULL: none */
  const char     *units;         /* colour bar label; NULL: the view's default */
  int             marked_unit;   /* a unit to outline (hover, selection), -1 none */
  gboolean        shared_scale;  /* small multiples: one colour scale for all panels */
  /* Fill cells without antialiasing: exact tiling, 5–10× faster on image
   * surfaces, slightly jagged edges.  For live redraws (hover, zoom); exports
   * leave it FALSE for smooth edges. */
  gboolean        crisp;
  /* The map alone magnified by @zoom about the page's origin and then moved
   * by (@pan_x, @pan_y) points, within the room it had (the app's zoom and
   * pan): the title, the colour bar and the legend stay as they were.
   * Default 1, 0, 0; som_render_view() only, and its layout ignores them. */
  double          zoom;
  double          pan_x;
  double          pan_y;
} SomRenderOptions;

void         som_render_options_init     (SomRenderOptions *options);

const char  *som_scale_to_string         (SomScale          scale);
gboolean     som_scale_from_string       (const char       *text,
                                          SomScale         *scale);
const char  *som_view_to_string          (SomView           view);
gboolean     som_view_from_string        (const char       *text,
                                          SomView          *view);

/* Whether @data has what @view needs; otherwise FALSE with an error naming
 * the missing member (e.g. "class map needs labels (class_hits)"). */
gboolean     som_render_check            (SomView                 view,
                                          const SomMapData       *data,
                                          const SomRenderOptions *options,
                                          GError                **error);

/* The height that gives @view at @width its natural aspect ratio. */
double       som_render_natural_height   (SomView                 view,
                                          const SomMapData       *data,
                                          const SomRenderOptions *options,
                                          double                  width);

/* Draws @view of one map: the map, its colour bar or legend, the title. */
gboolean     som_render_view             (cairo_t                *cr,
                                          double                  width,
                                          double                  height,
                                          SomView                 view,
                                          const SomMapData       *data,
                                          const SomRenderOptions *options,
                                          GError                **error);

/* Small multiples: the same view for @n_layers maps side by side, each panel
 * titled with its layer name, one shared colour bar when
 * options->shared_scale (otherwise one per panel). */
double       som_render_multiples_natural_height (SomView                 view,
                                                  const SomMapData       *layers,
                                                  guint                   n_layers,
                                                  const SomRenderOptions *options,
                                                  double                  width);
gboolean     som_render_multiples        (cairo_t                *cr,
                                          double                  width,
                                          double                  height,
                                          SomView                 view,
                                          const SomMapData       *layers,
                                          guint                   n_layers,
                                          const SomRenderOptions *options,
                                          GError                **error);

/* Where a map landed, for hover and click: grid units scaled by @scale
 * points and offset by (@x0, @y0).  Filled by som_render_view_layout() with
 * the same arithmetic som_render_view() draws with. */
typedef struct
{
  const SomGrid *grid;
  double         x0;
  double         y0;
  double         scale;  /* points per grid unit (distance between neighbours) */
} SomMapLayout;

/* FALSE, and nothing filled, when @data lacks what @view needs
 * (som_render_check()): the view draws no map then. */
gboolean     som_render_view_layout      (double                  width,
                                          double                  height,
                                          SomView                 view,
                                          const SomMapData       *data,
                                          const SomRenderOptions *options,
                                          SomMapLayout           *layout);
/* The same for panel @panel of som_render_multiples(). */
void         som_render_multiples_layout (double                  width,
                                          double                  height,
                                          SomView                 view,
                                          const SomMapData       *layers,
                                          guint                   n_layers,
                                          const SomRenderOptions *options,
                                          guint                   panel,
                                          SomMapLayout           *layout);
/* The room som_render_view() gives the map, left of its colour bar or
 * legend and below its title: with options->zoom the map is clipped to it.
 * FALSE as som_render_view_layout(). */
gboolean     som_render_view_map_room    (double                  width,
                                          double                  height,
                                          SomView                 view,
                                          const SomMapData       *data,
                                          const SomRenderOptions *options,
                                          double                 *x,
                                          double                 *y,
                                          double                 *w,
                                          double                 *h);
/* The unit whose cell contains (@x, @y), or -1 outside every cell. */
int          som_map_layout_hit_test     (const SomMapLayout     *layout,
                                          double                  x,
                                          double                  y);
/* The bounding rectangle of @unit's cell. */
void         som_map_layout_unit_rect    (const SomMapLayout     *layout,
                                          guint                   unit,
                                          double                 *x,
                                          double                 *y,
                                          double                 *width,
                                          double                 *height);
/* The polygon of @unit's cell (6 points for hex, 4 for rect) in points;
 * returns the number of points written to @xs/@ys (room for 6). */
guint        som_map_layout_unit_polygon (const SomMapLayout     *layout,
                                          guint                   unit,
                                          double                 *xs,
                                          double                 *ys);

/* Trajectory view (issue 4's data, plain arrays): a clean input and its
 * adversarial twin on every layer's map (U-matrix as background, clean BMU
 * as a circle, adversarial BMU as a cross), and below them the per-layer grid
 * distance between the two as a line chart with the divergence layer marked.
 * @layers gives the maps (grid, name, umatrix); @clean_bmus, @adv_bmus and
 * @distances have @n_layers entries; @divergence_layer is -1 for none. */
gboolean     som_render_trajectory       (cairo_t                *cr,
                                          double                  width,
                                          double                  height,
                                          const SomMapData       *layers,
                                          guint                   n_layers,
                                          const int              *clean_bmus,
                                          const int              *adv_bmus,
                                          const double           *distances,
                                          int                     divergence_layer,
                                          const SomRenderOptions *options,
                                          GError                **error);
double       som_render_trajectory_natural_height (guint      n_layers,
                                                   double     width);
/* The layer whose panel (its name and map) som_render_trajectory () draws
 * at (@x, @y) on a page of @width × @height, or -1 outside every panel. */
int          som_render_trajectory_panel_at (double                  width,
                                             double                  height,
                                             const SomMapData       *layers,
                                             guint                   n_layers,
                                             const SomRenderOptions *options,
                                             double                  x,
                                             double                  y);

/* Per-layer metric chart: @metric against depth (0 … n_layers−1, ticks
 * labelled with @layer_names when given), a clean and an adversarial series,
 * each with an optional error band (± the @_err arrays, e.g. the standard
 * deviation over classes or seeds).  Any of the arrays but @clean may be
 * NULL; NaN values leave gaps. */
gboolean     som_render_metric_chart     (cairo_t                *cr,
                                          double                  width,
                                          double                  height,
                                          guint                   n_layers,
                                          const char * const     *layer_names,
                                          const char             *metric,
                                          const double           *clean,
                                          const double           *clean_err,
                                          const double           *adversarial,
                                          const double           *adversarial_err,
                                          const SomRenderOptions *options,
                                          GError                **error);

/* A colour bar on its own (also used by the views): vertical, @width wide
 * including ticks and the @units label. */
void         som_render_colorbar         (cairo_t                *cr,
                                          double                  x,
                                          double                  y,
                                          double                  width,
                                          double                  height,
                                          SomColormap             colormap,
                                          double                  vmin,
                                          double                  vmax,
                                          const char             *units,
                                          const SomRenderOptions *options);

/* "Nice" ticks for [vmin, vmax] (1, 2, 2.5 or 5 times a power of ten), at
 * most @max_ticks; returns how many were written to @ticks and the decimals
 * to print them with in @decimals. */
guint        som_render_nice_ticks       (double                  vmin,
                                          double                  vmax,
                                          guint                   max_ticks,
                                          double                 *ticks,
                                          int                    *decimals);

G_END_DECLS
