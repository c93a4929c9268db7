/* test-onnx-fixtures.c: every node output of the three fixture models (the demo
 * ResNet, an MLP, a BatchNorm/depthwise/ceil-mode/view net) against PyTorch,
 * within 1e-4 (absolute, or relative for values larger than 1).
 * Fixtures: tests/data/fixtures/README.md (tools/train-reference-model.py).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "som.h"

static char *
fixture_path (const char *name)
{
  const char *src = g_getenv ("SOMSCOPE_FIXTURES_SOURCE_DIR");
  if (src == NULL)
    src = g_getenv ("SOMSCOPE_SOURCE_DIR");
  if (src == NULL)
    src = SOMSCOPE_SOURCE_DIR;
  if (strcmp (name, "demo.onnx") == 0)
    return g_build_filename (src, "data", "models", "fashion-resnet.onnx", NULL);
  return g_build_filename (src, "tests", "data", "fixtures", name, NULL);
}

static void
compare_model (const char *stem)
{
  g_autofree char *npz_name = g_strdup_printf ("%s.npz", stem);
  g_autofree char *onnx_name = g_strdup_printf ("%s.onnx", stem);
  g_autofree char *npz_path = fixture_path (npz_name);
  g_autofree char *model_path = fixture_path (onnx_name);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomNpzReader) npz = som_npz_reader_open (npz_path, &error);
  g_autoptr(SomModel) model = NULL;
  g_autoptr(GBytes) json = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(SomArray) input = NULL;
  g_autoptr(SomArray) logits_ref = NULL;
  g_autoptr(SomArray) logits = NULL;
  g_autoptr(GArray) taps = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) values = NULL;
  JsonArray *entries;
  guint n_float = 0, n_int = 0;
  double worst = 0;

  g_assert_no_error (error);
  model = som_model_load (model_path, &error);
  g_assert_no_error (error);
  json = som_npz_reader_read_member (npz, "values.json", &error);
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (json, NULL), g_bytes_get_size (json), &error));
  entries = json_node_get_array (json_parser_get_root (parser));
  /* every node output of the graph is in the fixture, in graph order */
  g_assert_cmpuint (json_array_get_length (entries), ==, som_model_get_n_layers (model));
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      const SomLayer *l = som_model_find_layer (model, json_object_get_string_member (e, "name"), &error);
      g_assert_no_error (error);
      g_array_append_val (taps, l->index);
      g_ptr_array_add (members, g_strdup (json_object_get_string_member (e, "member")));
    }

  input = som_npz_reader_read_array (npz, "input", &error);
  g_assert_no_error (error);
  logits_ref = som_npz_reader_read_array (npz, "logits", &error);
  g_assert_no_error (error);
  logits = som_model_run_images (model, input, (const guint *) taps->data, taps->len, &values, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < taps->len; i++)
    {
      const char *member = g_ptr_array_index (members, i);
      g_autoptr(SomArray) want = som_npz_reader_read_array (npz, member, &error);
      SomArray *got = g_ptr_array_index (values, i);
      const SomLayer *l = som_model_get_layer (model, g_array_index (taps, guint, i));
      g_autofree char *ws = NULL, *gs = NULL;
      gsize n;

      g_assert_no_error (error);
      ws = som_array_shape_string (want);
      gs = som_array_shape_string (got);
      /* The fixture script stores int64 scalars (a Constant without dims, a
       * Gather with a scalar index) as 1-element vectors: ONNX makes them
       * scalars.  Accept exactly that difference, nothing else. */
      if (!(want->dtype == SOM_DTYPE_I64 && got->ndim == 0 && want->ndim == 1 && want->shape[0] == 1)
          && strcmp (ws, gs) != 0)
        g_error ("%s: %s (%s): shape %s, PyTorch %s", stem, l->name, l->op, gs, ws);
      n = som_array_n_elements (want);
      if (want->dtype == SOM_DTYPE_I64)
        {
          g_assert_cmpint (got->dtype, ==, SOM_DTYPE_I64);
          g_assert_cmpmem (got->data, n * 8, want->data, n * 8);
          n_int++;
          continue;
        }
      g_assert_cmpint (want->dtype, ==, SOM_DTYPE_F32);
      g_assert_cmpint (got->dtype, ==, SOM_DTYPE_F32);
      for (gsize k = 0; k < n; k++)
        {
          double w = ((float *) want->data)[k], g = ((float *) got->data)[k];
          double err = fabs (g - w) / MAX (1.0, fabs (w));
          worst = MAX (worst, err);
          if (!(err <= 1e-4))
            g_error ("%s: layer %u %s (%s) element %" G_GSIZE_FORMAT ": %.9g, PyTorch %.9g", stem, l->index,
                     l->name, l->op, k, g, w);
        }
      n_float++;
    }
  for (gsize k = 0; k < som_array_n_elements (logits_ref); k++)
    {
      double w = ((float *) logits_ref->data)[k], g = ((float *) logits->data)[k];
      g_assert_cmpfloat (fabs (g - w) / MAX (1.0, fabs (w)), <=, 1e-4);
    }
  g_test_message ("%s: %u float and %u int64 node outputs match; worst error %.3g", stem, n_float, n_int, worst);
}

static void
test_demo (void)
{
  compare_model ("demo");
}

static void
test_mlp (void)
{
  compare_model ("mlp");
}

static void
test_bnres (void)
{
  compare_model ("bnres");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/onnx-fixtures/demo", test_demo);
  g_test_add_func ("/onnx-fixtures/mlp", test_mlp);
  g_test_add_func ("/onnx-fixtures/bnres", test_bnres);
  return g_test_run ();
}
