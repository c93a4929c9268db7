/* somscope-layer.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "somscope-enums.h"
#include "somscope-layer.h"
#include "som.h"

struct _SomscopeLayer
{
  GObject parent_instance;

  char                *name;
  char                *short_name;
  char                *op;
  char                *shape;
  char                *message;
  guint                index;
  gboolean             mapped;
  SomscopeLayerStatus  status;
  double               progress;
  guint                epoch;
  guint                n_epochs;
  double               quantization_error;
  double               topographic_error;
  SomscopeCodes       *codes;
  SomscopeCodes       *adversarial_codes;
  SomArray            *adversarial_bmus;
  GStrv                class_names;
  SomMap              *map;
  SomMap              *live_map;      /* while training: the codebook after the last epoch */
  guint                live_epoch;
  SomArray            *majority;
  SomArray            *purity;
  float               *response;
  int                  input;
  int                  input_bmu;
  int                  adversarial_bmu;
  guint                revision;
};

enum {
  PROP_0,
  PROP_INDEX,
  PROP_NAME,
  PROP_SHORT_NAME,
  PROP_OP,
  PROP_SHAPE,
  PROP_DETAILS,
  PROP_MAPPED,
  PROP_STATUS,
  PROP_STATUS_TEXT,
  PROP_STATUS_LABEL,
  PROP_PROGRESS,
  PROP_TRAINING,
  PROP_EPOCH,
  PROP_QUANTIZATION_ERROR,
  PROP_TOPOGRAPHIC_ERROR,
  PROP_INPUT_BMU,
  PROP_ADVERSARIAL_BMU,
  PROP_REVISION,
  PROP_LIVE_EPOCH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (SomscopeLayer, somscope_layer, G_TYPE_OBJECT)

static char *
dup_status_text (SomscopeLayer *self)
{
  switch (self->status)
    {
    case SOMSCOPE_LAYER_STATUS_IDLE:
      return g_strdup (_("Not mapped"));
    case SOMSCOPE_LAYER_STATUS_WAITING:
      return g_strdup (_("Waiting"));
    case SOMSCOPE_LAYER_STATUS_TRAINING:
      if (self->n_epochs > 0 && self->epoch > 0)
        /* Translators: training progress of a layer's map */
        return g_strdup_printf (_("Epoch %u of %u"), self->epoch, self->n_epochs);
      return g_strdup (_("Training"));
    case SOMSCOPE_LAYER_STATUS_DONE:
      /* Translators: QE is the quantization error, TE the topographic error */
      return g_strdup_printf (_("QE %.3g · TE %.2f"), self->quantization_error,
                              self->topographic_error);
    case SOMSCOPE_LAYER_STATUS_FAILED:
      return g_strdup (self->message ? self->message : _("Failed"));
    default:
      g_assert_not_reached ();
    }
}

static char *
dup_status_label (SomscopeLayer *self)
{
  if (self->status == SOMSCOPE_LAYER_STATUS_TRAINING)
    /* Translators: a layer's status in the sidebar while its map trains */
    return g_strdup (_("Training"));
  return dup_status_text (self);
}

static void
somscope_layer_finalize (GObject *object)
{
  SomscopeLayer *self = SOMSCOPE_LAYER (object);

  g_free (self->name);
  g_free (self->short_name);
  g_free (self->op);
  g_free (self->shape);
  g_free (self->message);
  g_clear_pointer (&self->codes, somscope_codes_unref);
  g_clear_pointer (&self->adversarial_codes, somscope_codes_unref);
  g_clear_pointer (&self->adversarial_bmus, som_array_free);
  g_strfreev (self->class_names);
  g_clear_object (&self->map);
  g_clear_object (&self->live_map);
  g_clear_pointer (&self->majority, som_array_free);
  g_clear_pointer (&self->purity, som_array_free);
  g_free (self->response);
  G_OBJECT_CLASS (somscope_layer_parent_class)->finalize (object);
}

static void
somscope_layer_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  SomscopeLayer *self = SOMSCOPE_LAYER (object);

