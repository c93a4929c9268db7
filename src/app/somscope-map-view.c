/* somscope-map-view.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n.h>
#include <adwaita.h>

#include "som-render.h"

#include "somscope-enums.h"
#include "somscope-map-view.h"
#include "somscope-render-job.h"

#define ZOOM_MIN 1.0
#define ZOOM_MAX 16.0

struct _SomscopeMapView
{
  GtkWidget parent_instance;

  /* Owned */
  SomscopeLayer  *layer;
  GSignalGroup   *layer_signals;
  SomscopeRenderJob render;      /* the map itself, rendered in a worker */
  double          texture_zoom;  /* the zoom and pan the texture was rendered with */
  double          texture_pan_x;
  double          texture_pan_y;
  guint           layer_serial;  /* bumped when the layer changes */
  SomMapLayout    marks_layout;  /* where the units are, for the marks, as of */
  double          marks_room[4]; /* the map's room (x, y, w, h): zoomed marks stay in it */
  guint           marks_serial;  /* this render serial (0: none yet) */
  int             marks_width;
  int             marks_height;

  SomscopeView    view;
  int             selected_unit;
  int             hover_unit;
  guint           feature;
  int             klass;         /* hits of this class only, -1 all */
  char           *class_units;   /* their colour bar's title */
  gboolean        compact;
  double          zoom;
  double          pan_x;         /* offset of the zoomed map, widget pixels */
  double          pan_y;
  double          drag_start_x;
  double          drag_start_y;
  gboolean        interacting;   /* a drag or a zoom in progress: draw crisp */
  guint           n_live_updates;
  guint           settle_id;     /* redraws smooth once a zoom stops */
  GtkGesture     *click;
  GtkGesture     *drag;
};

enum {
  PROP_0,
  PROP_LAYER,
  PROP_VIEW,
  PROP_SELECTED_UNIT,
  PROP_FEATURE,
  PROP_CLASS,
  PROP_COMPACT,
  PROP_ZOOM,
  N_PROPS
};

enum {
  UNIT_ACTIVATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SomscopeMapView, somscope_map_view, GTK_TYPE_WIDGET)

static gboolean
has_map (SomscopeMapView *self)
{
  return self->layer != NULL &&
         (somscope_layer_get_map (self->layer) != NULL || somscope_layer_get_live_map (self->layer) != NULL);
}

static gboolean
is_live (SomscopeMapView *self)
{
  return self->layer != NULL && somscope_layer_get_live_map (self->layer) != NULL;
}

/* The map drawn: the one training, else the trained one. */
static SomMap *
shown_map (SomscopeMapView *self)
{
  return is_live (self) ? somscope_layer_get_live_map (self->layer) : somscope_layer_get_map (self->layer);
}

static SomView
core_view (SomscopeView view)
{
  switch (view)
    {
    case SOMSCOPE_VIEW_UMATRIX:
      return SOM_VIEW_UMATRIX;
    case SOMSCOPE_VIEW_HITS:
      return SOM_VIEW_HITS;
    case SOMSCOPE_VIEW_CLASSES:
      return SOM_VIEW_CLASSES;
    case SOMSCOPE_VIEW_COMPONENT:
      return SOM_VIEW_COMPONENT;
    case SOMSCOPE_VIEW_RESPONSE:
      return SOM_VIEW_RESPONSE;
    default:
      g_assert_not_reached ();
    }
}

static const float *
map_floats (SomMap     *map,
            const char *name)
{
  const SomArray *array = som_map_get_array (map, name);

  return array != NULL && array->dtype == SOM_DTYPE_F32 ? array->data : NULL;
}

static const gint32 *
map_ints (SomMap     *map,
          const char *name)
{
  const SomArray *array = som_map_get_array (map, name);

  return array != NULL && array->dtype == SOM_DTYPE_I32 ? array->data : NULL;
}

/* The layer's map as the core renderer takes it, and the options the
 * screen uses: the theme's style, a font size for the widget's size. */
static gboolean
get_map_data (SomscopeMapView  *self,
              SomMapData       *data,
              SomRenderOptions *options)
{
  som_render_options_init (options);
  if (self->layer == NULL || !somscope_layer_get_map_data (self->layer, data))
    return FALSE;
  if (adw_style_manager_get_dark (adw_style_manager_get_default ()))
    options->theme = SOM_RENDER_THEME_DARK;
  options->font_size = self->compact ? 6.5 : 10;
  /* A panel a hundred pixels wide has no room for the colour bar's title
   * ("distance to neighbours" came out as "distance to neig…"); the tooltip
   * and the main view name what is shown. */
  if (self->compact)
    options->units = "";
  options->feature = MIN (self->feature, data->dim > 0 ? data->dim - 1 : 0);
  if (self->view == SOMSCOPE_VIEW_HITS)
    {
      g_autofree char *units = somscope_map_data_select_class (data, self->klass);

      if (units != NULL)
        {
          /* The view keeps it, as the options only borrow it (a render copies it). */
          if (g_strcmp0 (units, self->class_units) != 0)
            {
              g_free (self->class_units);
              self->class_units = g_steal_pointer (&units);
            }
          options->units = self->class_units;
        }
    }
  /* Live redraws (a map still training, a zoom or pan in progress) take the
   * renderer's crisp mode, 5–10× cheaper; the settled map is smooth. */
  options->crisp = self->interacting || is_live (self) ||
                   somscope_layer_get_status (self->layer) == SOMSCOPE_LAYER_STATUS_TRAINING;
  return TRUE;
}

