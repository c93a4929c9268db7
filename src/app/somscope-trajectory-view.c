/* somscope-trajectory-view.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <glib/gi18n.h>
#include <adwaita.h>

#include "som-render.h"

#include "somscope-render-job.h"
#include "somscope-trajectory-view.h"

struct _SomscopeTrajectoryView
{
  GtkWidget parent_instance;

  /* Owned */
  GListModel    *layers;
  GPtrArray     *watched;      /* SomscopeLayer: every item of @layers, for their notify:: */
  GPtrArray     *shown;        /* SomscopeLayer: those with a map, in order */
  GArray        *clean;        /* int per shown layer */
  GArray        *adversarial;  /* int per shown layer */
  GArray        *distances;    /* double per shown layer */
  int            divergence;
  gboolean       chart;
  gboolean       pointing;     /* the pointer is over a layer's map */
  SomscopeRenderJob render;    /* the drawing, rendered in a worker */
};

enum {
  PROP_0,
  PROP_LAYERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  LAYER_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SomscopeTrajectoryView, somscope_trajectory_view, GTK_TYPE_WIDGET)

#define FONT_SIZE 9.0

/* -- rendering in a worker, as the map view does (somscope-render-job.c):
 * the core renderer draws every shown layer's map and the chart from data
 * the job owns, the main thread paints the texture. */

typedef struct
{
  GPtrArray        *copies;      /* SomscopeMapDataCopy, one per shown layer */
  SomMapData       *data;
  int              *clean;
  int              *adversarial;
  double           *distances;   /* or NULL: no chart */
  int               divergence;
  SomRenderOptions  options;
} TrajectoryJob;

static void
trajectory_job_free (TrajectoryJob *job)
{
  g_ptr_array_unref (job->copies);
  g_free (job->data);
  g_free (job->clean);
  g_free (job->adversarial);
  g_free (job->distances);
  g_free (job);
}

static void
render_draw (gpointer  data,
             cairo_t  *cr,
             int       width,
             int       height)
{
  TrajectoryJob *job = data;
  g_autoptr(GError) error = NULL;

  if (!som_render_trajectory (cr, width, height, job->data, job->copies->len,
                              job->clean, job->adversarial, job->distances, job->divergence,
                              &job->options, &error))
    g_debug ("trajectory: %s", error->message);
}

static void
schedule_render (GtkWidget *widget)
{
  SomscopeTrajectoryView *self = SOMSCOPE_TRAJECTORY_VIEW (widget);
  TrajectoryJob *job;
  guint n = self->shown->len;

  if (!somscope_render_job_needed (&self->render))
    return;
  if (n == 0)
    {
      somscope_render_job_skip (&self->render);
      return;
    }

  job = g_new0 (TrajectoryJob, 1);
  job->copies = g_ptr_array_new_with_free_func ((GDestroyNotify) somscope_map_data_copy_free);
  job->data = g_new0 (SomMapData, n);
  for (guint i = 0; i < n; i++)
    {
      SomscopeMapDataCopy *copy = somscope_layer_dup_map_data (g_ptr_array_index (self->shown, i));

      /* shown holds layers with a map, so there is data for each */
      g_ptr_array_add (job->copies, copy);
      if (copy != NULL)
        job->data[i] = copy->data;
    }
  job->clean = g_memdup2 (self->clean->data, n * sizeof (int));
  job->adversarial = g_memdup2 (self->adversarial->data, n * sizeof (int));
  job->distances = self->chart ? g_memdup2 (self->distances->data, n * sizeof (double)) : NULL;
  job->divergence = self->divergence;
  som_render_options_init (&job->options);
  if (adw_style_manager_get_dark (adw_style_manager_get_default ()))
    job->options.theme = SOM_RENDER_THEME_DARK;
  job->options.font_size = FONT_SIZE;
  somscope_render_job_start (&self->render, job, (GDestroyNotify) trajectory_job_free, render_draw, NULL);
}

static void
invalidate (SomscopeTrajectoryView *self)
{
  somscope_render_job_invalidate (&self->render);
}

/* The data the renderer takes, prepared once per change rather than per
 * frame: which layers have maps, both BMUs on each, their distance and the
 * divergence layer. */
