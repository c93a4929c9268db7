/* som-figure.c: export a drawing as PNG, SVG or PDF
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <glib/gstdio.h>
#include <png.h>

#include "som-figure.h"
#include "som-io.h"
#include "som-types.h"

gboolean
som_figure_format_from_path (const char      *path,
                             SomFigureFormat *format)
{
  const char *dot = path ? strrchr (path, '.') : NULL;

  if (dot == NULL || strchr (dot, G_DIR_SEPARATOR) != NULL)
    return FALSE;
  if (g_ascii_strcasecmp (dot, ".png") == 0)
    *format = SOM_FIGURE_PNG;
  else if (g_ascii_strcasecmp (dot, ".svg") == 0)
    *format = SOM_FIGURE_SVG;
  else if (g_ascii_strcasecmp (dot, ".pdf") == 0)
    *format = SOM_FIGURE_PDF;
  else
    return FALSE;
  return TRUE;
}

const char *
som_figure_format_to_string (SomFigureFormat format)
{
  switch (format)
    {
    case SOM_FIGURE_PNG:
      return "png";
    case SOM_FIGURE_SVG:
      return "svg";
    case SOM_FIGURE_PDF:
      return "pdf";
    default:
      return NULL;
    }
}

int
som_figure_pixels (double points,
                   double dpi)
{
  return (int) lround (points * dpi / 72.0);
}

typedef struct
{
  jmp_buf  jump;
  char     message[256];
} PngErrorState;

static void
png_error_cb (png_structp png, png_const_charp msg)
{
  PngErrorState *state = png_get_error_ptr (png);

  g_strlcpy (state->message, msg, sizeof state->message);
  longjmp (state->jump, 1);
}

static void
png_warning_cb (png_structp png, png_const_charp msg)
{
}

/* The pixels of a row, unpremultiplied, as RGB. */
static void
row_to_rgb (const guint8 *src, guint8 *dst, int width, cairo_format_t format)
{
  const guint32 *p = (const guint32 *) src;

  for (int x = 0; x < width; x++)
    {
      guint32 v = p[x];
      guint a = format == CAIRO_FORMAT_ARGB32 ? v >> 24 : 255;
      guint r = (v >> 16) & 0xff, g = (v >> 8) & 0xff, b = v & 0xff;

      if (a != 0 && a != 255)
        {
          r = MIN (255u, (r * 255 + a / 2) / a);
          g = MIN (255u, (g * 255 + a / 2) / a);
          b = MIN (255u, (b * 255 + a / 2) / a);
        }
      dst[3 * x] = r;
      dst[3 * x + 1] = g;
      dst[3 * x + 2] = b;
    }
}