/* Where the map's units are, in widget coordinates before zoom and pan. */
static gboolean
get_layout (SomscopeMapView *self,
            SomMapLayout    *layout)
{
  SomMapData data;
  SomRenderOptions options;
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));

  /* (FALSE too when the view has nothing to draw, e.g. the response view
   * before an input is chosen) */
  return width > 0 && height > 0 && get_map_data (self, &data, &options) &&
         som_render_view_layout (width, height, core_view (self->view), &data, &options, layout);
}

/* -- rendering in a worker (somscope-render-job.c)
 *
 * The map is drawn by the core renderer (the one export uses) in a worker;
 * the main thread only paints the finished texture and the marks on top.
 * The job owns everything it reads (somscope_layer_dup_map_data ()). */

typedef struct
{
  SomscopeMapDataCopy *copy;
  SomView            view;
  SomRenderOptions   options;
  char              *units;        /* options.units, owned */
  double             zoom;
  double             pan_x;
  double             pan_y;
  guint              layer_serial;
} RenderJob;

static void
render_job_free (RenderJob *job)
{
  g_clear_pointer (&job->copy, somscope_map_data_copy_free);
  g_free (job->units);
  g_free (job);
}

static void
render_draw (gpointer  data,
             cairo_t  *cr,
             int       width,
             int       height)
{
  RenderJob *job = data;
  g_autoptr(GError) error = NULL;

  if (!som_render_view (cr, width, height, job->view, &job->copy->data, &job->options, &error))
    g_debug ("%s", error->message);
}

/* A render of the previous layer is not shown. */
static gboolean
render_accept (GtkWidget *widget,
               gpointer   data)
{
  SomscopeMapView *self = SOMSCOPE_MAP_VIEW (widget);
  RenderJob *job = data;

  if (job->layer_serial != self->layer_serial)
    return FALSE;
  self->texture_zoom = job->zoom;
  self->texture_pan_x = job->pan_x;
  self->texture_pan_y = job->pan_y;
  return TRUE;
}

/* Starts rendering the current state unless a render is in flight (its
 * completion starts the next) or the texture is current. */
static void
schedule_render (GtkWidget *widget)
{
  SomscopeMapView *self = SOMSCOPE_MAP_VIEW (widget);
  SomMapData data;
  SomRenderOptions options;
  RenderJob *job;

  if (!somscope_render_job_needed (&self->render))
    return;
  if (!get_map_data (self, &data, &options) ||
      !som_render_check (core_view (self->view), &data, &options, NULL))
    {
      /* Nothing to draw: the snapshot shows why. */
      somscope_render_job_skip (&self->render);
      return;
    }

  job = g_new0 (RenderJob, 1);
  job->copy = somscope_layer_dup_map_data (self->layer);
  job->view = core_view (self->view);
  job->options = options;
  /* The copy's hits are the class's too, and the title is the job's. */
  job->units = g_strdup (options.units);
  job->options.units = job->units;
  if (self->view == SOMSCOPE_VIEW_HITS)
    g_free (somscope_map_data_select_class (&job->copy->data, self->klass));
  job->zoom = self->zoom;
  job->pan_x = self->pan_x;
  job->pan_y = self->pan_y;
  /* Only the map zooms: its title and colour bar stay in view. */
  job->options.zoom = self->zoom;
  job->options.pan_x = self->pan_x;
  job->options.pan_y = self->pan_y;
  job->layer_serial = self->layer_serial;
  somscope_render_job_start (&self->render, job, (GDestroyNotify) render_job_free,
                             render_draw, render_accept);
}

static void
invalidate (SomscopeMapView *self)
{
  somscope_render_job_invalidate (&self->render);
}

static const char *
view_title (SomscopeView view)
{
  switch (view)
    {
    case SOMSCOPE_VIEW_UMATRIX:
      return _("U-matrix");
    case SOMSCOPE_VIEW_HITS:
      return _("Hit map");
    case SOMSCOPE_VIEW_CLASSES:
      return _("Class map");
    case SOMSCOPE_VIEW_COMPONENT:
      return _("Component plane");
    case SOMSCOPE_VIEW_RESPONSE:
      return _("Response");
    default:
      g_assert_not_reached ();
    }
}

