/* somscope-layer-row.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "somscope-layer-row.h"
#include "somscope-progress-line.h"

struct _SomscopeLayerRow
{
  GtkWidget parent_instance;

  /* Template widgets */
  GtkCheckButton *check;

  /* Owned */
  SomscopeLayer *layer;
  GBinding      *mapped_binding;
};

enum {
  PROP_0,
  PROP_LAYER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (SomscopeLayerRow, somscope_layer_row, GTK_TYPE_WIDGET)

/* Tooltips are asked for when shown rather than set: on X11, GTK 4.8 asks
 * the server where the pointer is whenever a visible widget's tooltip text
 * is set, a round trip per row built and per status change of every
 * training layer. */
static gboolean
set_tooltip (GtkTooltip *tooltip,
             const char *text)
{
  if (text == NULL || *text == '\0')
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static gboolean
check_query_tooltip_cb (SomscopeLayerRow *self,
                        int               x,
                        int               y,
                        gboolean          keyboard,
                        GtkTooltip       *tooltip)
{
  return set_tooltip (tooltip, _("Map This Layer"));
}

static gboolean
name_query_tooltip_cb (SomscopeLayerRow *self,
                       int               x,
                       int               y,
                       gboolean          keyboard,
                       GtkTooltip       *tooltip)
{
  return self->layer != NULL && set_tooltip (tooltip, somscope_layer_get_name (self->layer));
}

static gboolean
status_query_tooltip_cb (SomscopeLayerRow *self,
                         int               x,
                         int               y,
                         gboolean          keyboard,
                         GtkTooltip       *tooltip)
{
  g_autofree char *text = NULL;

  if (self->layer == NULL)
    return FALSE;
  g_object_get (self->layer, "status-text", &text, NULL);
  return set_tooltip (tooltip, text);
}

static void
somscope_layer_row_dispose (GObject *object)
{
  SomscopeLayerRow *self = SOMSCOPE_LAYER_ROW (object);

  GtkWidget *child;

  somscope_layer_row_set_layer (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), SOMSCOPE_TYPE_LAYER_ROW);
  /* The template's unnamed box is not a bound child: unparent it too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (somscope_layer_row_parent_class)->dispose (object);
}

static void
somscope_layer_row_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  SomscopeLayerRow *self = SOMSCOPE_LAYER_ROW (object);

  switch (prop_id)
    {
    case PROP_LAYER:
      g_value_set_object (value, self->layer);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_layer_row_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  SomscopeLayerRow *self = SOMSCOPE_LAYER_ROW (object);

  switch (prop_id)
    {
    case PROP_LAYER:
      somscope_layer_row_set_layer (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static double
progress_opacity (SomscopeLayerRow *self,
                  gboolean          training)
{
  return training ? 1.0 : 0.0;
}

static void
somscope_layer_row_class_init (SomscopeLayerRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = somscope_layer_row_dispose;
  object_class->get_property = somscope_layer_row_get_property;
  object_class->set_property = somscope_layer_row_set_property;

  properties[PROP_LAYER] =
    g_param_spec_object ("layer", NULL, NULL, SOMSCOPE_TYPE_LAYER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SOMSCOPE_TYPE_PROGRESS_LINE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE_PATH "/somscope-layer-row.ui");
  gtk_widget_class_bind_template_child (widget_class, SomscopeLayerRow, check);
  gtk_widget_class_bind_template_callback (widget_class, check_query_tooltip_cb);
  gtk_widget_class_bind_template_callback (widget_class, name_query_tooltip_cb);
  gtk_widget_class_bind_template_callback (widget_class, status_query_tooltip_cb);
  gtk_widget_class_bind_template_callback (widget_class, progress_opacity);
  gtk_widget_class_set_css_name (widget_class, "layerrow");
}

static void
somscope_layer_row_init (SomscopeLayerRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

SomscopeLayer *
somscope_layer_row_get_layer (SomscopeLayerRow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER_ROW (self), NULL);
  return self->layer;
}

void
somscope_layer_row_set_layer (SomscopeLayerRow *self,
                              SomscopeLayer    *layer)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER_ROW (self));
  g_return_if_fail (!layer || SOMSCOPE_IS_LAYER (layer));

  if (self->layer == layer)
    return;

  if (self->mapped_binding != NULL)
    g_binding_unbind (self->mapped_binding);
  self->mapped_binding = NULL;
  g_set_object (&self->layer, layer);

  /* The checkbox edits the layer, so this binding goes both ways (an
   * expression binding in the template would only go one way). */
  if (layer != NULL)
    self->mapped_binding = g_object_bind_property (layer, "mapped", self->check, "active",
                                                   G_BINDING_SYNC_CREATE | G_BINDING_BIDIRECTIONAL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAYER]);
}