  switch (prop_id)
    {
    case PROP_INDEX:
      g_value_set_uint (value, self->index);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_SHORT_NAME:
      g_value_set_string (value, self->short_name);
      break;
    case PROP_OP:
      g_value_set_string (value, self->op);
      break;
    case PROP_SHAPE:
      g_value_set_string (value, self->shape);
      break;
    case PROP_DETAILS:
      g_value_take_string (value, g_strdup_printf ("%s · %s", self->op, self->shape));
      break;
    case PROP_MAPPED:
      g_value_set_boolean (value, self->mapped);
      break;
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case PROP_STATUS_TEXT:
      g_value_take_string (value, dup_status_text (self));
      break;
    case PROP_STATUS_LABEL:
      g_value_take_string (value, dup_status_label (self));
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case PROP_TRAINING:
      g_value_set_boolean (value, self->status == SOMSCOPE_LAYER_STATUS_TRAINING);
      break;
    case PROP_EPOCH:
      g_value_set_uint (value, self->epoch);
      break;
    case PROP_QUANTIZATION_ERROR:
      g_value_set_double (value, self->quantization_error);
      break;
    case PROP_TOPOGRAPHIC_ERROR:
      g_value_set_double (value, self->topographic_error);
      break;
    case PROP_INPUT_BMU:
      g_value_set_int (value, self->input_bmu);
      break;
    case PROP_ADVERSARIAL_BMU:
      g_value_set_int (value, self->adversarial_bmu);
      break;
    case PROP_REVISION:
      g_value_set_uint (value, self->revision);
      break;
    case PROP_LIVE_EPOCH:
      g_value_set_uint (value, self->live_epoch);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_layer_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  SomscopeLayer *self = SOMSCOPE_LAYER (object);

  switch (prop_id)
    {
    case PROP_MAPPED:
      somscope_layer_set_mapped (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_layer_class_init (SomscopeLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = somscope_layer_finalize;
  object_class->get_property = somscope_layer_get_property;
  object_class->set_property = somscope_layer_set_property;

  properties[PROP_INDEX] = g_param_spec_uint ("index", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, ro);
  properties[PROP_SHORT_NAME] = g_param_spec_string ("short-name", NULL, NULL, NULL, ro);
  properties[PROP_OP] = g_param_spec_string ("op", NULL, NULL, NULL, ro);
  properties[PROP_SHAPE] = g_param_spec_string ("shape", NULL, NULL, NULL, ro);
  properties[PROP_DETAILS] = g_param_spec_string ("details", NULL, NULL, NULL, ro);
  properties[PROP_MAPPED] = g_param_spec_boolean ("mapped", NULL, NULL, FALSE, rw);
  properties[PROP_STATUS] = g_param_spec_enum ("status", NULL, NULL, SOMSCOPE_TYPE_LAYER_STATUS,
                                               SOMSCOPE_LAYER_STATUS_IDLE, ro);
  properties[PROP_STATUS_TEXT] = g_param_spec_string ("status-text", NULL, NULL, NULL, ro);
  /* The same without the epoch: the sidebar's line, which changes size
   * (and so lays the window out again) only when the status changes; the
   * rows' progress lines and tooltips say the epoch. */
  properties[PROP_STATUS_LABEL] = g_param_spec_string ("status-label", NULL, NULL, NULL, ro);
  properties[PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, ro);
  properties[PROP_TRAINING] = g_param_spec_boolean ("training", NULL, NULL, FALSE, ro);
  properties[PROP_EPOCH] = g_param_spec_uint ("epoch", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_QUANTIZATION_ERROR] =
    g_param_spec_double ("quantization-error", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
  properties[PROP_TOPOGRAPHIC_ERROR] =
    g_param_spec_double ("topographic-error", NULL, NULL, 0, 1, 0, ro);
  properties[PROP_INPUT_BMU] = g_param_spec_int ("input-bmu", NULL, NULL, -1, G_MAXINT, -1, ro);
  properties[PROP_ADVERSARIAL_BMU] =
    g_param_spec_int ("adversarial-bmu", NULL, NULL, -1, G_MAXINT, -1, ro);
  properties[PROP_REVISION] = g_param_spec_uint ("revision", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_LIVE_EPOCH] = g_param_spec_uint ("live-epoch", NULL, NULL, 0, G_MAXUINT, 0, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
somscope_layer_init (SomscopeLayer *self)
{
  self->input = -1;
  self->input_bmu = -1;
  self->adversarial_bmu = -1;
}

SomscopeLayer *
somscope_layer_new (guint       index,
                    const char *name,
                    const char *op,
                    const char *shape,
                    gboolean    mapped)
{
  SomscopeLayer *self = g_object_new (SOMSCOPE_TYPE_LAYER, NULL);

  self->index = index;
  self->name = g_strdup (name);
  self->short_name = som_layer_short_name (name, op);
  self->op = g_strdup (op);
  self->shape = g_strdup (shape);
  self->mapped = mapped;
  self->status = mapped ? SOMSCOPE_LAYER_STATUS_WAITING : SOMSCOPE_LAYER_STATUS_IDLE;
  return self;
}

guint
somscope_layer_get_index (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), 0);
  return self->index;
}

const char *
somscope_layer_get_name (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->name;
}

const char *
somscope_layer_get_short_name (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->short_name;
}

const char *
somscope_layer_get_op (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->op;
}

const char *
somscope_layer_get_shape (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->shape;
}

gboolean
somscope_layer_get_mapped (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), FALSE);
  return self->mapped;
}

void
somscope_layer_set_mapped (SomscopeLayer *self,
                           gboolean       mapped)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  mapped = !!mapped;
  if (self->mapped == mapped)
    return;
  self->mapped = mapped;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAPPED]);
}

