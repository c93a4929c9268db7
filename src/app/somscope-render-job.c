/* somscope-render-job.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "config.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "somscope-document.h"
#include "somscope-render-job.h"
#include "somscope-sched.h"
#include "somscope-task-pool.h"

/* A view's drawing is made by the core renderer (the one export uses) into
 * a cairo image surface in a GTask thread, from data the job owns; the main
 * thread only paints the finished texture.  The map view and the trajectory
 * panel share this; what they draw and what they keep of a finished render
 * is theirs. */

typedef struct
{
  gpointer                  data;
  GDestroyNotify            data_free;
  SomscopeRenderDrawFunc    draw;
  SomscopeRenderAcceptFunc  accept;
  int                       width;
  int                       height;
  int                       scale;
  guint                     serial;
} RenderTask;

typedef struct
{
  GWeakRef           widget;
  SomscopeRenderJob *job;     /* inside the widget: valid while it lives */
} RenderClosure;

static void
render_task_free (RenderTask *task)
{
  if (task->data_free != NULL)
    g_clear_pointer (&task->data, task->data_free);
  g_free (task);
}

static void
render_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  RenderTask *job = task_data;
  cairo_surface_t *surface;
  cairo_t *cr;

  /* Counted with the workers, so that quitting waits for a render in
   * flight: the process exiting under it freed Pango's and HarfBuzz's
   * state while it shaped text (AddressSanitizer, at the end of test-app).
   * The views cancel their renders before that wait; a render starting
   * after it returns here. */
  somscope_render_enter ();
  if (g_task_return_error_if_cancelled (task))
    {
      somscope_render_leave ();
      return;
    }
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, job->width * job->scale, job->height * job->scale);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                               cairo_status_to_string (cairo_surface_status (surface)));
      cairo_surface_destroy (surface);
      somscope_render_leave ();
      return;
    }
  cr = cairo_create (surface);
  cairo_scale (cr, job->scale, job->scale);
  job->draw (job->data, cr, job->width, job->height);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  g_task_return_pointer (task, surface, (GDestroyNotify) cairo_surface_destroy);
  somscope_render_leave ();
}

/* The texture takes the surface's pixels as they are (premultiplied BGRA on
 * little-endian machines, GDK_MEMORY_DEFAULT) and keeps the surface. */
static GdkTexture *
texture_new_for_surface (cairo_surface_t *surface)
{
  g_autoptr(GBytes) bytes = NULL;

  bytes = g_bytes_new_with_free_func (cairo_image_surface_get_data (surface),
                                      (gsize) cairo_image_surface_get_stride (surface) *
                                      cairo_image_surface_get_height (surface),
                                      (GDestroyNotify) cairo_surface_destroy, surface);
  return gdk_memory_texture_new (cairo_image_surface_get_width (surface),
                                 cairo_image_surface_get_height (surface),
                                 GDK_MEMORY_DEFAULT, bytes,
                                 cairo_image_surface_get_stride (surface));
}

static void
render_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  RenderClosure *closure = user_data;
  g_autoptr(GtkWidget) widget = g_weak_ref_get (&closure->widget);
  SomscopeRenderJob *self = closure->job;
  RenderTask *job = g_task_get_task_data (G_TASK (result));
  cairo_surface_t *surface = g_task_propagate_pointer (G_TASK (result), NULL);

  g_weak_ref_clear (&closure->widget);
  g_free (closure);
  /* A render the widget no longer waits for (it was disposed) is dropped. */
  if (widget == NULL || g_task_get_cancellable (G_TASK (result)) != self->cancellable)
    {
      g_clear_pointer (&surface, cairo_surface_destroy);
      return;
    }
  self->rendering = FALSE;
  self->texture_serial = job->serial;
  if (surface != NULL && job->accept != NULL && !job->accept (widget, job->data))
    g_clear_pointer (&surface, cairo_surface_destroy);
  if (surface != NULL)
    {
      g_clear_object (&self->texture);
      g_clear_pointer (&self->surface, cairo_surface_destroy);
      self->surface = cairo_surface_reference (surface);
      self->texture = texture_new_for_surface (surface);
      self->texture_width = job->width;
      self->texture_height = job->height;
      gtk_widget_queue_draw (widget);
    }
  if (self->texture_serial != self->serial)
    self->schedule (widget);
}

void
somscope_render_job_init (SomscopeRenderJob  *self,
                          GtkWidget          *widget,
                          void              (*schedule) (GtkWidget *widget))
{
  self->widget = widget;
  self->schedule = schedule;
}