static void
update_accessible_label (SomscopeMapView *self)
{
  g_autofree char *label = NULL;

  if (self->layer != NULL)
    /* Translators: the accessible name of a map, e.g. "U-matrix of layer /stage1/Relu" */
    label = g_strdup_printf (_("%s of layer %s"), view_title (self->view),
                             somscope_layer_get_name (self->layer));
  else
    label = g_strdup (view_title (self->view));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
}

/* A message where the map will be: why there is none yet. */
static void
snapshot_message (SomscopeMapView *self,
                  GtkSnapshot     *snapshot)
{
  g_autofree char *text = NULL;

  if (self->layer == NULL)
    text = g_strdup (self->compact ? "" : _("Select a layer"));
  else if (somscope_layer_get_status (self->layer) == SOMSCOPE_LAYER_STATUS_IDLE)
    text = g_strdup (_("Not mapped"));
  else
    g_object_get (self->layer, "status-text", &text, NULL);
  somscope_render_job_snapshot_message (&self->render, snapshot, text);
}

static void
somscope_map_view_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  SomscopeMapView *self = SOMSCOPE_MAP_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  if (width <= 0 || height <= 0)
    return;

  SomMapData data;
  SomRenderOptions options;
  SomMapLayout layout;
  g_autoptr(GError) error = NULL;
  GdkRGBA accent;
  int marks[2];

  if (!get_map_data (self, &data, &options))
    {
      snapshot_message (self, snapshot);
      return;
    }
  if (!som_render_check (core_view (self->view), &data, &options, &error))
    {
      /* e.g. the response view before an input is selected */
      if (self->view == SOMSCOPE_VIEW_RESPONSE && data.response == NULL)
        somscope_render_job_snapshot_message (&self->render, snapshot,
                                              self->compact ? "" : _("Select an input to see how every unit responds to it"));
      else if (self->view == SOMSCOPE_VIEW_CLASSES && data.class_hits == NULL)
        somscope_render_job_snapshot_message (&self->render, snapshot,
                                              is_live (self) ? _("The class map comes once the map is trained")
                                                             : _("No class map: the images have no labels"));
      else
        somscope_render_job_snapshot_message (&self->render, snapshot, error->message);
      return;
    }

  /* The map itself comes from the worker; only the marks are drawn here.
   * Until a newer render arrives the last one is shown, moved to the
   * current zoom and pan. */
  {
    double s = self->zoom / self->texture_zoom;

    gtk_snapshot_save (snapshot);
    gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (self->pan_x, self->pan_y));
    gtk_snapshot_scale (snapshot, s, s);
    gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (-self->texture_pan_x, -self->texture_pan_y));
    somscope_render_job_snapshot (&self->render, snapshot);
    gtk_snapshot_restore (snapshot);
  }

  /* The marks need the units' places, which take the renderer's text
   * measures: none when there is nothing to mark (a map still training,
   * nothing selected or hovered), and computed again only when the drawing
   * changed (every such change bumps the render serial) or the size. */
  if (self->selected_unit < 0 && self->hover_unit < 0 &&
      (is_live (self) || (somscope_layer_get_input_bmu (self->layer) < 0 &&
                          somscope_layer_get_adversarial_bmu (self->layer) < 0)))
    return;
  if (self->marks_serial != self->render.serial || self->marks_width != width ||
      self->marks_height != height || self->marks_layout.grid != data.grid)
    {
      som_render_view_layout (width, height, core_view (self->view), &data, &options, &self->marks_layout);
      som_render_view_map_room (width, height, core_view (self->view), &data, &options, &self->marks_room[0],
                                &self->marks_room[1], &self->marks_room[2], &self->marks_room[3]);
      self->marks_serial = self->render.serial;
      self->marks_width = width;
      self->marks_height = height;
    }
  layout = self->marks_layout;
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), "accent_color", &accent))
    accent = (GdkRGBA) { 0.21f, 0.52f, 0.89f, 1.f };

  {
    cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
    gboolean live = is_live (self);
    int input_bmu = live ? -1 : somscope_layer_get_input_bmu (self->layer);
    guint n_units = som_grid_get_n_units (data.grid);

    if (self->zoom != 1 || self->pan_x != 0 || self->pan_y != 0)
      {
        cairo_rectangle (cr, self->marks_room[0], self->marks_room[1], self->marks_room[2], self->marks_room[3]);
        cairo_clip (cr);
      }
    cairo_translate (cr, self->pan_x, self->pan_y);
    cairo_scale (cr, self->zoom, self->zoom);
    cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);

    /* The selected input's BMU: a ring drawn on every layer's map so its
     * path through the network shows (the response view marks it itself). */
    if (input_bmu >= 0 && (guint) input_bmu < n_units && self->view != SOMSCOPE_VIEW_RESPONSE)
      {
        double x, y, w, h;

        som_map_layout_unit_rect (&layout, input_bmu, &x, &y, &w, &h);
        cairo_new_path (cr);
        cairo_arc (cr, x + w / 2, y + h / 2, MAX (2.5, MIN (w, h) * 0.32), 0, 2 * G_PI);
        cairo_set_source_rgb (cr, 1, 1, 1);
        cairo_set_line_width (cr, MAX (2.5, layout.scale * 0.16) / self->zoom);
        cairo_stroke_preserve (cr);
        cairo_set_source_rgb (cr, 0.75, 0.11, 0.16);
        cairo_set_line_width (cr, MAX (1.2, layout.scale * 0.08) / self->zoom);
        cairo_stroke (cr);
      }

    /* Its adversarial twin's BMU: a cross. */
    {
      int adv = live ? -1 : somscope_layer_get_adversarial_bmu (self->layer);

      if (adv >= 0 && (guint) adv < n_units)
        {
          double x, y, w, h, r;

          som_map_layout_unit_rect (&layout, adv, &x, &y, &w, &h);
          r = MAX (2.5, MIN (w, h) * 0.28);
          cairo_new_path (cr);
          cairo_move_to (cr, x + w / 2 - r, y + h / 2 - r);
          cairo_line_to (cr, x + w / 2 + r, y + h / 2 + r);
          cairo_move_to (cr, x + w / 2 + r, y + h / 2 - r);
          cairo_line_to (cr, x + w / 2 - r, y + h / 2 + r);
          cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
          cairo_set_source_rgb (cr, 1, 1, 1);
          cairo_set_line_width (cr, MAX (2.5, layout.scale * 0.16) / self->zoom);
          cairo_stroke_preserve (cr);
          cairo_set_source_rgb (cr, 0.9, 0.38, 0.0);
          cairo_set_line_width (cr, MAX (1.2, layout.scale * 0.08) / self->zoom);
          cairo_stroke (cr);
        }
    }

    marks[0] = self->selected_unit;
    marks[1] = self->hover_unit;
    for (guint m = 0; m < G_N_ELEMENTS (marks); m++)
      {
        double xs[6], ys[6];
        guint n;

        if (marks[m] < 0 || (guint) marks[m] >= n_units)
          continue;
        n = som_map_layout_unit_polygon (&layout, marks[m], xs, ys);
        cairo_new_path (cr);
        for (guint i = 0; i < n; i++)
          cairo_line_to (cr, xs[i], ys[i]);
        cairo_close_path (cr);
        if (m == 0)
          {
            cairo_set_source_rgb (cr, 1, 1, 1);
            cairo_set_line_width (cr, 4.0 / self->zoom);
            cairo_stroke_preserve (cr);
            gdk_cairo_set_source_rgba (cr, &accent);
            cairo_set_line_width (cr, 2.0 / self->zoom);
          }
        else
          {
            cairo_set_source_rgba (cr, 1, 1, 1, 0.9);
            cairo_set_line_width (cr, 1.5 / self->zoom);
          }
        cairo_stroke (cr);
      }
    cairo_destroy (cr);
  }
}