SomscopeLayerStatus
somscope_layer_get_status (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), SOMSCOPE_LAYER_STATUS_IDLE);
  return self->status;
}

void
somscope_layer_set_status (SomscopeLayer       *self,
                           SomscopeLayerStatus  status,
                           const char          *message)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  if (self->status == status && g_strcmp0 (self->message, message) == 0)
    return;
  g_free (self->message);
  self->message = g_strdup (message);
  self->status = status;
  /* The intermediate map goes with the training that made it. */
  if (status != SOMSCOPE_LAYER_STATUS_TRAINING && status != SOMSCOPE_LAYER_STATUS_WAITING)
    somscope_layer_set_live_map (self, NULL, 0);
  if (status != SOMSCOPE_LAYER_STATUS_TRAINING)
    {
      self->epoch = 0;
      self->progress = status == SOMSCOPE_LAYER_STATUS_DONE ? 1.0 : 0.0;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRAINING]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_TEXT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_LABEL]);
}

double
somscope_layer_get_progress (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), 0);
  return self->progress;
}

void
somscope_layer_set_progress (SomscopeLayer *self,
                             double         progress,
                             guint          epoch,
                             guint          n_epochs)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  progress = CLAMP (progress, 0.0, 1.0);
  if (self->progress != progress)
    {
      self->progress = progress;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
    }
  if (self->epoch != epoch || self->n_epochs != n_epochs)
    {
      self->epoch = epoch;
      self->n_epochs = n_epochs;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EPOCH]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_TEXT]);
    }
}

void
somscope_layer_set_errors (SomscopeLayer *self,
                           double         quantization_error,
                           double         topographic_error)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  self->quantization_error = quantization_error;
  self->topographic_error = topographic_error;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUANTIZATION_ERROR]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOPOGRAPHIC_ERROR]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_TEXT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_LABEL]);
}

int
somscope_layer_get_input_bmu (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), -1);
  return self->input_bmu;
}

void
somscope_layer_set_input_bmu (SomscopeLayer *self,
                              int            unit)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  if (self->input_bmu == unit)
    return;
  self->input_bmu = unit;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INPUT_BMU]);
}

int
somscope_layer_get_adversarial_bmu (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), -1);
  return self->adversarial_bmu;
}

void
somscope_layer_set_adversarial_bmu (SomscopeLayer *self,
                                    int            unit)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  if (self->adversarial_bmu == unit)
    return;
  self->adversarial_bmu = unit;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ADVERSARIAL_BMU]);
}

guint
somscope_layer_get_revision (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), 0);
  return self->revision;
}

/* The map changed (a new epoch, or a finished map): views redraw. */
void
somscope_layer_bump_revision (SomscopeLayer *self)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  self->revision++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REVISION]);
}

static void
codes_clear (SomscopeCodes *codes)
{
  som_array_free (codes->array);
}

SomscopeCodes *
somscope_codes_new (SomArray *array)
{
  SomscopeCodes *codes = g_atomic_rc_box_new0 (SomscopeCodes);

  codes->array = array;
  return codes;
}

SomscopeCodes *
somscope_codes_ref (SomscopeCodes *codes)
{
  return g_atomic_rc_box_acquire (codes);
}

void
somscope_codes_unref (SomscopeCodes *codes)
{
  g_atomic_rc_box_release_full (codes, (GDestroyNotify) codes_clear);
}

