/* som-figure.h: export a drawing as PNG, SVG or PDF
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SOM_FIGURE_PNG,
  SOM_FIGURE_SVG,
  SOM_FIGURE_PDF,
} SomFigureFormat;

/* The largest PNG side we write, in pixels. */
#define SOM_FIGURE_MAX_PIXELS 20000

/* The format named by @path's extension (.png, .svg, .pdf, any case);
 * FALSE for any other. */
gboolean     som_figure_format_from_path (const char      *path,
                                          SomFigureFormat *format);
const char  *som_figure_format_to_string (SomFigureFormat  format);

/* Draws page @page (0-based) of the figure into @cr, whose user units are
 * points and whose page is @width × @height points. */
typedef gboolean (*SomFigureDrawFunc) (cairo_t   *cr,
                                       double     width,
                                       double     height,
                                       guint      page,
                                       gpointer   user_data,
                                       GError   **error);

/* Writes the figure to @path atomically (a temporary file beside it, then a
 * rename).  Sizes are in points.  PNG: round(@width × @dpi / 72) pixels wide,
 * the DPI recorded in the pHYs chunk, one page only.  SVG: one page, sizes in
 * pt.  PDF: @n_pages pages, vector, fonts embedded (text stays text). */
gboolean     som_figure_export           (const char        *path,
                                          SomFigureFormat    format,
                                          double             width,
                                          double             height,
                                          double             dpi,
                                          guint              n_pages,
                                          SomFigureDrawFunc  draw,
                                          gpointer           user_data,
                                          GError           **error);

/* Writes an image surface (ARGB32 or RGB24) as an 8-bit RGB PNG whose pHYs
 * chunk records @dpi (no chunk when @dpi ≤ 0), atomically. */
gboolean     som_figure_write_png        (cairo_surface_t   *surface,
                                          const char        *path,
                                          double             dpi,
                                          GError           **error);

/* The pixel size of @points at @dpi, as the exporter computes it. */
int          som_figure_pixels           (double             points,
                                          double             dpi);

G_END_DECLS
