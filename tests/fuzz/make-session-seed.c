/* make-session-seed.c: writes the seed sessions of tests/fuzz/corpus/session
 * (make-seeds.py compiles and runs it against build/'s libsomscope).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "som.h"

static JsonNode *
json (const char *text)
{
  return json_from_string (text, NULL);
}

int
main (int argc, char **argv)
{
  g_autoptr(SomSession) s = som_session_new ();
  g_autoptr(SomSession) empty = som_session_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *full = g_build_filename (argv[1], "full.somscope", NULL);
  g_autofree char *bare = g_build_filename (argv[1], "empty.somscope", NULL);
  g_autoptr(JsonNode) pre = json ("{\"pad\":0,\"resize\":null,\"mean\":[0.5],\"std\":[0.25]}");
  g_autoptr(JsonNode) shape = json ("[null,2,1,2]");
  g_autoptr(JsonNode) shape2 = json ("[null,3]");
  g_autoptr(JsonNode) meta = json ("{\"format\":\"somscope-som\",\"version\":1,\"rows\":2,\"cols\":2,"
                                   "\"topology\":\"hex\",\"toroidal\":false,\"dim\":2,\"epochs\":1,"
                                   "\"class_names\":[\"a\",\"b\"]}");
  g_autoptr(JsonNode) attack = json ("{\"method\":\"fgsm\",\"norm\":\"linf\",\"eps\":0.1}");
  g_autoptr(JsonNode) metrics = json ("{\"format\":\"somscope-metrics\",\"version\":1,\"layers\":[]}");
  const gsize n = 4;
  gsize cb_shape[3] = { 2, 2, 2 }, grid[2] = { 2, 2 }, codes_shape[2] = { n, 2 }, e_shape[1] = { 1 };
  g_autoptr(SomArray) labels = som_array_new_1d_i32 (n);
  g_autoptr(SomArray) cb = som_array_new (SOM_DTYPE_F32, 3, cb_shape, NULL);
  g_autoptr(SomArray) bmus = som_array_new_1d_i32 (n);
  g_autoptr(SomArray) hits = som_array_new (SOM_DTYPE_I32, 2, grid, NULL);
  g_autoptr(SomArray) um = som_array_new (SOM_DTYPE_F32, 2, grid, NULL);
  g_autoptr(SomArray) qe = som_array_new (SOM_DTYPE_F32, 1, e_shape, NULL);
  g_autoptr(SomArray) codes = som_array_new (SOM_DTYPE_F32, 2, codes_shape, NULL);
  int pos;

  for (gsize i = 0; i < n; i++)
    {
      ((gint32 *) labels->data)[i] = i % 2;
      ((gint32 *) bmus->data)[i] = i;
      ((gint32 *) hits->data)[i] = 1;
      ((float *) codes->data)[2 * i] = i;
      ((float *) um->data)[i] = 0.5f * i;
    }
  for (gsize i = 0; i < 8; i++)
    ((float *) cb->data)[i] = i * 0.25f;
  som_session_set_attack (s, attack);
  som_session_set_seed (s, 7);
  if (!som_session_set_dataset (s, "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
                                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", pre, n, &error)
      || !som_session_set_array (s, SOM_SESSION_LABELS, labels, &error)
      || (pos = som_session_add_layer (s, 3, "relu", "Relu", shape, meta, &error)) < 0
      || !som_session_set_layer_array (s, pos, SOM_LAYER_CODEBOOK, cb, &error)
      || !som_session_set_layer_array (s, pos, SOM_LAYER_BMUS, bmus, &error)
      || !som_session_set_layer_array (s, pos, SOM_LAYER_HITS, hits, &error)
      || !som_session_set_layer_array (s, pos, SOM_LAYER_UMATRIX, um, &error)
      || !som_session_set_layer_array (s, pos, SOM_LAYER_QE_PER_EPOCH, qe, &error)
      || !som_session_set_layer_array (s, pos, SOM_LAYER_CODES, codes, &error)
      || som_session_add_layer (s, 9, "fc", "Gemm", shape2, NULL, &error) < 0)
    g_error ("%s", error->message);
  som_session_set_metrics (s, metrics);
  som_session_set_selection (s, 3, 1, 2);
  if (!som_session_save (s, full, &error) || !som_session_save (empty, bare, &error))
    g_error ("%s", error->message);
  return 0;
}
