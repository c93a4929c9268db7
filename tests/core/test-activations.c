/* test-activations.c: "bring your own" activations, from Somscope's writer
 * and from numpy's own np.savez
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "som.h"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static SomArray *
ramp (SomDType dtype, guint ndim, const gsize *shape, double scale)
{
  SomArray *a = som_array_new (dtype, ndim, shape, NULL);
  gsize n = som_array_n_elements (a);

  for (gsize i = 0; i < n; i++)
    switch (dtype)
      {
      case SOM_DTYPE_F32: ((float *) a->data)[i] = i * scale; break;
      case SOM_DTYPE_F64: ((double *) a->data)[i] = i * scale; break;
      case SOM_DTYPE_I64: ((gint64 *) a->data)[i] = (gint64) (i * scale); break;
      case SOM_DTYPE_I32: ((gint32 *) a->data)[i] = (gint32) (i * scale); break;
      default: g_assert_not_reached ();
      }
  return a;
}

typedef struct
{
  const char *name;
  SomArray   *array;
} Entry;

static void
write_npz (const char *path, const Entry *e, guint n, const char *layers_json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomNpzWriter) w = som_npz_writer_new (path, FALSE, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    g_assert_true (som_npz_writer_add_array (w, e[i].name, e[i].array, &error));
  if (layers_json)
    g_assert_true (som_npz_writer_add_string (w, "layers.json", layers_json, &error));
  g_assert_true (som_npz_writer_close (w, &error));
  g_assert_no_error (error);
}

static void
test_somscope_layout (void)
{
  g_autofree char *path = tmp_path ("acts.npz");
  g_autoptr(SomArray) conv = ramp (SOM_DTYPE_F32, 4, (gsize[]) { 6, 8, 2, 2 }, 0.5);
  g_autoptr(SomArray) fc = ramp (SOM_DTYPE_F64, 2, (gsize[]) { 6, 5 }, 0.25);
  g_autoptr(SomArray) fc_adv = ramp (SOM_DTYPE_F64, 2, (gsize[]) { 6, 5 }, -1);
  g_autoptr(SomArray) labels = ramp (SOM_DTYPE_I64, 1, (gsize[]) { 6 }, 1);
  Entry e[] = { { "layer_001", conv }, { "layer_004", fc }, { "adversarial/layer_004", fc_adv },
                { "labels", labels } };
  g_autoptr(GError) error = NULL;
  g_autoptr(SomActivations) acts = NULL;
  g_autoptr(SomArray) got = NULL;
  gsize shape[SOM_ARRAY_MAX_DIMS];

  /* layers.json lists them in depth order (here: reversed on purpose) */
  write_npz (path, e, G_N_ELEMENTS (e),
             "[{\"member\":\"layer_004\",\"index\":4,\"name\":\"fc/out\",\"op\":\"Gemm\",\"shape\":[null,5]},"
             "{\"member\":\"layer_001\",\"index\":1,\"name\":\"relu1\",\"op\":\"Relu\",\"shape\":[null,8,2,2]}]");
  acts = som_activations_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_activations_get_n_inputs (acts), ==, 6);
  g_assert_cmpuint (som_activations_get_n_layers (acts), ==, 2);
  g_assert_cmpstr (som_activations_get_layer_member (acts, 0), ==, "layer_004");
  g_assert_cmpstr (som_activations_get_layer_name (acts, 0), ==, "fc/out");
  g_assert_cmpstr (som_activations_get_layer_op (acts, 1), ==, "Relu");
  g_assert_cmpint (som_activations_get_layer_index (acts, 1), ==, 1);
  g_assert_true (som_activations_has_adversarial (acts, 0));
  g_assert_false (som_activations_has_adversarial (acts, 1));
  g_assert_cmpuint (som_activations_get_layer_shape (acts, 1, shape), ==, 4);
  g_assert_cmpuint (shape[1], ==, 8);
  g_assert_cmpint (som_activations_get_labels (acts)->dtype, ==, SOM_DTYPE_I32);
  g_assert_cmpint (((gint32 *) som_activations_get_labels (acts)->data)[5], ==, 5);

  got = som_activations_read_layer (acts, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got->dtype, ==, SOM_DTYPE_F32);
  g_assert_cmpfloat (((float *) got->data)[29], ==, 7.25f);
  g_clear_pointer (&got, som_array_free);
  got = som_activations_read_adversarial (acts, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (((float *) got->data)[3], ==, -3.0f);
  g_clear_pointer (&got, som_array_free);
  g_assert_null (som_activations_read_adversarial (acts, 1, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
}

static void
expect_refused (const Entry *e, guint n, const char *layers_json, const char *fragment)
{
  g_autofree char *path = tmp_path ("bad.npz");
  g_autoptr(GError) error = NULL;
  g_autoptr(SomActivations) acts = NULL;

  write_npz (path, e, n, layers_json);
  acts = som_activations_open (path, &error);
  g_assert_null (acts);
  g_assert_nonnull (error);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  if (strstr (error->message, fragment) == NULL)
    g_error ("expected \"%s\" in: %s", fragment, error->message);
}

static void
test_refused (void)
{
  g_autoptr(SomArray) a = ramp (SOM_DTYPE_F32, 2, (gsize[]) { 6, 3 }, 1);
  g_autoptr(SomArray) b = ramp (SOM_DTYPE_F32, 2, (gsize[]) { 5, 3 }, 1);
  g_autoptr(SomArray) c = ramp (SOM_DTYPE_F32, 2, (gsize[]) { 6, 4 }, 1);
  g_autoptr(SomArray) v = ramp (SOM_DTYPE_F32, 1, (gsize[]) { 6 }, 1);
  g_autoptr(SomArray) l5 = ramp (SOM_DTYPE_I32, 1, (gsize[]) { 5 }, 1);
  g_autoptr(SomArray) lf = ramp (SOM_DTYPE_F32, 1, (gsize[]) { 6 }, 1);

  expect_refused ((Entry[]) { { "x", a }, { "y", b } }, 2, NULL, "every array must cover the same N inputs");
  expect_refused ((Entry[]) { { "x", a }, { "adversarial/x", c } }, 2, NULL, "its clean layer 6×3");
  expect_refused ((Entry[]) { { "x", a }, { "adversarial/z", a } }, 2, NULL, "has no clean layer z");
  expect_refused ((Entry[]) { { "x", a }, { "labels", l5 } }, 2, NULL, "labels must be 6 integers");
  expect_refused ((Entry[]) { { "x", a }, { "labels", lf } }, 2, NULL, "labels must be 6 integers");
  expect_refused ((Entry[]) { { "x", v } }, 1, NULL, "must be N×D or N×C×H×W");
  expect_refused ((Entry[]) { { "labels", l5 } }, 1, NULL, "no layer arrays");
  expect_refused ((Entry[]) { { "x", a } }, 1, "[{\"member\":\"nope\"}]", "does not hold");
  expect_refused ((Entry[]) { { "x", a }, { "y", a } }, 2, "[{\"member\":\"x\",\"index\":2},{\"member\":\"y\",\"index\":2}]",
                  "two layers have index 2");
  expect_refused ((Entry[]) { { "x", a } }, 1, "{\"member\":\"x\"}", "array of layers");
}

/* numpy writes the file: np.savez with names as users would give them. */
static void
test_numpy_written (void)
{
  g_autofree char *path = tmp_path ("from-numpy.npz");
  g_autofree char *code = NULL;
  g_autofree char *out = NULL;
  const char *argv[] = { "/usr/bin/python3", "-c", NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(SomActivations) acts = NULL;
  g_autoptr(SomArray) got = NULL;
  int status;
  double want;

  code = g_strdup_printf (
    "import numpy as np, sys\n"
    "rng = np.random.default_rng(0)\n"
    "a = rng.standard_normal((7, 3, 2, 2)).astype(np.float32)\n"
    "d = {'block1': a, 'head': np.arange(7 * 4, dtype=np.float64).reshape(7, 4),\n"
    "     'adversarial/block1': -a, 'labels': np.arange(7) %% 3}\n"
    "np.savez(sys.argv[1], **d)\n"
    "print(repr(float(a[6, 2, 1, 1])))\n");
  argv[2] = code;
  {
    const char *full[] = { argv[0], argv[1], argv[2], path, NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) full, NULL, 0, NULL, NULL, &out, NULL, &status, &error));
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  want = g_ascii_strtod (out, NULL);

  acts = som_activations_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_activations_get_n_inputs (acts), ==, 7);
  g_assert_cmpuint (som_activations_get_n_layers (acts), ==, 2);
  /* no layers.json: archive order, names from members, indices = positions */
  g_assert_cmpstr (som_activations_get_layer_name (acts, 0), ==, "block1");
  g_assert_cmpstr (som_activations_get_layer_name (acts, 1), ==, "head");
  g_assert_cmpint (som_activations_get_layer_index (acts, 1), ==, 1);
  g_assert_true (som_activations_has_adversarial (acts, 0));
  g_assert_cmpint (((gint32 *) som_activations_get_labels (acts)->data)[5], ==, 2);
  got = som_activations_read_layer (acts, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (((float *) got->data)[7 * 12 - 1], ==, (float) want);
  g_clear_pointer (&got, som_array_free);
  got = som_activations_read_adversarial (acts, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (((float *) got->data)[7 * 12 - 1], ==, (float) -want);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("somscope-acts-XXXXXX", NULL);
  g_test_add_func ("/activations/somscope-layout", test_somscope_layout);
  g_test_add_func ("/activations/refused", test_refused);
  g_test_add_func ("/activations/numpy-written", test_numpy_written);
  status = g_test_run ();
  {
    const char *names[] = { "acts.npz", "bad.npz", "from-numpy.npz" };
    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      {
        g_autofree char *p = tmp_path (names[i]);
        g_unlink (p);
      }
    g_rmdir (tmp_dir);
  }
  g_free (tmp_dir);
  return status;
}