static void
update_data (SomscopeTrajectoryView *self)
{
  guint n = self->layers ? g_list_model_get_n_items (self->layers) : 0;
  guint before = self->shown->len;
  gboolean complete = TRUE;

  g_ptr_array_set_size (self->shown, 0);
  g_array_set_size (self->clean, 0);
  g_array_set_size (self->adversarial, 0);
  g_array_set_size (self->distances, 0);
  self->divergence = -1;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (self->layers, i);
      SomMap *map = somscope_layer_get_map (layer);
      SomGrid *grid;
      int a, b;
      double d = NAN;

      if (map == NULL)
        continue;
      grid = som_map_get_grid (map);
      a = somscope_layer_get_input_bmu (layer);
      b = somscope_layer_get_adversarial_bmu (layer);
      if (a >= 0 && b >= 0)
        {
          d = som_grid_distance (grid, a, b);
          if (self->divergence < 0 && a != b && !som_grid_are_neighbours (grid, a, b))
            self->divergence = self->shown->len;
        }
      else
        complete = FALSE;
      g_ptr_array_add (self->shown, g_object_ref (layer));
      g_array_append_val (self->clean, a);
      g_array_append_val (self->adversarial, b);
      g_array_append_val (self->distances, d);
    }
  self->chart = complete && self->shown->len > 0;
  if (before != self->shown->len)
    gtk_widget_queue_resize (GTK_WIDGET (self));
  invalidate (self);
}

static void
unwatch_all (SomscopeTrajectoryView *self)
{
  for (guint i = 0; i < self->watched->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->watched, i), self);
  g_ptr_array_set_size (self->watched, 0);
}

static void
layer_notify_cb (SomscopeTrajectoryView *self,
                 GParamSpec             *pspec,
                 SomscopeLayer          *layer)
{
  update_data (self);
}

static void
items_changed_cb (SomscopeTrajectoryView *self)
{
  guint n = g_list_model_get_n_items (self->layers);

  unwatch_all (self);
  for (guint i = 0; i < n; i++)
    {
      SomscopeLayer *layer = g_list_model_get_item (self->layers, i);

      g_signal_connect_swapped (layer, "notify::input-bmu", G_CALLBACK (layer_notify_cb), self);
      g_signal_connect_swapped (layer, "notify::adversarial-bmu", G_CALLBACK (layer_notify_cb), self);
      g_signal_connect_swapped (layer, "notify::revision", G_CALLBACK (layer_notify_cb), self);
      g_ptr_array_add (self->watched, layer);
    }
  update_data (self);
}

static void
somscope_trajectory_view_snapshot (GtkWidget   *widget,
                                   GtkSnapshot *snapshot)
{
  SomscopeTrajectoryView *self = SOMSCOPE_TRAJECTORY_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  if (width <= 0 || height <= 0)
    return;
  if (self->shown->len == 0)
    {
      somscope_render_job_snapshot_message (&self->render, snapshot,
                                            _("The trajectory shows once a map is trained"));
      return;
    }

  /* The drawing comes from the worker; until a newer one arrives the last
   * is shown. */
  somscope_render_job_snapshot (&self->render, snapshot);
}

static GtkSizeRequestMode
somscope_trajectory_view_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
somscope_trajectory_view_measure (GtkWidget      *widget,
                                  GtkOrientation  orientation,
                                  int             for_size,
                                  int            *minimum,
                                  int            *natural,
                                  int            *minimum_baseline,
                                  int            *natural_baseline)
{
  SomscopeTrajectoryView *self = SOMSCOPE_TRAJECTORY_VIEW (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 200;
      *natural = 360;
    }
  else
    {
      double width = for_size > 0 ? for_size : 360;

      /* The renderer's natural aspect: the maps in rows, the chart below. */
      *minimum = 160;
      *natural = MAX (*minimum, (int) ceil (som_render_trajectory_natural_height (MAX (self->shown->len, 1),
                                                                                    width)));
    }
}

static void
somscope_trajectory_view_size_allocate (GtkWidget *widget,
                                        int        width,
                                        int        height,
                                        int        baseline)
{
  somscope_render_job_allocate (&SOMSCOPE_TRAJECTORY_VIEW (widget)->render, width, height);
}

static void
somscope_trajectory_view_dispose (GObject *object)
{
  SomscopeTrajectoryView *self = SOMSCOPE_TRAJECTORY_VIEW (object);

  somscope_trajectory_view_set_layers (self, NULL);
  somscope_render_job_clear (&self->render);
  G_OBJECT_CLASS (somscope_trajectory_view_parent_class)->dispose (object);
}

static void
somscope_trajectory_view_finalize (GObject *object)
{
  SomscopeTrajectoryView *self = SOMSCOPE_TRAJECTORY_VIEW (object);

  g_ptr_array_unref (self->watched);
  g_ptr_array_unref (self->shown);
  g_array_unref (self->clean);
  g_array_unref (self->adversarial);
  g_array_unref (self->distances);
  G_OBJECT_CLASS (somscope_trajectory_view_parent_class)->finalize (object);
}

