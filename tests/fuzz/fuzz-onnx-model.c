/* fuzz-onnx-model.c: ONNX model loading (protobuf, graph validation, shape
 * inference, constant folding) and, when a model loads, one tiny run.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fuzz-common.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

/* Runs the model once on zeros when its inputs are small and it is cheap. */
static void
tiny_run (SomModel *model)
{
  g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) som_array_free);
  g_autoptr(GPtrArray) outputs = NULL;
  g_autoptr(GPtrArray) taps = NULL;
  g_autoptr(GError) error = NULL;
  guint n_layers = som_model_get_n_layers (model);
  g_autofree guint *tap = g_new0 (guint, n_layers + 1);
  gboolean ok;

  if (som_model_get_flops_per_image (model) > 20000000)
    return;
  for (guint i = 0; i < som_model_get_n_inputs (model); i++)
    {
      const SomValueInfo *info = som_model_get_input (model, i);
      gsize shape[SOM_ARRAY_MAX_DIMS];
      gsize n = 1;
      SomArray *a;

      for (guint d = 0; d < info->ndim; d++)
        {
          shape[d] = info->shape[d] < 0 ? 1 : (gsize) info->shape[d];
          if (shape[d] > 4096)
            return;
          n *= shape[d];
          if (n > 65536)
            return;
        }
      a = som_array_new (info->dtype, info->ndim, shape, NULL);
      if (a == NULL)
        return;
      g_ptr_array_add (inputs, a);
    }
  for (guint i = 0; i < n_layers; i++)
    tap[i] = i;
  ok = som_model_run (model, (const SomArray * const *) inputs->pdata, inputs->len, tap, n_layers,
                      &outputs, &taps, NULL, &error);
  fuzz_check_error (ok, error);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_build_filename (fuzz_dir, "model.onnx", NULL);
  g_autoptr(SomModel) model = som_model_load_from_bytes (bytes, name, &error);

  fuzz_check_error (model != NULL, error);
  if (model == NULL)
    return 0;
  for (guint i = 0; i < som_model_get_n_layers (model); i++)
    g_assert (som_model_get_layer (model, i) != NULL);
  g_array_unref (som_model_get_default_taps (model));
  {
    guint c, h, w;
    gboolean last;
    g_autoptr(GError) local = NULL;
    gboolean ok = som_model_get_image_shape (model, &c, &h, &w, &last, &local);
    fuzz_check_error (ok, local);
  }
  if (!som_model_check_runnable (model, &error))
    {
      fuzz_check_error (FALSE, error);
      return 0;
    }
  tiny_run (model);
  return 0;
}