SomscopeCodes *
somscope_layer_get_codes (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->codes;
}

void
somscope_layer_set_codes (SomscopeLayer *self,
                          SomscopeCodes *codes)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  if (self->codes == codes)
    return;
  g_clear_pointer (&self->codes, somscope_codes_unref);
  if (codes != NULL)
    self->codes = somscope_codes_ref (codes);
}

guint
somscope_layer_get_dim (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), 0);

  if (self->map != NULL)
    return som_map_get_dim (self->map);
  if (self->codes != NULL && self->codes->array->ndim == 2)
    return self->codes->array->shape[1];
  return 0;
}

SomMap *
somscope_layer_get_map (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->map;
}

const SomArray *
somscope_layer_get_majority (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->majority;
}

const SomArray *
somscope_layer_get_purity (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->purity;
}

static void
update_input (SomscopeLayer *self)
{
  g_clear_pointer (&self->response, g_free);
  if (self->map != NULL && self->codes != NULL && self->input >= 0 &&
      (gsize) self->input < self->codes->array->shape[0] &&
      self->codes->array->shape[1] == som_map_get_dim (self->map))
    {
      const float *row = (const float *) self->codes->array->data +
                         (gsize) self->input * self->codes->array->shape[1];

      self->response = g_new (float, som_map_get_n_units (self->map));
      som_map_response (self->map, row, self->response);
    }
  somscope_layer_set_input_bmu (self, self->input >= 0 ? somscope_layer_get_bmu (self, self->input) : -1);
  somscope_layer_set_adversarial_bmu (self,
                                      self->input >= 0 && self->adversarial_bmus != NULL &&
                                      (gsize) self->input < self->adversarial_bmus->shape[0]
                                        ? ((const gint32 *) self->adversarial_bmus->data)[self->input] : -1);
}

void
somscope_layer_set_map (SomscopeLayer *self,
                        SomMap        *map,
                        SomArray      *majority,
                        SomArray      *purity)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  if (self->map != map)
    g_clear_pointer (&self->adversarial_bmus, som_array_free);
  g_set_object (&self->map, map);
  if (self->live_map != NULL)
    {
      g_clear_object (&self->live_map);
      self->live_epoch = 0;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE_EPOCH]);
    }
  g_clear_pointer (&self->majority, som_array_free);
  g_clear_pointer (&self->purity, som_array_free);
  self->majority = majority;
  self->purity = purity;
  update_input (self);
  somscope_layer_bump_revision (self);
}

int
somscope_layer_get_bmu (SomscopeLayer *self,
                        guint          input)
{
  const SomArray *bmus;

  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), -1);

  if (self->map == NULL)
    return -1;
  bmus = som_map_get_array (self->map, "bmus");
  if (bmus == NULL || input >= bmus->shape[0])
    return -1;
  return ((const gint32 *) bmus->data)[input];
}

const float *
somscope_layer_get_response (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->response;
}

void
somscope_layer_set_input (SomscopeLayer *self,
                          int            input)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  if (self->input == input)
    return;
  self->input = input;
  update_input (self);
  /* The response view depends on the input. */
  somscope_layer_bump_revision (self);
}

const char * const *
somscope_layer_get_class_names (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return (const char * const *) self->class_names;
}

void
somscope_layer_set_class_names (SomscopeLayer      *self,
                                const char * const *names)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  g_strfreev (self->class_names);
  self->class_names = g_strdupv ((char **) names);
}

static const void *
map_array_data (SomMap     *map,
                const char *name,
                SomDType    dtype)
{
  const SomArray *array = som_map_get_array (map, name);

  return array != NULL && array->dtype == dtype ? array->data : NULL;
}

