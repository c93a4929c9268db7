/* somscope-render-job.h: a widget's drawing rendered by the core in a worker, shown as a texture
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Draws the job's data on @cr in a worker thread; @cr is already scaled to
 * widget pixels, @width × @height of them.  Touches nothing but @data. */
typedef void     (*SomscopeRenderDrawFunc)   (gpointer  data,
                                              cairo_t  *cr,
                                              int       width,
                                              int       height);
/* On the main thread, when a render comes back current: whether it may be
 * shown (FALSE drops it as stale); the widget may keep what it needs from
 * @data.  NULL: always shown. */
typedef gboolean (*SomscopeRenderAcceptFunc) (GtkWidget *widget,
                                              gpointer   data);

/* The render state a widget embeds in its instance: at most one render in
 * flight; changes meanwhile bump the serial, and when the render comes back
 * the widget's schedule function starts the next from the latest state, so
 * superseded states are never drawn. */
typedef struct
{
  /* Written only by these functions; the widget may read them (the map
   * view keys its marks' layout on the serial). */
  /* Borrowed */
  GtkWidget     *widget;
  void         (*schedule) (GtkWidget *widget);

  /* Owned */
  GdkTexture    *texture;
  cairo_surface_t *surface;       /* the texture's pixels, for the cairo renderer */
  int            texture_width;   /* the texture's size in widget pixels */
  int            texture_height;
  guint          serial;          /* bumped whenever the drawing changes */
  guint          texture_serial;  /* the state the texture (or its absence) shows */
  gboolean       rendering;       /* a render is in flight */
  int            alloc_width;     /* the widget's last allocation */
  int            alloc_height;
  GCancellable  *cancellable;
} SomscopeRenderJob;

void        somscope_render_job_init        (SomscopeRenderJob        *self,
                                             GtkWidget                *widget,
                                             void                    (*schedule) (GtkWidget *widget));
void        somscope_render_job_clear       (SomscopeRenderJob        *self);
void        somscope_render_job_invalidate  (SomscopeRenderJob        *self);
void        somscope_render_job_allocate    (SomscopeRenderJob        *self,
                                             int                       width,
                                             int                       height);
gboolean    somscope_render_job_needed      (SomscopeRenderJob        *self);
void        somscope_render_job_start       (SomscopeRenderJob        *self,
                                             gpointer                  data,
                                             GDestroyNotify            data_free,
                                             SomscopeRenderDrawFunc    draw,
                                             SomscopeRenderAcceptFunc  accept);
void        somscope_render_job_skip        (SomscopeRenderJob        *self);
void        somscope_render_job_drop        (SomscopeRenderJob        *self);
void        somscope_render_job_snapshot    (SomscopeRenderJob        *self,
                                             GtkSnapshot              *snapshot);
void        somscope_render_job_snapshot_message (SomscopeRenderJob   *self,
                                                  GtkSnapshot         *snapshot,
                                                  const char          *text);
gboolean    somscope_render_job_is_current  (SomscopeRenderJob        *self);
GdkTexture *somscope_render_job_get_texture (SomscopeRenderJob        *self);

G_END_DECLS