static void
somscope_trajectory_view_get_property (GObject    *object,
                                       guint       prop_id,
                                       GValue     *value,
                                       GParamSpec *pspec)
{
  SomscopeTrajectoryView *self = SOMSCOPE_TRAJECTORY_VIEW (object);

  switch (prop_id)
    {
    case PROP_LAYERS:
      g_value_set_object (value, self->layers);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_trajectory_view_set_property (GObject      *object,
                                       guint         prop_id,
                                       const GValue *value,
                                       GParamSpec   *pspec)
{
  SomscopeTrajectoryView *self = SOMSCOPE_TRAJECTORY_VIEW (object);

  switch (prop_id)
    {
    case PROP_LAYERS:
      somscope_trajectory_view_set_layers (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* Which shown layer's panel is at (@x, @y), or -1. */
static int
panel_at (SomscopeTrajectoryView *self,
          double                  x,
          double                  y)
{
  g_autofree SomMapData *data = NULL;
  SomRenderOptions options;
  guint n = self->shown->len;

  if (n == 0)
    return -1;
  data = g_new0 (SomMapData, n);
  for (guint i = 0; i < n; i++)
    if (!somscope_layer_get_map_data (g_ptr_array_index (self->shown, i), &data[i]))
      return -1;
  som_render_options_init (&options);
  options.font_size = FONT_SIZE;
  return som_render_trajectory_panel_at (gtk_widget_get_width (GTK_WIDGET (self)),
                                         gtk_widget_get_height (GTK_WIDGET (self)),
                                         data, n, &options, x, y);
}

SomscopeLayer *
somscope_trajectory_view_layer_at (SomscopeTrajectoryView *self,
                                   double                  x,
                                   double                  y)
{
  int i;

  g_return_val_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self), NULL);

  i = panel_at (self, x, y);
  return i >= 0 ? g_ptr_array_index (self->shown, i) : NULL;
}

static void
released_cb (SomscopeTrajectoryView *self,
             int                     n_press,
             double                  x,
             double                  y)
{
  SomscopeLayer *layer = somscope_trajectory_view_layer_at (self, x, y);

  if (layer != NULL)
    g_signal_emit (self, signals[LAYER_ACTIVATED], 0, layer);
}

/* A hand over the maps says they can be clicked. */
static void
motion_cb (SomscopeTrajectoryView *self,
           double                  x,
           double                  y)
{
  gboolean pointing = panel_at (self, x, y) >= 0;

  if (pointing != self->pointing)
    {
      self->pointing = pointing;
      gtk_widget_set_cursor_from_name (GTK_WIDGET (self), pointing ? "pointer" : NULL);
    }
}

static gboolean
query_tooltip_cb (SomscopeTrajectoryView *self,
                  int                     x,
                  int                     y,
                  gboolean                keyboard,
                  GtkTooltip             *tooltip)
{
  int i = keyboard ? -1 : panel_at (self, x, y);
  SomscopeLayer *layer;
  g_autoptr(GString) text = NULL;
  g_autofree char *name = NULL;
  int clean, adversarial;
  double distance;

  if (i < 0)
    return FALSE;
  layer = g_ptr_array_index (self->shown, i);
  clean = g_array_index (self->clean, int, i);
  adversarial = g_array_index (self->adversarial, int, i);
  distance = g_array_index (self->distances, double, i);
  name = g_markup_escape_text (somscope_layer_get_short_name (layer), -1);
  text = g_string_new (NULL);
  g_string_append_printf (text, "<b>%s</b>", name);
  if (clean >= 0)
    /* Translators: in the trajectory's tooltip, the selected input's best-matching unit */
    g_string_append_printf (text, _("\nClean: unit %d"), clean);
  if (adversarial >= 0)
    /* Translators: in the trajectory's tooltip, the adversarial input's best-matching unit */
    g_string_append_printf (text, _("\nAdversarial: unit %d"), adversarial);
  if (isfinite (distance))
    /* Translators: in the trajectory's tooltip, the grid distance between the two units */
    g_string_append_printf (text, _("\n%.3g apart on the map"), distance);
  /* Translators: in the trajectory's tooltip: a click on a layer's map shows it in the main view */
  g_string_append_printf (text, "\n<small>%s</small>", _("Click to show this layer"));
  gtk_tooltip_set_markup (tooltip, text->str);
  return TRUE;
}

static void
somscope_trajectory_view_class_init (SomscopeTrajectoryViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = somscope_trajectory_view_dispose;
  object_class->finalize = somscope_trajectory_view_finalize;
  object_class->get_property = somscope_trajectory_view_get_property;
  object_class->set_property = somscope_trajectory_view_set_property;

  widget_class->snapshot = somscope_trajectory_view_snapshot;
  widget_class->get_request_mode = somscope_trajectory_view_get_request_mode;
  widget_class->measure = somscope_trajectory_view_measure;
  widget_class->size_allocate = somscope_trajectory_view_size_allocate;

  properties[PROP_LAYERS] =
    g_param_spec_object ("layers", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * SomscopeTrajectoryView::layer-activated:
   * @layer: the layer whose map was clicked
   */
  signals[LAYER_ACTIVATED] = g_signal_new ("layer-activated", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 1, SOMSCOPE_TYPE_LAYER);

  gtk_widget_class_set_css_name (widget_class, "somtrajectory");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
somscope_trajectory_view_init (SomscopeTrajectoryView *self)
{
  GtkEventController *controller;

  self->watched = g_ptr_array_new_with_free_func (g_object_unref);
  self->shown = g_ptr_array_new_with_free_func (g_object_unref);
  self->clean = g_array_new (FALSE, FALSE, sizeof (int));
  self->adversarial = g_array_new (FALSE, FALSE, sizeof (int));
  self->distances = g_array_new (FALSE, FALSE, sizeof (double));
  self->divergence = -1;
  somscope_render_job_init (&self->render, GTK_WIDGET (self), schedule_render);

  controller = GTK_EVENT_CONTROLLER (gtk_gesture_click_new ());
  g_signal_connect_swapped (controller, "released", G_CALLBACK (released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
  controller = gtk_event_controller_motion_new ();
  g_signal_connect_swapped (controller, "motion", G_CALLBACK (motion_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (query_tooltip_cb), NULL);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (invalidate), self, G_CONNECT_SWAPPED);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("The selected input on every layer's map, clean and adversarial, and their distance per layer"),
                                  -1);
}

GtkWidget *
somscope_trajectory_view_new (void)
{
  return g_object_new (SOMSCOPE_TYPE_TRAJECTORY_VIEW, NULL);
}

GListModel *
somscope_trajectory_view_get_layers (SomscopeTrajectoryView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self), NULL);
  return self->layers;
}

void
somscope_trajectory_view_set_layers (SomscopeTrajectoryView *self,
                                     GListModel             *layers)
{
  g_return_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self));
  g_return_if_fail (!layers || G_IS_LIST_MODEL (layers));

  if (self->layers == layers)
    return;
  unwatch_all (self);
  if (self->layers != NULL)
    g_signal_handlers_disconnect_by_data (self->layers, self);
  g_set_object (&self->layers, layers);
  if (layers != NULL)
    {
      g_signal_connect_swapped (layers, "items-changed", G_CALLBACK (items_changed_cb), self);
      items_changed_cb (self);
    }
  else
    update_data (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAYERS]);
}

guint
somscope_trajectory_view_get_n_layers (SomscopeTrajectoryView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self), 0);
  return self->shown->len;
}