static void
somscope_map_view_measure (GtkWidget      *widget,
                           GtkOrientation  orientation,
                           int             for_size,
                           int            *minimum,
                           int            *natural,
                           int            *minimum_baseline,
                           int            *natural_baseline)
{
  SomscopeMapView *self = SOMSCOPE_MAP_VIEW (widget);

  *minimum = self->compact ? 48 : 160;
  *natural = self->compact ? 96 : 480;
}

static void
somscope_map_view_size_allocate (GtkWidget *widget,
                                 int        width,
                                 int        height,
                                 int        baseline)
{
  somscope_render_job_allocate (&SOMSCOPE_MAP_VIEW (widget)->render, width, height);
}

static void
clamp_pan (SomscopeMapView *self)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self));
  double h = gtk_widget_get_height (GTK_WIDGET (self));

  /* The zoomed map always covers the widget; at zoom 1 it is centred. */
  self->pan_x = CLAMP (self->pan_x, w - w * self->zoom, 0);
  self->pan_y = CLAMP (self->pan_y, h - h * self->zoom, 0);
}

static gboolean
settle_cb (gpointer data)
{
  SomscopeMapView *self = data;

  self->settle_id = 0;
  self->interacting = FALSE;
  invalidate (self);
  return G_SOURCE_REMOVE;
}

/* A zoom step or a pan: crisp frames until the user stops for a moment. */
static void
begin_interaction (SomscopeMapView *self,
                   guint            settle_ms)
{
  self->interacting = TRUE;
  g_clear_handle_id (&self->settle_id, g_source_remove);
  if (settle_ms > 0)
    self->settle_id = g_timeout_add (settle_ms, settle_cb, self);
}