gboolean
somscope_layer_get_map_data (SomscopeLayer *self,
                             SomMapData    *data)
{
  const SomArray *class_hits;

  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), FALSE);

  memset (data, 0, sizeof *data);
  data->response_bmu = -1;
  if (self->live_map != NULL)
    {
      /* A map still training: its codebook and U-matrix, nothing that
       * needs the inputs' BMUs. */
      data->grid = som_map_get_grid (self->live_map);
      data->name = self->short_name;
      data->umatrix = map_array_data (self->live_map, "umatrix", SOM_DTYPE_F32);
      data->codebook = som_map_get_codebook (self->live_map);
      data->dim = som_map_get_dim (self->live_map);
      return TRUE;
    }
  if (self->map == NULL)
    return FALSE;

  class_hits = som_map_get_array (self->map, "class_hits");
  data->grid = som_map_get_grid (self->map);
  data->name = self->short_name;
  data->umatrix = map_array_data (self->map, "umatrix", SOM_DTYPE_F32);
  data->codebook = som_map_get_codebook (self->map);
  data->dim = som_map_get_dim (self->map);
  data->hits = map_array_data (self->map, "hits", SOM_DTYPE_I32);
  data->class_hits = class_hits ? class_hits->data : NULL;
  data->n_classes = class_hits ? class_hits->shape[0] : 0;
  data->class_names = (const char * const *) self->class_names;
  if (data->class_names != NULL && g_strv_length (self->class_names) < data->n_classes)
    data->class_names = NULL;
  data->response = self->response;
  data->response_bmu = self->input_bmu;
  return TRUE;
}

char *
somscope_map_data_select_class (SomMapData *data,
                                int         klass)
{
  g_return_val_if_fail (data != NULL, NULL);

  if (klass < 0 || data->class_hits == NULL || (guint) klass >= data->n_classes)
    return NULL;
  data->hits = data->class_hits + (gsize) klass * som_grid_get_n_units (data->grid);
  if (data->class_names != NULL)
    /* Translators: the colour bar's title of a hit map that counts the inputs of one class */
    return g_strdup_printf (_("hits of %s"), data->class_names[klass]);
  return g_strdup_printf (_("hits of class %d"), klass);
}

SomscopeMapDataCopy *
somscope_layer_dup_map_data (SomscopeLayer *self)
{
  SomscopeMapDataCopy *copy;
  SomMapData data;

  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);

  if (!somscope_layer_get_map_data (self, &data))
    return NULL;
  copy = g_new0 (SomscopeMapDataCopy, 1);
  copy->data = data;
  copy->map = g_object_ref (self->live_map != NULL ? self->live_map : self->map);
  copy->name = g_strdup (data.name);
  copy->data.name = copy->name;
  copy->class_names = data.class_names ? g_strdupv ((char **) data.class_names) : NULL;
  copy->data.class_names = (const char * const *) copy->class_names;
  copy->response = data.response ? g_memdup2 (data.response, som_grid_get_n_units (data.grid) * sizeof (float))
                                 : NULL;
  copy->data.response = copy->response;
  return copy;
}

void
somscope_map_data_copy_free (SomscopeMapDataCopy *copy)
{
  if (copy == NULL)
    return;
  g_clear_object (&copy->map);
  g_free (copy->name);
  g_strfreev (copy->class_names);
  g_free (copy->response);
  g_free (copy);
}

SomMap *
somscope_layer_get_live_map (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->live_map;
}

guint
somscope_layer_get_live_epoch (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), 0);
  return self->live_epoch;
}

void
somscope_layer_set_live_map (SomscopeLayer *self,
                             SomMap        *map,
                             guint          epoch)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));
  g_return_if_fail (!map || SOM_IS_MAP (map));

  if (self->live_map == map && self->live_epoch == epoch)
    return;
  g_set_object (&self->live_map, map);
  self->live_epoch = map != NULL ? epoch : 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE_EPOCH]);
  somscope_layer_bump_revision (self);
}

SomscopeCodes *
somscope_layer_get_adversarial_codes (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->adversarial_codes;
}

void
somscope_layer_set_adversarial_codes (SomscopeLayer *self,
                                      SomscopeCodes *codes)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  g_clear_pointer (&self->adversarial_codes, somscope_codes_unref);
  g_clear_pointer (&self->adversarial_bmus, som_array_free);
  if (codes != NULL)
    self->adversarial_codes = somscope_codes_ref (codes);
  update_input (self);
}

const SomArray *
somscope_layer_get_adversarial_bmus (SomscopeLayer *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (self), NULL);
  return self->adversarial_bmus;
}

void
somscope_layer_set_adversarial_bmus (SomscopeLayer *self,
                                     SomMap        *map,
                                     SomArray      *bmus)
{
  g_return_if_fail (SOMSCOPE_IS_LAYER (self));

  if (map != self->map)
    {
      som_array_free (bmus);
      return;
    }
  g_clear_pointer (&self->adversarial_bmus, som_array_free);
  self->adversarial_bmus = bmus;
  update_input (self);
  somscope_layer_bump_revision (self);
}