SomscopeLayer *
somscope_trajectory_view_get_layer (SomscopeTrajectoryView *self,
                                    guint                   i)
{
  g_return_val_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self), NULL);
  g_return_val_if_fail (i < self->shown->len, NULL);
  return g_ptr_array_index (self->shown, i);
}

int
somscope_trajectory_view_get_clean_bmu (SomscopeTrajectoryView *self,
                                        guint                   i)
{
  g_return_val_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self), -1);
  g_return_val_if_fail (i < self->clean->len, -1);
  return g_array_index (self->clean, int, i);
}

int
somscope_trajectory_view_get_adversarial_bmu (SomscopeTrajectoryView *self,
                                              guint                   i)
{
  g_return_val_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self), -1);
  g_return_val_if_fail (i < self->adversarial->len, -1);
  return g_array_index (self->adversarial, int, i);
}

double
somscope_trajectory_view_get_distance (SomscopeTrajectoryView *self,
                                       guint                   i)
{
  g_return_val_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self), NAN);
  g_return_val_if_fail (i < self->distances->len, NAN);
  return g_array_index (self->distances, double, i);
}

int
somscope_trajectory_view_get_divergence_layer (SomscopeTrajectoryView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self), -1);
  return self->divergence;
}

gboolean
somscope_trajectory_view_has_chart (SomscopeTrajectoryView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self), FALSE);
  return self->chart;
}

GdkTexture *
somscope_trajectory_view_get_texture (SomscopeTrajectoryView *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (self), NULL);
  return somscope_render_job_get_texture (&self->render);
}