static void
zoom_around (SomscopeMapView *self,
             double           zoom,
             double           x,
             double           y)
{
  double mx, my;

  zoom = CLAMP (zoom, ZOOM_MIN, ZOOM_MAX);
  if (zoom == self->zoom)
    return;
  /* Keep the map point under (x, y) in place. */
  mx = (x - self->pan_x) / self->zoom;
  my = (y - self->pan_y) / self->zoom;
  self->zoom = zoom;
  self->pan_x = x - mx * zoom;
  self->pan_y = y - my * zoom;
  clamp_pan (self);
  begin_interaction (self, 250);
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

static void
zoom_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  SomscopeMapView *self = SOMSCOPE_MAP_VIEW (widget);
  double cx = gtk_widget_get_width (widget) / 2.0;
  double cy = gtk_widget_get_height (widget) / 2.0;

  if (g_str_equal (action_name, "map.zoom-in"))
    zoom_around (self, self->zoom * 1.25, cx, cy);
  else if (g_str_equal (action_name, "map.zoom-out"))
    zoom_around (self, self->zoom / 1.25, cx, cy);
  else
    somscope_map_view_set_zoom (self, 1.0);
}

static gboolean
scroll_cb (SomscopeMapView          *self,
           double                    dx,
           double                    dy,
           GtkEventControllerScroll *controller)
{
  GdkModifierType state;
  double x, y;

  state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  if (self->compact || !(state & GDK_CONTROL_MASK))
    return FALSE;
  if (!gdk_event_get_position (gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (controller)),
                               &x, &y))
    x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0, y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
  zoom_around (self, self->zoom * pow (1.1, -dy), x, y);
  return TRUE;
}