gboolean
som_figure_write_png (cairo_surface_t *surface,
                      const char      *path,
                      double           dpi,
                      GError         **error)
{
  g_autofree char *tmp = som_file_temp_path_for (path);
  /* volatile: these live across setjmp/longjmp. */
  FILE *volatile fp = NULL;
  guint8 *volatile row = NULL;
  png_structp png = NULL;
  png_infop info = NULL;
  PngErrorState state = { 0 };
  int width, height, stride;
  cairo_format_t format;
  const guint8 *data;

  g_return_val_if_fail (cairo_surface_get_type (surface) == CAIRO_SURFACE_TYPE_IMAGE, FALSE);

  cairo_surface_flush (surface);
  format = cairo_image_surface_get_format (surface);
  if (format != CAIRO_FORMAT_ARGB32 && format != CAIRO_FORMAT_RGB24)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "%s: only ARGB32 and RGB24 surfaces can be written as PNG", path);
      return FALSE;
    }
  width = cairo_image_surface_get_width (surface);
  height = cairo_image_surface_get_height (surface);
  stride = cairo_image_surface_get_stride (surface);
  data = cairo_image_surface_get_data (surface);

  fp = g_fopen (tmp, "wb");
  if (fp == NULL)
    {
      int saved = errno;

      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &state, png_error_cb, png_warning_cb);
  info = png ? png_create_info_struct (png) : NULL;
  if (png == NULL || info == NULL)
    {
      g_strlcpy (state.message, "out of memory", sizeof state.message);
      goto fail;
    }
  if (setjmp (state.jump))
    goto fail;

  png_init_io (png, fp);
  png_set_IHDR (png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (dpi > 0)
    {
      png_uint_32 ppm = (png_uint_32) lround (dpi / 0.0254);
      png_set_pHYs (png, info, ppm, ppm, PNG_RESOLUTION_METER);
    }
  {
    png_text text[1];

    text[0].compression = PNG_TEXT_COMPRESSION_NONE;
    text[0].key = (char *) "Software";
    text[0].text = (char *) "Somscope " PACKAGE_VERSION;
    text[0].text_length = strlen (text[0].text);
    png_set_text (png, info, text, 1);
  }
  png_write_info (png, info);
  row = g_malloc ((gsize) width * 3);
  for (int y = 0; y < height; y++)
    {
      row_to_rgb (data + (gsize) y * stride, row, width, format);
      png_write_row (png, row);
    }
  png_write_end (png, info);
  png_destroy_write_struct (&png, &info);
  g_free (row);
  row = NULL;
  som_io_test_abort_point ();
  if (fclose (fp) != 0)
    {
      int saved = errno;

      fp = NULL;
      g_unlink (tmp);
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  return som_file_commit_atomic (tmp, path, error);

fail:
  if (png != NULL)
    png_destroy_write_struct (&png, info ? &info : NULL);
  g_free (row);
  if (fp != NULL)
    fclose (fp);
  g_unlink (tmp);
  g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write PNG: %s", path, state.message);
  return FALSE;
}

static gboolean
check_surface (cairo_surface_t *surface, const char *path, GError **error)
{
  cairo_status_t status = cairo_surface_status (surface);

  if (status == CAIRO_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write: %s", path,
               cairo_status_to_string (status));
  return FALSE;
}

gboolean
som_figure_export (const char        *path,
                   SomFigureFormat    format,
                   double             width,
                   double             height,
                   double             dpi,
                   guint              n_pages,
                   SomFigureDrawFunc  draw,
                   gpointer           user_data,
                   GError           **error)
{
  g_autofree char *tmp = NULL;
  cairo_surface_t *surface = NULL;
  cairo_t *cr;
  gboolean ok = TRUE;

  g_return_val_if_fail (path != NULL && draw != NULL, FALSE);

  if (!(width > 0 && height > 0) || !isfinite (width) || !isfinite (height) || n_pages == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: a figure needs a positive size and at least one page (got %g × %g pt, "
                   "%u pages)", path, width, height, n_pages);
      return FALSE;
    }
  if (format != SOM_FIGURE_PDF && n_pages != 1)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: only PDF figures have several pages", path);
      return FALSE;
    }

  if (format == SOM_FIGURE_PNG)
    {
      int pw, ph;

      if (!(dpi > 0) || !isfinite (dpi))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: invalid DPI %g", path, dpi);
          return FALSE;
        }
      pw = som_figure_pixels (width, dpi);
      ph = som_figure_pixels (height, dpi);
      if (pw < 1 || ph < 1 || pw > SOM_FIGURE_MAX_PIXELS || ph > SOM_FIGURE_MAX_PIXELS)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                       "%s: %d × %d pixels is outside 1…%d per side", path, pw, ph,
                       SOM_FIGURE_MAX_PIXELS);
          return FALSE;
        }
      surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, pw, ph);
      if (!check_surface (surface, path, error))
        {
          cairo_surface_destroy (surface);
          return FALSE;
        }
      cr = cairo_create (surface);
      /* User units stay points; the page is exactly pw × ph pixels. */
      cairo_scale (cr, pw / width, ph / height);
      ok = draw (cr, width, height, 0, user_data, error);
      cairo_destroy (cr);
      if (ok)
        ok = som_figure_write_png (surface, path, dpi, error);
      cairo_surface_destroy (surface);
      return ok;
    }

  tmp = som_file_temp_path_for (path);
  if (format == SOM_FIGURE_SVG)
    {
      surface = cairo_svg_surface_create (tmp, width, height);
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PT);
    }
  else
    {
      surface = cairo_pdf_surface_create (tmp, width, height);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR,
                                      "Somscope " PACKAGE_VERSION);
    }
  if (!check_surface (surface, path, error))
    {
      cairo_surface_destroy (surface);
      g_unlink (tmp);
      return FALSE;
    }
  cr = cairo_create (surface);
  for (guint page = 0; ok && page < n_pages; page++)
    {
      ok = draw (cr, width, height, page, user_data, error);
      if (ok && format == SOM_FIGURE_PDF)
        cairo_show_page (cr);
    }
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  if (ok)
    ok = check_surface (surface, path, error);
  cairo_surface_destroy (surface);
  if (!ok)
    {
      g_unlink (tmp);
      return FALSE;
    }
  som_io_test_abort_point ();
  return som_file_commit_atomic (tmp, path, error);
}
