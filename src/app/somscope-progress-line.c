/* somscope-progress-line.c: a thin progress line that only redraws
 *
 * GtkProgressBar allocates its progress node anew for every new fraction,
 * and in GTK 4.8 on X11 a window with any widget to lay out asks the X
 * server for its geometry and monitor (a dozen round trips) before it
 * paints.  The job line and the layer rows' lines change at every epoch,
 * so they draw the fraction instead: a new fraction queues a redraw of
 * this widget alone, never a layout.
 *
 * CSS node: progressline; the filled part uses the node's color, the
 * rest its background (style.css); its height is the node's min-height.
 * Accessible role: progress bar, with the value from 0 to 100.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "somscope-progress-line.h"

struct _SomscopeProgressLine
{
  GtkWidget parent_instance;

  double fraction;
};

enum {
  PROP_0,
  PROP_FRACTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (SomscopeProgressLine, somscope_progress_line, GTK_TYPE_WIDGET)

static void
somscope_progress_line_snapshot (GtkWidget   *widget,
                                 GtkSnapshot *snapshot)
{
  SomscopeProgressLine *self = SOMSCOPE_PROGRESS_LINE (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  GskRoundedRect clip;
  GdkRGBA color;
  float filled;

  if (width <= 0 || height <= 0)
    return;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
  G_GNUC_END_IGNORE_DEPRECATIONS
  filled = (float) round (self->fraction * width);
  if (filled <= 0)
    return;
  /* Round ends, as the trough's (its CSS border-radius). */
  gsk_rounded_rect_init_from_rect (&clip,
                                   &GRAPHENE_RECT_INIT (gtk_widget_get_direction (widget) == GTK_TEXT_DIR_RTL
                                                        ? width - filled : 0,
                                                        0, filled, height),
                                   height / 2.f);
  gtk_snapshot_push_rounded_clip (snapshot, &clip);
  gtk_snapshot_append_color (snapshot, &color, &clip.bounds);
  gtk_snapshot_pop (snapshot);
}

static void
somscope_progress_line_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  SomscopeProgressLine *self = SOMSCOPE_PROGRESS_LINE (object);

  switch (prop_id)
    {
    case PROP_FRACTION:
      g_value_set_double (value, self->fraction);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_progress_line_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  SomscopeProgressLine *self = SOMSCOPE_PROGRESS_LINE (object);

  switch (prop_id)
    {
    case PROP_FRACTION:
      somscope_progress_line_set_fraction (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_progress_line_class_init (SomscopeProgressLineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = somscope_progress_line_get_property;
  object_class->set_property = somscope_progress_line_set_property;
  widget_class->snapshot = somscope_progress_line_snapshot;

  properties[PROP_FRACTION] =
    g_param_spec_double ("fraction", NULL, NULL, 0, 1, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "progressline");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_PROGRESS_BAR);
}

static void
somscope_progress_line_init (SomscopeProgressLine *self)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_MIN, 0.0,
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_MAX, 100.0,
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_NOW, 0.0,
                                  -1);
}

GtkWidget *
somscope_progress_line_new (void)
{
  return g_object_new (SOMSCOPE_TYPE_PROGRESS_LINE, NULL);
}

double
somscope_progress_line_get_fraction (SomscopeProgressLine *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_PROGRESS_LINE (self), 0);
  return self->fraction;
}

/* A redraw, never a layout; and none at all when the line would not move
 * by a pixel (epochs come faster than the line can show them). */
void
somscope_progress_line_set_fraction (SomscopeProgressLine *self,
                                     double                fraction)
{
  int width;

  g_return_if_fail (SOMSCOPE_IS_PROGRESS_LINE (self));

  fraction = isnan (fraction) ? 0 : CLAMP (fraction, 0.0, 1.0);
  if (fraction == self->fraction)
    return;
  width = gtk_widget_get_width (GTK_WIDGET (self));
  if (width <= 0 || round (fraction * width) != round (self->fraction * width))
    gtk_widget_queue_draw (GTK_WIDGET (self));
  if (round (fraction * 100) != round (self->fraction * 100))
    gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                    GTK_ACCESSIBLE_PROPERTY_VALUE_NOW, round (fraction * 100),
                                    -1);
  self->fraction = fraction;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
}
