/* som-model.c: SomModel (placeholder until the loader lands)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "som-model.h"

struct _SomModel
{
  GObject parent_instance;
};

G_DEFINE_FINAL_TYPE (SomModel, som_model, G_TYPE_OBJECT)

static void
som_model_class_init (SomModelClass *klass)
{
}

static void
som_model_init (SomModel *self)
{
}

static gboolean
not_yet (GError **error, const char *what)
{
  g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, "%s: not implemented yet", what);
  return FALSE;
}

SomModel *
som_model_load (const char *path, GError **error)
{
  not_yet (error, path);
  return NULL;
}

SomModel *
som_model_load_from_bytes (GBytes *bytes, const char *name, GError **error)
{
  not_yet (error, name);
  return NULL;
}

gboolean
som_model_check_runnable (SomModel *model, GError **error)
{
  return not_yet (error, "ONNX executor");
}

const char *som_model_get_path (SomModel *model) { return ""; }
gint64 som_model_get_opset (SomModel *model, const char *domain) { return 0; }
const char * const *som_model_get_opset_domains (SomModel *model) { static const char *none[] = { NULL }; return none; }
const char *som_model_get_producer (SomModel *model) { return ""; }
guint som_model_get_n_inputs (SomModel *model) { return 0; }
const SomValueInfo *som_model_get_input (SomModel *model, guint i) { return NULL; }
guint som_model_get_n_outputs (SomModel *model) { return 0; }
const SomValueInfo *som_model_get_output (SomModel *model, guint i) { return NULL; }

gboolean
som_model_get_image_shape (SomModel *model, guint *c, guint *h, guint *w, gboolean *cl, GError **error)
{
  return not_yet (error, "ONNX model");
}

guint som_model_get_n_layers (SomModel *model) { return 0; }
const SomLayer *som_model_get_layer (SomModel *model, guint index) { return NULL; }

const SomLayer *
som_model_find_layer (SomModel *model, const char *name, GError **error)
{
  not_yet (error, "ONNX model");
  return NULL;
}

GArray *som_model_get_default_taps (SomModel *model) { return g_array_new (FALSE, FALSE, sizeof (guint)); }

GArray *
som_model_resolve_layers (SomModel *model, const char * const *specs, GError **error)
{
  not_yet (error, "ONNX model");
  return NULL;
}

char *som_layer_member_name (guint index) { return g_strdup_printf ("layer_%03u", index); }
guint64 som_model_get_flops_per_image (SomModel *model) { return 0; }
guint64 som_model_get_n_params (SomModel *model) { return 0; }
const char * const *som_model_supported_ops (void) { static const char *none[] = { NULL }; return none; }

gboolean
som_model_run (SomModel *model, const SomArray * const *inputs, guint n_inputs,
               const guint *taps, guint n_taps, GPtrArray **outputs, GPtrArray **tap_values,
               GCancellable *cancellable, GError **error)
{
  return not_yet (error, "ONNX executor");
}

SomArray *
som_model_run_images (SomModel *model, const SomArray *images, const guint *taps, guint n_taps,
                      GPtrArray **tap_values, GCancellable *cancellable, GError **error)
{
  not_yet (error, "ONNX executor");
  return NULL;
}

SomArray *
som_onnx_tensor_load (const char *path, char **name_out, GError **error)
{
  not_yet (error, path);
  return NULL;
}