/* In the widget's dispose: a render in flight is cancelled and dropped. */
void
somscope_render_job_clear (SomscopeRenderJob *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->rendering = FALSE;
  g_clear_object (&self->texture);
  g_clear_pointer (&self->surface, cairo_surface_destroy);
}

/* The drawing changed: render it again (now, or when the render in flight
 * comes back). */
void
somscope_render_job_invalidate (SomscopeRenderJob *self)
{
  self->serial++;
  self->schedule (self->widget);
  gtk_widget_queue_draw (self->widget);
}

/* In the widget's size_allocate: a new size renders again.  Compared with
 * the last allocation, not the texture's size: a render of another size
 * may be in flight. */
void
somscope_render_job_allocate (SomscopeRenderJob *self,
                              int                width,
                              int                height)
{
  if (width != self->alloc_width || height != self->alloc_height)
    {
      self->alloc_width = width;
      self->alloc_height = height;
      somscope_render_job_invalidate (self);
    }
}

/* Whether the widget's schedule function should start a render: none in
 * flight (its completion starts the next), the texture behind, a size. */
gboolean
somscope_render_job_needed (SomscopeRenderJob *self)
{
  return !self->rendering && self->texture_serial != self->serial &&
         gtk_widget_get_width (self->widget) > 0 && gtk_widget_get_height (self->widget) > 0;
}

/* The renders run in a pool of their own, at normal priority, one thread
 * fewer than the cores (one on two): every view redraws at every epoch
 * while the maps train, and as many renders as cores, side by side with
 * the main thread and the X server, kept the main thread waiting for a
 * core (up to 7 ms a frame, schedstat).  The trainers, at idle priority,
 * yield to all of them. */
#define RENDER_NICE 5

/* And they ask the scheduler for long slices (EEVDF's custom slice, Linux
 * 6.12 on; older kernels ignore it).  EEVDF gives the core to the eligible
 * task with the earliest deadline, a slice after its start: a render
 * thread woken by the main thread had the earlier one and took the core
 * from it, and once it slept again the core could go to an idle-priority
 * trainer while the main thread waited for the scheduler's next tick (4 ms
 * at 250 Hz); a render running when the main thread woke kept the core
 * likewise.  With a slice of 100 ms its deadline is later than the main
 * thread's, so it waits for a free core instead, and the main thread's
 * shorter slice lets it take the core back from a render at once.  Its
 * share of the CPU (its nice value's) is unchanged.  Measured: perf sched
 * over whole benchmark runs, and forty runs each side by side, interleaved
 * (docs/hardening.md). */
#define RENDER_SLICE_NS (100 * 1000 * 1000)

/* Just below the main thread: a render must not keep it from a frame. */
static void
render_thread_setup (void)
{
  setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), RENDER_NICE);
  /* Best effort: refused (ENOSYS, EPERM), the thread keeps the default. */
  somscope_sched_set_slice (RENDER_NICE, RENDER_SLICE_NS);
}

static void
run_render (GTask *task)
{
  static SomscopeTaskPool *pool;

  if (g_once_init_enter (&pool))
    g_once_init_leave (&pool, somscope_task_pool_new ("somscope-render", MAX (1, (int) g_get_num_processors () - 1),
                                                      render_thread_setup));
  somscope_task_pool_run (pool, task, render_thread);
}

/* Renders the current state at the widget's size with @draw, which the
 * worker calls on @data (owned by the job: everything it reads). */
void
somscope_render_job_start (SomscopeRenderJob        *self,
                           gpointer                  data,
                           GDestroyNotify            data_free,
                           SomscopeRenderDrawFunc    draw,
                           SomscopeRenderAcceptFunc  accept)
{
  g_autoptr(GTask) task = NULL;
  RenderTask *job = g_new0 (RenderTask, 1);
  RenderClosure *closure = g_new0 (RenderClosure, 1);

  job->data = data;
  job->data_free = data_free;
  job->draw = draw;
  job->accept = accept;
  job->width = gtk_widget_get_width (self->widget);
  job->height = gtk_widget_get_height (self->widget);
  job->scale = gtk_widget_get_scale_factor (self->widget);
  job->serial = self->serial;

  if (self->cancellable == NULL)
    self->cancellable = g_cancellable_new ();
  g_weak_ref_init (&closure->widget, self->widget);
  closure->job = self;
  self->rendering = TRUE;
  /* No source object: the task's last reference may go in the worker,
   * which must not finalize a widget. */
  task = g_task_new (NULL, self->cancellable, render_done_cb, closure);
  g_task_set_source_tag (task, somscope_render_job_start);
  g_task_set_task_data (task, job, (GDestroyNotify) render_task_free);
  run_render (task);
}