static void
motion_cb (SomscopeMapView          *self,
           double                    x,
           double                    y,
           GtkEventControllerMotion *controller)
{
  int unit = somscope_map_view_unit_at (self, x, y);

  if (unit != self->hover_unit)
    {
      self->hover_unit = unit;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
leave_cb (SomscopeMapView          *self,
          GtkEventControllerMotion *controller)
{
  if (self->hover_unit != -1)
    {
      self->hover_unit = -1;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
click_released_cb (SomscopeMapView *self,
                   int              n_press,
                   double           x,
                   double           y,
                   GtkGestureClick *gesture)
{
  int unit = somscope_map_view_unit_at (self, x, y);

  if (!self->compact)
    gtk_widget_grab_focus (GTK_WIDGET (self));
  if (unit >= 0)
    g_signal_emit (self, signals[UNIT_ACTIVATED], 0, unit);
}

static void
drag_begin_cb (SomscopeMapView *self,
               double           x,
               double           y,
               GtkGestureDrag  *gesture)
{
  self->drag_start_x = self->pan_x;
  self->drag_start_y = self->pan_y;
}

static void
drag_update_cb (SomscopeMapView *self,
                double           dx,
                double           dy,
                GtkGestureDrag  *gesture)
{
  if (self->zoom <= 1.0)
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  self->pan_x = self->drag_start_x + dx;
  self->pan_y = self->drag_start_y + dy;
  clamp_pan (self);
  begin_interaction (self, 0);
  invalidate (self);
}

static void
drag_end_cb (SomscopeMapView *self,
             double           dx,
             double           dy,
             GtkGestureDrag  *gesture)
{
  if (self->interacting && self->settle_id == 0)
    settle_cb (self);
}

static gboolean
query_tooltip_cb (SomscopeMapView *self,
                  int              x,
                  int              y,
                  gboolean         keyboard,
                  GtkTooltip      *tooltip)
{
  g_autofree char *text = NULL;
  int unit;

  if (keyboard)
    unit = self->selected_unit;
  else
    unit = somscope_map_view_unit_at (self, x, y);
  if (unit < 0)
    return FALSE;
  text = somscope_map_view_dup_unit_text (self, unit);
  if (text == NULL)
    return FALSE;
  gtk_tooltip_set_markup (tooltip, text);
  return TRUE;
}

static void
layer_changed_cb (SomscopeMapView *self)
{
  invalidate (self);
}

static void
layer_live_cb (SomscopeMapView *self)
{
  if (is_live (self))
    self->n_live_updates++;
}

static void
layer_overlay_changed_cb (SomscopeMapView *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
somscope_map_view_dispose (GObject *object)
{
  SomscopeMapView *self = SOMSCOPE_MAP_VIEW (object);

  g_clear_handle_id (&self->settle_id, g_source_remove);
  g_clear_object (&self->layer_signals);
  g_clear_object (&self->layer);
  g_clear_pointer (&self->class_units, g_free);
  somscope_render_job_clear (&self->render);
  G_OBJECT_CLASS (somscope_map_view_parent_class)->dispose (object);
}

static void
somscope_map_view_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  SomscopeMapView *self = SOMSCOPE_MAP_VIEW (object);

  switch (prop_id)
    {
    case PROP_LAYER:
      g_value_set_object (value, self->layer);
      break;
    case PROP_VIEW:
      g_value_set_enum (value, self->view);
      break;
    case PROP_SELECTED_UNIT:
      g_value_set_int (value, self->selected_unit);
      break;
    case PROP_FEATURE:
      g_value_set_uint (value, self->feature);
      break;
    case PROP_CLASS:
      g_value_set_int (value, self->klass);
      break;
    case PROP_COMPACT:
      g_value_set_boolean (value, self->compact);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_map_view_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  SomscopeMapView *self = SOMSCOPE_MAP_VIEW (object);

  switch (prop_id)
    {
    case PROP_LAYER:
      somscope_map_view_set_layer (self, g_value_get_object (value));
      break;
    case PROP_VIEW:
      somscope_map_view_set_view (self, g_value_get_enum (value));
      break;
    case PROP_SELECTED_UNIT:
      somscope_map_view_set_selected_unit (self, g_value_get_int (value));
      break;
    case PROP_FEATURE:
      if (self->feature != g_value_get_uint (value))
        {
          self->feature = g_value_get_uint (value);
          invalidate (self);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_CLASS:
      if (self->klass != g_value_get_int (value))
        {
          self->klass = g_value_get_int (value);
          invalidate (self);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_COMPACT:
      self->compact = g_value_get_boolean (value);
      gtk_widget_set_focusable (GTK_WIDGET (self), !self->compact);
      /* A small multiple only hovers: clicks go to the list it sits in
       * (selecting its layer), and it neither zooms nor pans. */
      gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (self->click),
                                                  self->compact ? GTK_PHASE_NONE : GTK_PHASE_BUBBLE);
      gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (self->drag),
                                                  self->compact ? GTK_PHASE_NONE : GTK_PHASE_BUBBLE);
      if (self->compact)
        gtk_widget_add_css_class (GTK_WIDGET (self), "compact");
      else
        gtk_widget_remove_css_class (GTK_WIDGET (self), "compact");
      gtk_widget_queue_resize (GTK_WIDGET (self));
      invalidate (self);
      break;
    case PROP_ZOOM:
      somscope_map_view_set_zoom (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
move_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  SomscopeMapView *self = SOMSCOPE_MAP_VIEW (widget);
  int dr, dc, unit;

  g_variant_get (param, "(ii)", &dr, &dc);
  unit = -1;
  if (has_map (self))
    {
      SomGrid *grid = som_map_get_grid (shown_map (self));
      int rows = som_grid_get_rows (grid);
      int cols = som_grid_get_cols (grid);
      int current = self->selected_unit >= 0 ? self->selected_unit : 0;
      int r = CLAMP (current / cols + (self->selected_unit >= 0 ? dr : 0), 0, rows - 1);
      int c = CLAMP (current % cols + (self->selected_unit >= 0 ? dc : 0), 0, cols - 1);

      unit = r * cols + c;
    }
  if (unit >= 0)
    g_signal_emit (self, signals[UNIT_ACTIVATED], 0, unit);
}

static void
somscope_map_view_class_init (SomscopeMapViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = somscope_map_view_dispose;
  object_class->get_property = somscope_map_view_get_property;
  object_class->set_property = somscope_map_view_set_property;

  widget_class->snapshot = somscope_map_view_snapshot;
  widget_class->measure = somscope_map_view_measure;
  widget_class->size_allocate = somscope_map_view_size_allocate;

  properties[PROP_LAYER] = g_param_spec_object ("layer", NULL, NULL, SOMSCOPE_TYPE_LAYER, rw);
  properties[PROP_VIEW] = g_param_spec_enum ("view", NULL, NULL, SOMSCOPE_TYPE_VIEW,
                                             SOMSCOPE_VIEW_UMATRIX, rw);
  properties[PROP_SELECTED_UNIT] =
    g_param_spec_int ("selected-unit", NULL, NULL, -1, G_MAXINT, -1, rw);
  properties[PROP_FEATURE] = g_param_spec_uint ("feature", NULL, NULL, 0, G_MAXUINT, 0, rw);
  /* The hit map counts the inputs of this class alone (-1: every input). */
  properties[PROP_CLASS] = g_param_spec_int ("class", NULL, NULL, -1, G_MAXINT, -1, rw);
  properties[PROP_COMPACT] = g_param_spec_boolean ("compact", NULL, NULL, FALSE,
                                                   rw | G_PARAM_CONSTRUCT);
  properties[PROP_ZOOM] = g_param_spec_double ("zoom", NULL, NULL, ZOOM_MIN, ZOOM_MAX, 1.0, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * SomscopeMapView::unit-activated:
   * @unit: the unit's index (r·C + c)
   *
   * The user clicked a unit or moved to it with the keyboard.
   */
  signals[UNIT_ACTIVATED] = g_signal_new ("unit-activated", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_install_action (widget_class, "map.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "map.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "map.zoom-reset", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "map.move", "(ii)", move_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, 0, "map.move", "(ii)", -1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, 0, "map.move", "(ii)", 1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "map.move", "(ii)", 0, -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "map.move", "(ii)", 0, 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK, "map.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK, "map.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK, "map.zoom-reset", NULL);

  gtk_widget_class_set_css_name (widget_class, "somgrid");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
somscope_map_view_init (SomscopeMapView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->selected_unit = -1;
  self->klass = -1;
  self->hover_unit = -1;
  self->zoom = 1.0;
  self->texture_zoom = 1.0;
  somscope_render_job_init (&self->render, GTK_WIDGET (self), schedule_render);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (query_tooltip_cb), NULL);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect_swapped (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect_swapped (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect_swapped (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gesture = gtk_gesture_click_new ();
  g_signal_connect_swapped (gesture, "released", G_CALLBACK (click_released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));
  self->click = gesture;

  gesture = gtk_gesture_drag_new ();
  g_signal_connect_swapped (gesture, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect_swapped (gesture, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect_swapped (gesture, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));
  self->drag = gesture;

  self->layer_signals = g_signal_group_new (SOMSCOPE_TYPE_LAYER);
  g_signal_group_connect_swapped (self->layer_signals, "notify::revision",
                                  G_CALLBACK (layer_changed_cb), self);
  g_signal_group_connect_swapped (self->layer_signals, "notify::status",
                                  G_CALLBACK (layer_changed_cb), self);
  g_signal_group_connect_swapped (self->layer_signals, "notify::live-epoch",
                                  G_CALLBACK (layer_live_cb), self);
  g_signal_group_connect_swapped (self->layer_signals, "notify::status-text",
                                  G_CALLBACK (layer_overlay_changed_cb), self);
  g_signal_group_connect_swapped (self->layer_signals, "notify::input-bmu",
                                  G_CALLBACK (layer_overlay_changed_cb), self);
  g_signal_group_connect_swapped (self->layer_signals, "notify::adversarial-bmu",
                                  G_CALLBACK (layer_overlay_changed_cb), self);

  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (layer_changed_cb), self, G_CONNECT_SWAPPED);
  update_accessible_label (self);
}

GtkWidget *
somscope_map_view_new (void)
{
  return g_object_new (SOMSCOPE_TYPE_MAP_VIEW, NULL);
}

SomscopeLayer *
somscope_map_view_get_layer (SomscopeMapView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), NULL);
  return self->layer;
}

void
somscope_map_view_set_layer (SomscopeMapView *self,
                             SomscopeLayer   *layer)
{
  g_return_if_fail (SOMSCOPE_IS_MAP_VIEW (self));
  g_return_if_fail (!layer || SOMSCOPE_IS_LAYER (layer));

  if (!g_set_object (&self->layer, layer))
    return;
  g_signal_group_set_target (self->layer_signals, layer);
  /* Another layer's map is not shown while this one renders. */
  somscope_render_job_drop (&self->render);
  self->layer_serial++;
  self->hover_unit = -1;
  self->zoom = 1.0;
  self->pan_x = self->pan_y = 0;
  update_accessible_label (self);
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAYER]);
}

SomscopeView
somscope_map_view_get_view (SomscopeMapView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), 0);
  return self->view;
}

void
somscope_map_view_set_view (SomscopeMapView *self,
                            SomscopeView     view)
{
  g_return_if_fail (SOMSCOPE_IS_MAP_VIEW (self));

  if (self->view == view)
    return;
  self->view = view;
  update_accessible_label (self);
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIEW]);
}

int
somscope_map_view_get_selected_unit (SomscopeMapView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), -1);
  return self->selected_unit;
}

void
somscope_map_view_set_selected_unit (SomscopeMapView *self,
                                     int              unit)
{
  g_return_if_fail (SOMSCOPE_IS_MAP_VIEW (self));

  if (self->selected_unit == unit)
    return;
  self->selected_unit = unit;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_UNIT]);
}

