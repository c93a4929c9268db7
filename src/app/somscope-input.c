/* somscope-input.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "somscope-input.h"

struct _SomscopeInput
{
  GObject parent_instance;

  GdkTexture *thumbnail;
  const char *label_name;                /* interned or NULL */
  const char *prediction_name;           /* interned or NULL */
  const char *adversarial_name;          /* interned or NULL */
  gboolean    foreign_classes;           /* the label is not one of the model's classes */
  guint       index;
  int         label;
  int         prediction;
  int         adversarial_prediction;
};

enum {
  PROP_0,
  PROP_INDEX,
  PROP_THUMBNAIL,
  PROP_LABEL,
  PROP_PREDICTION,
  PROP_ADVERSARIAL_PREDICTION,
  PROP_TITLE,
  PROP_CAPTION,
  PROP_MISCLASSIFIED,
  PROP_FLIPPED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (SomscopeInput, somscope_input, G_TYPE_OBJECT)

static char *
dup_title (SomscopeInput *self)
{
  return g_strdup_printf (_("Image %u"), self->index);
}

/* "Coat → Shirt" for a misclassified input, "Coat" otherwise; without a
 * label, "→ Shirt", the model's answer. */
static char *
dup_caption (SomscopeInput *self)
{
  const char *truth = self->label_name ? self->label_name : _("unlabelled");

  if (self->label_name == NULL && self->prediction_name != NULL)
    return g_strdup_printf ("→ %s", self->prediction_name);
  if (self->prediction_name != NULL && (self->prediction != self->label || self->foreign_classes))
    return g_strdup_printf ("%s → %s", truth, self->prediction_name);
  return g_strdup (truth);
}

gboolean
somscope_input_get_misclassified (SomscopeInput *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_INPUT (self), FALSE);
  return self->label >= 0 && self->prediction >= 0 && self->label != self->prediction && !self->foreign_classes;
}

static gboolean
get_flipped (SomscopeInput *self)
{
  return self->adversarial_prediction >= 0 && self->adversarial_prediction != self->prediction;
}

static void
somscope_input_finalize (GObject *object)
{
  SomscopeInput *self = SOMSCOPE_INPUT (object);

  g_clear_object (&self->thumbnail);
  G_OBJECT_CLASS (somscope_input_parent_class)->finalize (object);
}

static void
somscope_input_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  SomscopeInput *self = SOMSCOPE_INPUT (object);

  switch (prop_id)
    {
    case PROP_INDEX:
      g_value_set_uint (value, self->index);
      break;
    case PROP_THUMBNAIL:
      g_value_set_object (value, self->thumbnail);
      break;
    case PROP_LABEL:
      g_value_set_int (value, self->label);
      break;
    case PROP_PREDICTION:
      g_value_set_int (value, self->prediction);
      break;
    case PROP_ADVERSARIAL_PREDICTION:
      g_value_set_int (value, self->adversarial_prediction);
      break;
    case PROP_TITLE:
      g_value_take_string (value, dup_title (self));
      break;
    case PROP_CAPTION:
      g_value_take_string (value, dup_caption (self));
      break;
    case PROP_MISCLASSIFIED:
      g_value_set_boolean (value, somscope_input_get_misclassified (self));
      break;
    case PROP_FLIPPED:
      g_value_set_boolean (value, get_flipped (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_input_class_init (SomscopeInputClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = somscope_input_finalize;
  object_class->get_property = somscope_input_get_property;

  properties[PROP_INDEX] = g_param_spec_uint ("index", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_THUMBNAIL] = g_param_spec_object ("thumbnail", NULL, NULL, GDK_TYPE_TEXTURE, ro);
  properties[PROP_LABEL] = g_param_spec_int ("label", NULL, NULL, -1, G_MAXINT, -1, ro);
  properties[PROP_PREDICTION] = g_param_spec_int ("prediction", NULL, NULL, -1, G_MAXINT, -1, ro);
  properties[PROP_ADVERSARIAL_PREDICTION] =
    g_param_spec_int ("adversarial-prediction", NULL, NULL, -1, G_MAXINT, -1, ro);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, ro);
  properties[PROP_CAPTION] = g_param_spec_string ("caption", NULL, NULL, NULL, ro);
  properties[PROP_MISCLASSIFIED] = g_param_spec_boolean ("misclassified", NULL, NULL, FALSE, ro);
  properties[PROP_FLIPPED] = g_param_spec_boolean ("flipped", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
somscope_input_init (SomscopeInput *self)
{
  self->label = -1;
  self->prediction = -1;
  self->adversarial_prediction = -1;
}

SomscopeInput *
somscope_input_new (guint       index,
                    GdkTexture *thumbnail,
                    int         label,
                    const char *label_name,
                    int         prediction,
                    const char *prediction_name)
{
  SomscopeInput *self = g_object_new (SOMSCOPE_TYPE_INPUT, NULL);

  self->index = index;
  self->thumbnail = thumbnail ? g_object_ref (thumbnail) : NULL;
  self->label = label;
  self->label_name = g_intern_string (label_name);
  self->prediction = prediction;
  self->prediction_name = g_intern_string (prediction_name);
  return self;
}

guint
somscope_input_get_index (SomscopeInput *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_INPUT (self), 0);
  return self->index;
}

int
somscope_input_get_label (SomscopeInput *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_INPUT (self), -1);
  return self->label;
}

int
somscope_input_get_prediction (SomscopeInput *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_INPUT (self), -1);
  return self->prediction;
}

int
somscope_input_get_adversarial_prediction (SomscopeInput *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_INPUT (self), -1);
  return self->adversarial_prediction;
}

GdkTexture *
somscope_input_get_thumbnail (SomscopeInput *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_INPUT (self), NULL);
  return self->thumbnail;
}

/* The label is a class of the images, not of the model (their classes
 * differ): the caption gives both, and it is never "misclassified". */
void
somscope_input_set_foreign_classes (SomscopeInput *self,
                                    gboolean       foreign)
{
  g_return_if_fail (SOMSCOPE_IS_INPUT (self));

  if (self->foreign_classes == !!foreign)
    return;
  self->foreign_classes = !!foreign;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAPTION]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MISCLASSIFIED]);
}

void
somscope_input_set_adversarial_prediction (SomscopeInput *self,
                                           int            prediction,
                                           const char    *prediction_name)
{
  g_return_if_fail (SOMSCOPE_IS_INPUT (self));

  if (self->adversarial_prediction == prediction)
    return;
  self->adversarial_prediction = prediction;
  self->adversarial_name = g_intern_string (prediction_name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ADVERSARIAL_PREDICTION]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FLIPPED]);
}