/* Nothing to draw in the current state: no texture (the snapshot says why). */
void
somscope_render_job_skip (SomscopeRenderJob *self)
{
  g_clear_object (&self->texture);
  g_clear_pointer (&self->surface, cairo_surface_destroy);
  self->texture_serial = self->serial;
}

/* The texture shows something else entirely (another layer): not shown
 * while the new drawing renders. */
void
somscope_render_job_drop (SomscopeRenderJob *self)
{
  g_clear_object (&self->texture);
  g_clear_pointer (&self->surface, cairo_surface_destroy);
}

/* In the widget's snapshot: the latest texture at its size (until a newer
 * one arrives the last is shown), and a render of the current state started
 * if it is behind. */
void
somscope_render_job_snapshot (SomscopeRenderJob *self,
                              GtkSnapshot       *snapshot)
{
  graphene_rect_t bounds;
  GskRenderer *renderer;

  if (self->texture_serial != self->serial)
    self->schedule (self->widget);
  if (self->texture == NULL)
    return;
  bounds = GRAPHENE_RECT_INIT (0, 0, self->texture_width, self->texture_height);
  renderer = gtk_widget_get_native (self->widget) != NULL
             ? gtk_native_get_renderer (gtk_widget_get_native (self->widget)) : NULL;
  if (renderer != NULL && GSK_IS_CAIRO_RENDERER (renderer))
    {
      /* GTK 4.8's cairo renderer downloads a texture node's pixels into a
       * new surface in every frame that draws it, converting each pixel
       * through floats (seen in a profile): 2–3 ms for a 301×207 texture,
       * 4–8 ms for the main map.  The surface the texture wraps is painted
       * as that node paints it (the same pattern, extend and scale): the
       * same pixels (checked against gsk_render_node_draw () of a texture
       * node at scale 1 and 2) in 0.03 ms. */
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &bounds);
      cairo_pattern_t *pattern = cairo_pattern_create_for_surface (self->surface);
      cairo_matrix_t matrix;

      cairo_pattern_set_extend (pattern, CAIRO_EXTEND_PAD);
      cairo_matrix_init_scale (&matrix,
                               cairo_image_surface_get_width (self->surface) / bounds.size.width,
                               cairo_image_surface_get_height (self->surface) / bounds.size.height);
      cairo_pattern_set_matrix (pattern, &matrix);
      cairo_set_source (cr, pattern);
      cairo_pattern_destroy (pattern);
      cairo_rectangle (cr, 0, 0, bounds.size.width, bounds.size.height);
      cairo_fill (cr);
      cairo_destroy (cr);
    }
  else
    gtk_snapshot_append_texture (snapshot, self->texture, &bounds);
}

/* Where the drawing will be, dimmed and centred: why there is none (yet). */
void
somscope_render_job_snapshot_message (SomscopeRenderJob *self,
                                      GtkSnapshot       *snapshot,
                                      const char        *text)
{
  int width = gtk_widget_get_width (self->widget);
  int height = gtk_widget_get_height (self->widget);
  g_autoptr(PangoLayout) layout = NULL;
  GdkRGBA color;
  int th;

  if (text == NULL || *text == '\0')
    return;
  layout = gtk_widget_create_pango_layout (self->widget, text);
  pango_layout_set_width (layout, MAX (1, width - 12) * PANGO_SCALE);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_get_pixel_size (layout, NULL, &th);
  gtk_style_context_get_color (gtk_widget_get_style_context (self->widget), &color);
  color.alpha *= 0.55f;
  gtk_snapshot_save (snapshot);
  /* The layout centres its lines in its own width. */
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (6, (height - th) / 2.0f));
  gtk_snapshot_append_layout (snapshot, layout, &color);
  gtk_snapshot_restore (snapshot);
}

gboolean
somscope_render_job_is_current (SomscopeRenderJob *self)
{
  return self->texture_serial == self->serial && !self->rendering;
}

/* The texture, when it shows the current state. */
GdkTexture *
somscope_render_job_get_texture (SomscopeRenderJob *self)
{
  return somscope_render_job_is_current (self) ? self->texture : NULL;
}