guint
somscope_map_view_get_n_live_updates (SomscopeMapView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), 0);
  return self->n_live_updates;
}

int
somscope_map_view_get_hover_unit (SomscopeMapView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), -1);
  return self->hover_unit;
}

GdkTexture *
somscope_map_view_get_texture (SomscopeMapView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), NULL);
  return somscope_render_job_get_texture (&self->render);
}

gboolean
somscope_map_view_get_rendered (SomscopeMapView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), FALSE);
  return somscope_render_job_is_current (&self->render);
}

gboolean
somscope_map_view_get_crisp (SomscopeMapView *self)
{
  SomMapData data;
  SomRenderOptions options;

  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), FALSE);
  return get_map_data (self, &data, &options) && options.crisp;
}

double
somscope_map_view_get_zoom (SomscopeMapView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), 1.0);
  return self->zoom;
}

void
somscope_map_view_set_zoom (SomscopeMapView *self,
                            double           zoom)
{
  g_return_if_fail (SOMSCOPE_IS_MAP_VIEW (self));

  zoom_around (self, zoom, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
               gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

int
somscope_map_view_unit_at (SomscopeMapView *self,
                           double           x,
                           double           y)
{
  SomMapLayout layout;
  SomMapData data;
  SomRenderOptions options;
  double rx, ry, rw, rh;

  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), -1);

  if (!get_layout (self, &layout))
    return -1;
  /* Zoomed, the units under the colour bar or the title are hidden. */
  if ((self->zoom != 1 || self->pan_x != 0 || self->pan_y != 0) && get_map_data (self, &data, &options) &&
      som_render_view_map_room (gtk_widget_get_width (GTK_WIDGET (self)), gtk_widget_get_height (GTK_WIDGET (self)),
                                core_view (self->view), &data, &options, &rx, &ry, &rw, &rh) &&
      (x < rx || y < ry || x >= rx + rw || y >= ry + rh))
    return -1;
  return som_map_layout_hit_test (&layout, (x - self->pan_x) / self->zoom,
                                  (y - self->pan_y) / self->zoom);
}

gboolean
somscope_map_view_get_unit_center (SomscopeMapView *self,
                                   guint            unit,
                                   double          *x,
                                   double          *y)
{
  SomMapLayout layout;
  double rx, ry, rw, rh;

  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), FALSE);

  if (!get_layout (self, &layout) || unit >= som_grid_get_n_units (layout.grid))
    return FALSE;
  som_map_layout_unit_rect (&layout, unit, &rx, &ry, &rw, &rh);
  *x = self->pan_x + self->zoom * (rx + rw / 2);
  *y = self->pan_y + self->zoom * (ry + rh / 2);
  return TRUE;
}

char *
somscope_map_view_dup_unit_text (SomscopeMapView *self,
                                 guint            unit)
{
  SomMap *map;
  SomGrid *grid;
  GString *text;
  const gint32 *hits;
  const float *umatrix;
  const SomArray *majority;
  const SomArray *purity;
  const char * const *names;
  const float *response;
  guint cols;

  g_return_val_if_fail (SOMSCOPE_IS_MAP_VIEW (self), NULL);

  if (!has_map (self))
    return NULL;
  map = shown_map (self);
  grid = som_map_get_grid (map);
  if (unit >= som_grid_get_n_units (grid))
    return NULL;
  cols = som_grid_get_cols (grid);
  text = g_string_new (NULL);
  /* Translators: tooltip of a map unit: its index, row and column */
  g_string_append_printf (text, _("<b>Unit %u</b> (row %u, column %u)"), unit, unit / cols, unit % cols);

  hits = map_ints (map, "hits");
  if (hits != NULL)
    g_string_append_printf (text, "\n%s %d", _("Hits:"), hits[unit]);
  if (self->view == SOMSCOPE_VIEW_HITS && self->klass >= 0 && !is_live (self))
    {
      SomMapData data;
      g_autofree char *units = NULL;

      if (somscope_layer_get_map_data (self->layer, &data) &&
          (units = somscope_map_data_select_class (&data, self->klass)) != NULL)
        {
          g_autofree char *name = data.class_names ? g_markup_escape_text (data.class_names[self->klass], -1)
                                                   : g_strdup_printf ("%d", self->klass);

          /* Translators: in a unit's tooltip, its hits of the class the hit map shows */
          g_string_append_printf (text, _("\nHits of %s: %d"), name, data.hits[unit]);
        }
    }

  /* A map still training has no hits or classes yet. */
  majority = is_live (self) ? NULL : somscope_layer_get_majority (self->layer);
  purity = is_live (self) ? NULL : somscope_layer_get_purity (self->layer);
  names = somscope_layer_get_class_names (self->layer);
  if (majority != NULL && purity != NULL)
    {
      int klass = ((const gint32 *) majority->data)[unit];
      float share = ((const float *) purity->data)[unit];

      if (klass >= 0)
        {
          g_autofree char *name = NULL;

          if (names != NULL && (guint) klass < g_strv_length ((char **) names))
            name = g_markup_escape_text (names[klass], -1);
          else
            name = g_strdup_printf ("%d", klass);
          /* Translators: majority class of a unit and the share of its hits */
          g_string_append_printf (text, _("\nMajority class: %s (purity %.0f %%)"), name, 100.0 * share);
        }
    }

  umatrix = map_floats (map, "umatrix");
  if (umatrix != NULL)
    g_string_append_printf (text, "\n%s %.4g", _("U-height:"), umatrix[unit]);

  response = is_live (self) ? NULL : somscope_layer_get_response (self->layer);
  if (self->view == SOMSCOPE_VIEW_RESPONSE && response != NULL)
    g_string_append_printf (text, "\n%s %.4g", _("Distance to the input:"), response[unit]);
  if (self->view == SOMSCOPE_VIEW_COMPONENT && self->feature < som_map_get_dim (map))
    g_string_append_printf (text, "\n%s %u: %.4g", _("Feature"), self->feature,
                            som_map_get_codebook (map)[(gsize) unit * som_map_get_dim (map) + self->feature]);
  return g_string_free (text, FALSE);
}
