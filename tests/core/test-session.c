/* test-session.c: .somscope sessions: round trips in a fresh process, atomic
 * saves under a kill, references that move or change, and hostile files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include "config.h"

#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <zip.h>
#include <glib/gstdio.h>

#include "som.h"
#include "som-session-private.h"

static char *self_exe;
static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  if (tmp_dir == NULL)
    tmp_dir = g_dir_make_tmp ("somscope-session-XXXXXX", NULL);
  return g_build_filename (tmp_dir, name, NULL);
}

static JsonNode *
json (const char *text)
{
  return json_from_string (text, NULL);
}

/* A small but complete session: 12 inputs, two layers (one mapped 2×3 in
 * 4 dimensions with every array, one not mapped yet), a model file beside
 * it, and @variant changing every number. */
static SomSession *
make_session (const char *dir, int variant)
{
  SomSession *s = som_session_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *model = g_build_filename (dir, "model.onnx", NULL);
  g_autoptr(JsonNode) pre = json ("{\"pad\":2,\"resize\":null,\"mean\":[0.5],\"std\":[0.25]}");
  g_autoptr(JsonNode) shape = json ("[null,8,2,2]");
  g_autoptr(JsonNode) shape2 = json ("[null,10]");
  g_autoptr(JsonNode) meta = json ("{\"format\":\"somscope-som\",\"version\":1,\"rows\":2,\"cols\":3,"
                                   "\"topology\":\"hex\",\"toroidal\":false,\"dim\":4,\"epochs\":3,"
                                   "\"class_names\":[\"a\",\"b\",\"c\"]}");
  g_autoptr(JsonNode) attack = json ("{\"method\":\"fgsm\",\"norm\":\"linf\",\"eps\":0.1}");
  g_autoptr(JsonNode) prov = json ("{\"version\":\"0.1.0\",\"command_line\":\"somscope-cli analyze x\"}");
  g_autoptr(JsonNode) metrics = json ("{\"format\":\"somscope-metrics\",\"version\":1,\"layers\":["
                                      "{\"index\":3,\"name\":\"relu/1\",\"op\":\"Relu\",\"depth\":0,\"dim\":4,"
                                      "\"clean\":{\"hit_entropy\":1.5,\"occupied_units\":5,\"qe_per_epoch\":[1,2]},"
                                      "\"adversarial\":{\"hit_entropy\":1.25},\"trajectory\":{\"bmu_agreement\":0.5}}]}");
  const gsize n = 12;
  gsize cb_shape[3] = { 2, 3, 4 }, grid[2] = { 2, 3 }, codes_shape[2] = { n, 4 }, e_shape[1] = { 3 };
  g_autoptr(SomArray) labels = som_array_new_1d_i32 (n);
  g_autoptr(SomArray) preds = som_array_new_1d_i32 (n);
  g_autoptr(SomArray) split = som_array_new (SOM_DTYPE_I64, 1, &n, NULL);
  g_autoptr(SomArray) cb = som_array_new (SOM_DTYPE_F32, 3, cb_shape, NULL);
  g_autoptr(SomArray) bmus = som_array_new_1d_i32 (n);
  g_autoptr(SomArray) bmus_adv = som_array_new_1d_i32 (n);
  g_autoptr(SomArray) hits = som_array_new (SOM_DTYPE_I32, 2, grid, NULL);
  g_autoptr(SomArray) um = som_array_new (SOM_DTYPE_F32, 2, grid, NULL);
  g_autoptr(SomArray) qe = som_array_new (SOM_DTYPE_F64, 1, e_shape, NULL);
  g_autoptr(SomArray) codes = som_array_new (SOM_DTYPE_F32, 2, codes_shape, NULL);
  g_autoptr(SomArray) codes2 = som_array_new (SOM_DTYPE_F32, 2, (gsize[]) { n, 10 }, NULL);
  int pos;

  if (!g_file_test (model, G_FILE_TEST_EXISTS))
    g_assert_true (g_file_set_contents (model, "not really onnx", -1, NULL));
  for (gsize i = 0; i < n; i++)
    {
      ((gint32 *) labels->data)[i] = (i + variant) % 3;
      ((gint32 *) preds->data)[i] = (i * 7 + variant) % 3;
      ((gint64 *) split->data)[i] = i % 5 == 0;
      ((gint32 *) bmus->data)[i] = (i + variant) % 6;
      ((gint32 *) bmus_adv->data)[i] = (i * 5 + variant) % 6;
      ((gint32 *) hits->data)[((i + variant) % 6)]++;
    }
  for (gsize i = 0; i < 24; i++)
    ((float *) cb->data)[i] = i * 0.25f - variant;
  for (gsize i = 0; i < 6; i++)
    ((float *) um->data)[i] = 1.0f / (i + 1 + variant);
  for (gsize i = 0; i < 3; i++)
    ((double *) qe->data)[i] = 3.0 - i + variant;
  for (gsize i = 0; i < n * 4; i++)
    ((float *) codes->data)[i] = (float) i / 7 + variant;
  for (gsize i = 0; i < n * 10; i++)
    ((float *) codes2->data)[i] = (float) i / 3;

  som_session_set_provenance (s, prov);
  som_session_set_attack (s, attack);
  som_session_set_seed (s, 0);
  g_assert_true (som_session_set_model (s, model, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (som_session_set_dataset (s, "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
                                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                          pre, n, &error));
  g_assert_no_error (error);
  g_assert_true (som_session_set_array (s, SOM_SESSION_LABELS, labels, &error));
  g_assert_true (som_session_set_array (s, SOM_SESSION_PREDICTIONS, preds, &error));
  g_assert_true (som_session_set_array (s, SOM_SESSION_ADVERSARIAL_PREDICTIONS, labels, &error));
  g_assert_true (som_session_set_array (s, SOM_SESSION_SPLIT, split, &error));
  g_assert_no_error (error);

  pos = som_session_add_layer (s, 3, "relu/1", "Relu", shape, meta, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pos, ==, 0);
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_CODEBOOK, cb, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_BMUS, bmus, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_BMUS_ADVERSARIAL, bmus_adv, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_HITS, hits, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_UMATRIX, um, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_QE_PER_EPOCH, qe, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_TE_PER_EPOCH, qe, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_CODES, codes, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_CODES_ADVERSARIAL, codes, &error));
  g_assert_no_error (error);
  pos = som_session_add_layer (s, 12, "fc", "Gemm", shape2, NULL, &error);
  g_assert_cmpint (pos, ==, 1);
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_CODES, codes2, &error));
  g_assert_no_error (error);
  som_session_set_metrics (s, metrics);
  som_session_set_selection (s, 3, 5, 2 + variant);
  return s;
}

static void
digest_array (GString *out, const char *name, const SomArray *a)
{
  g_autofree char *shape = NULL;
  g_autofree char *sum = NULL;

  if (a == NULL)
    return;
  shape = som_array_shape_string (a);
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, a->data, som_array_n_bytes (a));
  g_string_append_printf (out, "%s %s %s %s\n", name, som_dtype_name (a->dtype), shape, sum);
}

/* Everything the session holds, as text: equal digests = equal sessions. */
static char *
session_digest (SomSession *s, const char *as_path)
{
  GString *out = g_string_new (NULL);
  g_autofree char *manifest = _som_session_manifest_json (s, as_path);

  g_string_append (out, manifest);
  g_string_append_c (out, '\n');
  for (SomSessionArray i = 0; i < SOM_SESSION_N_ARRAYS; i++)
    digest_array (out, som_session_array_name (i), som_session_get_array (s, i));
  for (guint p = 0; p < som_session_get_n_layers (s); p++)
    for (SomLayerArray i = 0; i < SOM_LAYER_N_ARRAYS; i++)
      {
        g_autofree char *name = g_strdup_printf ("%u/%s", p, som_session_layer_array_name (i));
        digest_array (out, name, som_session_get_layer_array (s, p, i));
      }
  if (som_session_get_metrics (s))
    {
      g_autofree char *m = json_to_string (som_session_get_metrics (s), TRUE);
      g_string_append (out, m);
    }
  return g_string_free (out, FALSE);
}

/* Runs this program as a child: "--child-digest FILE" loads FILE in a fresh
 * process and prints its digest; "--child-save FILE" saves variant 1 there. */
static gboolean
run_child (const char *mode, const char *file, gboolean abort_save, char **out, int *status)
{
  const char *argv[] = { self_exe, mode, file, NULL };
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;

  if (abort_save)
    envp = g_environ_setenv (envp, "SOMSCOPE_TEST_ABORT_SAVE", "1", TRUE);
  else
    envp = g_environ_unsetenv (envp, "SOMSCOPE_TEST_ABORT_SAVE");
  /* An aborting child would otherwise leave a core file or report to a crash handler. */
  envp = g_environ_setenv (envp, "ASAN_OPTIONS", "abort_on_error=0:handle_abort=0:detect_leaks=0", TRUE);
  if (!g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, out, NULL, status,
                     &error))
    {
      g_assert_no_error (error);
      return FALSE;
    }
  return TRUE;
}

static int
child_main (const char *mode, const char *file)
{
  g_autoptr(GError) error = NULL;

  if (g_str_equal (mode, "--child-digest"))
    {
      g_autoptr(SomSession) s = som_session_load (file, &error);
      g_autofree char *digest = NULL;

      if (s == NULL)
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      digest = session_digest (s, file);
      fputs (digest, stdout);
      return 0;
    }
  if (g_str_equal (mode, "--child-save"))
    {
      g_autofree char *dir = g_path_get_dirname (file);
      g_autoptr(SomSession) s = make_session (dir, 1);

      if (!som_session_save (s, file, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      return 0;
    }
  if (g_str_equal (mode, "--write-example"))
    {
      g_autofree char *dir = g_path_get_dirname (file);
      g_autoptr(SomSession) s = make_session (dir, 0);

      if (!som_session_save (s, file, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
      return 0;
    }
  return 2;
}

static void
test_round_trip_fresh_process (void)
{
  g_autofree char *path = tmp_path ("round.somscope");
  g_autoptr(SomSession) s = make_session (tmp_dir, 0);
  g_autoptr(GError) error = NULL;
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  int status;

  g_assert_true (som_session_get_modified (s));
  g_assert_true (som_session_save (s, path, &error));
  g_assert_no_error (error);
  g_assert_false (som_session_get_modified (s));
  g_assert_cmpstr (som_session_get_path (s), ==, path);
  want = session_digest (s, path);
  g_assert_true (run_child ("--child-digest", path, FALSE, &got, &status));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (got, ==, want);
  /* what the digest covers, spelled out once */
  g_assert_nonnull (strstr (want, "0/codebook float32 2×3×4"));
  g_assert_nonnull (strstr (want, "split uint8 12"));
  g_assert_nonnull (strstr (want, "0/qe_per_epoch float32 3"));
  g_assert_nonnull (strstr (want, "1/codes float32 12×10"));
  g_assert_nonnull (strstr (want, "\"path\" : \"model.onnx\""));
}

static void
test_round_trip_in_process (void)
{
  g_autofree char *path = tmp_path ("inproc.somscope");
  g_autoptr(SomSession) s = make_session (tmp_dir, 0);
  g_autoptr(SomSession) t = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *model = g_build_filename (tmp_dir, "model.onnx", NULL);
  gint64 layer, input, unit;
  const SomArray *a;

  g_assert_true (som_session_save (s, path, &error));
  t = som_session_load (path, &error);
  g_assert_no_error (error);
  g_assert_false (som_session_get_modified (t));
  g_assert_cmpuint (som_session_get_n_inputs (t), ==, 12);
  g_assert_cmpuint (som_session_get_n_layers (t), ==, 2);
  g_assert_cmpint (som_session_find_layer (t, 12), ==, 1);
  g_assert_cmpint (som_session_find_layer (t, 4), ==, -1);
  g_assert_cmpstr (som_session_get_layer_name (t, 0), ==, "relu/1");
  g_assert_cmpstr (som_session_get_layer_op (t, 1), ==, "Gemm");
  g_assert_cmpuint (som_session_get_layer_rows (t, 0), ==, 2);
  g_assert_cmpuint (som_session_get_layer_cols (t, 0), ==, 3);
  g_assert_cmpuint (som_session_get_layer_dim (t, 0), ==, 4);
  g_assert_null (som_session_get_layer_som (t, 1));
  g_assert_cmpuint (som_session_get_layer_rows (t, 1), ==, 0);
  a = som_session_get_layer_array (t, 0, SOM_LAYER_CODEBOOK);
  g_assert_cmpfloat (((float *) a->data)[5], ==, 1.25f);
  a = som_session_get_array (t, SOM_SESSION_SPLIT);
  g_assert_cmpint (a->dtype, ==, SOM_DTYPE_U8);
  g_assert_cmpint (((guint8 *) a->data)[5], ==, 1);
  g_assert_cmpint (((guint8 *) a->data)[6], ==, 0);
  som_session_get_selection (t, &layer, &input, &unit);
  g_assert_cmpint (layer, ==, 3);
  g_assert_cmpint (input, ==, 5);
  g_assert_cmpint (unit, ==, 2);
  g_assert_cmpint (som_session_get_dataset_count (t), ==, 12);
  g_assert_cmpstr (som_session_get_ref_path (t, SOM_SESSION_REF_MODEL), ==, model);
  g_assert_cmpint (som_session_get_ref_state (t, SOM_SESSION_REF_MODEL), ==, SOM_SESSION_REF_OK);
  /* an absolute path outside the session's folder stays absolute */
  g_assert_cmpstr (som_session_get_ref_path (t, SOM_SESSION_REF_DATASET), ==,
                   "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
  g_assert_null (som_session_get_ref_path (t, SOM_SESSION_REF_ACTIVATIONS));
  g_assert_cmpint (som_session_get_ref_state (t, SOM_SESSION_REF_ACTIVATIONS), ==, SOM_SESSION_REF_NONE);
  som_session_set_selection (t, 3, 5, 2);
  g_assert_false (som_session_get_modified (t));
  som_session_set_selection (t, 3, 6, 2);
  g_assert_true (som_session_get_modified (t));
}

static void
test_model_moved_or_changed (void)
{
  g_autofree char *dir = tmp_path ("moved");
  g_autofree char *path = NULL, *model = NULL, *moved = NULL, *other = NULL;
  g_autoptr(SomSession) s = NULL;
  g_autoptr(SomSession) t = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  path = g_build_filename (dir, "s.somscope", NULL);
  model = g_build_filename (dir, "model.onnx", NULL);
  moved = g_build_filename (dir, "elsewhere.onnx", NULL);
  other = g_build_filename (dir, "other.onnx", NULL);
  s = make_session (dir, 0);
  g_assert_true (som_session_save (s, path, &error));
  g_assert_no_error (error);

  /* moved: the session loads (every view works), the model is MISSING */
  g_assert_cmpint (g_rename (model, moved), ==, 0);
  t = som_session_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (som_session_get_ref_state (t, SOM_SESSION_REF_MODEL), ==, SOM_SESSION_REF_MISSING);
  g_assert_false (som_session_check_ref (t, SOM_SESSION_REF_MODEL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "moved or deleted"));
  g_clear_error (&error);
  /* the user points at a different file: refused */
  g_assert_true (g_file_set_contents (other, "another model", -1, NULL));
  g_assert_false (som_session_relocate_ref (t, SOM_SESSION_REF_MODEL, other, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "SHA-256 differs"));
  g_clear_error (&error);
  g_assert_cmpint (som_session_get_ref_state (t, SOM_SESSION_REF_MODEL), ==, SOM_SESSION_REF_MISSING);
  /* the user finds the moved file: accepted */
  g_assert_true (som_session_relocate_ref (t, SOM_SESSION_REF_MODEL, moved, &error));
  g_assert_no_error (error);
  g_assert_cmpint (som_session_get_ref_state (t, SOM_SESSION_REF_MODEL), ==, SOM_SESSION_REF_OK);
  g_assert_cmpstr (som_session_get_ref_path (t, SOM_SESSION_REF_MODEL), ==, moved);
  g_clear_object (&t);

  /* changed: same path, other bytes */
  g_assert_true (g_file_set_contents (model, "retrained model", -1, NULL));
  t = som_session_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (som_session_get_ref_state (t, SOM_SESSION_REF_MODEL), ==, SOM_SESSION_REF_CHANGED);
  g_assert_false (som_session_check_ref (t, SOM_SESSION_REF_MODEL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, model));
  g_assert_nonnull (strstr (error->message, "changed"));
}

/* A dataset named FOLDER:train refers to FOLDER; byte flips anywhere in a
 * session never crash the reader. */
static void
test_dataset_spec_and_flips (void)
{
  g_autofree char *dir = tmp_path ("cifar-10-batches-bin");
  g_autofree char *spec = g_strconcat (dir, ":train", NULL);
  g_autofree char *path = tmp_path ("flips.somscope");
  g_autofree char *flipped = tmp_path ("flipped.somscope");
  g_autoptr(SomSession) s = make_session (tmp_dir, 0);
  g_autoptr(SomSession) t = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autofree char *data = NULL;
  gsize len;
  guint refused = 0, loaded = 0;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (som_session_set_dataset (s, spec, NULL, NULL, 12, &error));
  g_assert_no_error (error);
  g_assert_null (som_session_get_ref_sha256 (s, SOM_SESSION_REF_DATASET));
  g_assert_true (som_session_save (s, path, &error));
  t = som_session_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (som_session_get_ref_path (t, SOM_SESSION_REF_DATASET), ==, spec);
  g_assert_cmpint (som_session_get_ref_state (t, SOM_SESSION_REF_DATASET), ==, SOM_SESSION_REF_UNCHECKED);
  g_rmdir (dir);
  g_clear_object (&t);
  t = som_session_load (path, &error);
  g_assert_cmpint (som_session_get_ref_state (t, SOM_SESSION_REF_DATASET), ==, SOM_SESSION_REF_MISSING);

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  for (int i = 0; i < 300; i++)
    {
      g_autofree char *copy = g_memdup2 (data, len);
      g_autoptr(SomSession) u = NULL;
      g_autoptr(GError) e = NULL;

      for (int k = 0; k < 3; k++)
        copy[g_rand_int_range (rand, 0, len)] ^= 1 << g_rand_int_range (rand, 0, 8);
      g_assert_true (g_file_set_contents (flipped, copy, len, NULL));
      u = som_session_load (flipped, &e);
      if (u == NULL)
        {
          g_assert_nonnull (e);
          refused++;
        }
      else
        {
          /* a flip the zip format cannot see (a timestamp, a comment): the
           * session that loads is still a consistent one */
          g_assert_true (som_session_validate (u, NULL));
          loaded++;
        }
    }
  g_test_message ("300 sessions with 3 flipped bits: %u refused, %u loaded (flips in unchecked header fields)",
                  refused, loaded);
  g_assert_cmpuint (refused, >, 250);
}

static void
test_kill_during_save (void)
{
  g_autofree char *path = tmp_path ("killed.somscope");
  g_autoptr(SomSession) s = make_session (tmp_dir, 0);
  g_autoptr(GError) error = NULL;
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  g_autofree char *got2 = NULL;
  g_autoptr(GDir) d = NULL;
  const char *entry;
  int status;

  g_assert_true (som_session_save (s, path, &error));
  want = session_digest (s, path);

  /* the child saves different data over it and aborts midway */
  g_assert_true (run_child ("--child-save", path, TRUE, NULL, &status));
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGABRT);
  g_assert_true (run_child ("--child-digest", path, FALSE, &got, &status));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (got, ==, want);

  /* without the hook the same child replaces it */
  g_assert_true (run_child ("--child-save", path, FALSE, NULL, &status));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (run_child ("--child-digest", path, FALSE, &got2, &status));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (got2, !=, want);

  /* and no temporary is left beside it */
  d = g_dir_open (tmp_dir, 0, NULL);
  while ((entry = g_dir_read_name (d)) != NULL)
    g_assert_null (strstr (entry, "killed.somscope.tmp"));
}

static void
on_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  (*(int *) user_data)++;
}

static void
test_async (void)
{
  g_autofree char *path = tmp_path ("async.somscope");
  g_autoptr(SomSession) s = make_session (tmp_dir, 0);
  g_autoptr(SomSession) t = NULL;
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  g_autofree char *before = NULL;
  int n_modified = 0, n_path = 0;

  g_signal_connect (s, "notify::modified", G_CALLBACK (count_notify), &n_modified);
  g_signal_connect (s, "notify::path", G_CALLBACK (count_notify), &n_path);

  /* saved in a worker; a change made meanwhile keeps the session modified */
  som_session_save_async (s, path, NULL, on_result, &result);
  som_session_set_selection (s, 3, 7, 1);
  g_assert_true (som_session_save_finish (s, wait_result (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_true (som_session_get_modified (s));
  g_assert_cmpint (n_path, ==, 1);
  g_assert_cmpint (n_modified, ==, 0);

  /* saved again with nothing changing: clean, notified once */
  som_session_save_async (s, path, NULL, on_result, &result);
  g_assert_true (som_session_save_finish (s, wait_result (&result), &error));
  g_clear_object (&result);
  g_assert_false (som_session_get_modified (s));
  g_assert_cmpint (n_modified, ==, 1);
  g_assert_cmpint (n_path, ==, 1);
  want = session_digest (s, path);

  som_session_load_async (path, NULL, on_result, &result);
  t = som_session_load_finish (wait_result (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  got = session_digest (t, path);
  g_assert_cmpstr (got, ==, want);

  /* a cancelled save leaves the file as it was */
  before = g_strdup (want);
  som_session_set_selection (s, 3, 8, 1);
  g_cancellable_cancel (cancel);
  som_session_save_async (s, path, cancel, on_result, &result);
  g_assert_false (som_session_save_finish (s, wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&result);
  g_assert_true (som_session_get_modified (s));
  g_clear_object (&t);
  t = som_session_load (path, &error);
  g_assert_no_error (error);
  g_free (got);
  got = session_digest (t, path);
  g_assert_cmpstr (got, ==, before);

  /* an invalid session fails through the callback, not at the call */
  g_assert_true (som_session_take_layer_array (s, 0, SOM_LAYER_BMUS, NULL, &error));
  som_session_save_async (s, path, NULL, on_result, &result);
  g_assert_false (som_session_save_finish (s, wait_result (&result), &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_clear_object (&result);
}

static void
test_layer_map_and_cod (void)
{
  g_autofree char *dir = tmp_path ("cod-export");
  g_autoptr(SomSession) s = make_session (tmp_dir, 0);
  g_autoptr(SomMap) map = NULL;
  g_autoptr(SomMap) back = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) files = NULL;
  g_autofree char *text = NULL;
  const SomArray *cb = som_session_get_layer_array (s, 0, SOM_LAYER_CODEBOOK);
  const SomArray *ch;
  gint64 total = 0;

  map = som_session_get_layer_map (s, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_grid_get_rows (som_map_get_grid (map)), ==, 2);
  g_assert_cmpuint (som_grid_get_cols (som_map_get_grid (map)), ==, 3);
  g_assert_cmpint (som_grid_get_topology (som_map_get_grid (map)), ==, SOM_TOPOLOGY_HEX);
  g_assert_cmpuint (som_map_get_dim (map), ==, 4);
  g_assert_cmpmem (som_map_get_codebook (map), 24 * sizeof (float), cb->data, 24 * sizeof (float));
  g_assert_cmpmem (som_map_get_array (map, "hits")->data, 6 * 4,
                   som_session_get_layer_array (s, 0, SOM_LAYER_HITS)->data, 6 * 4);
  /* class hits from the labels: 3 classes (class_names), 12 inputs in all */
  ch = som_map_get_array (map, "class_hits");
  g_assert_nonnull (ch);
  g_assert_cmpuint (ch->shape[0], ==, 3);
  for (gsize i = 0; i < som_array_n_elements (ch); i++)
    total += ((gint32 *) ch->data)[i];
  g_assert_cmpint (total, ==, 12);
  /* and back into another layer: the same map, the same arrays */
  {
    g_autoptr(SomMap) again = NULL;
    g_assert_true (som_session_set_layer_map (s, 1, map, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (som_session_get_layer_rows (s, 1), ==, 2);
    g_assert_cmpmem (som_session_get_layer_array (s, 1, SOM_LAYER_CODEBOOK)->data, 96, cb->data, 96);
    g_assert_null (som_session_get_layer_array (s, 1, SOM_LAYER_BMUS));
    /* layer 1's codes are 12×10, the map is 4-dimensional: validation says so */
    g_assert_false (som_session_validate (s, &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
    g_clear_error (&error);
    som_session_take_layer_array (s, 1, SOM_LAYER_CODES, NULL, NULL);
    g_assert_false (som_session_validate (s, &error));
    g_assert_nonnull (strstr (error->message, "no bmus"));
    g_clear_error (&error);
    som_session_set_layer_array (s, 1, SOM_LAYER_BMUS, som_session_get_layer_array (s, 0, SOM_LAYER_BMUS), NULL);
    g_assert_true (som_session_validate (s, &error));
    again = som_session_get_layer_map (s, 1, &error);
    g_assert_no_error (error);
    g_assert_cmpmem (som_map_get_array (again, "umatrix")->data, 24, som_map_get_array (map, "umatrix")->data, 24);
    som_session_set_layer_som (s, 1, NULL);
    som_session_take_layer_array (s, 1, SOM_LAYER_CODEBOOK, NULL, NULL);
    for (SomLayerArray k = SOM_LAYER_CODEBOOK; k < SOM_LAYER_N_ARRAYS; k++)
      som_session_take_layer_array (s, 1, k, NULL, NULL);
  }
  /* an unmapped layer has no map */
  g_assert_null (som_session_get_layer_map (s, 1, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_clear_error (&error);

  /* SOM_PAK through the map files' writer: the codebook comes back exactly */
  files = som_session_export (s, SOM_EXPORT_CODEBOOKS, SOM_EXPORT_COD, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (files), ==, 1);
  g_assert_true (g_str_has_suffix (files[0], "/layer_003.cod"));
  g_assert_true (g_file_get_contents (files[0], &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "4 hexa 3 2 gaussian\n"));
  back = som_map_load_cod (files[0], &error);
  g_assert_no_error (error);
  g_assert_cmpmem (som_map_get_codebook (back), 24 * sizeof (float), cb->data, 24 * sizeof (float));
  g_unlink (files[0]);
  g_rmdir (dir);
}

/* --- hostile files, built with libzip ---------------------------------- */

typedef struct
{
  const char *name;
  const void *data;
  gsize       len;
  gboolean    deflate;
} Member;

static void
write_zip (const char *path, const Member *members, guint n)
{
  int zerr = 0;
  zip_t *z = zip_open (path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);

  g_assert_nonnull (z);
  for (guint i = 0; i < n; i++)
    {
      zip_source_t *src = zip_source_buffer (z, members[i].data, members[i].len, 0);
      zip_int64_t idx = zip_file_add (z, members[i].name, src, ZIP_FL_ENC_UTF_8);
      g_assert_cmpint (idx, >=, 0);
      zip_set_file_compression (z, idx, members[i].deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
  g_assert_cmpint (zip_close (z), ==, 0);
}

static const char *good_manifest =
  "{\"format\":\"somscope-session\",\"version\":1,\"created\":\"2026-01-01T00:00:00Z\",\"provenance\":{},"
  "\"model\":null,\"dataset\":null,\"activations\":null,\"layers\":[{\"index\":7,\"name\":\"x\",\"op\":\"Relu\","
  "\"shape\":[null,4],\"som\":{\"rows\":2,\"cols\":2,\"dim\":4}}],\"attack\":null,\"seed\":0,"
  "\"selection\":{\"layer\":null,\"input\":null,\"unit\":null}}";

static GBytes *
npy_f32 (guint ndim, const gsize *shape)
{
  g_autoptr(SomArray) a = som_array_new (SOM_DTYPE_F32, ndim, shape, NULL);
  return som_npy_serialize (a);
}

static GBytes *
npy_i32 (gsize n, gint32 value)
{
  g_autoptr(SomArray) a = som_array_new_1d_i32 (n);
  for (gsize i = 0; i < n; i++)
    ((gint32 *) a->data)[i] = value;
  return som_npy_serialize (a);
}

/* Writes a minimal session (layer 7 mapped 2×2×4, 3 inputs) with @manifest
 * and the codebook of shape @cb_shape; @extra members are appended. */
static void
write_session (const char *path, const char *manifest, const gsize *cb_shape, const Member *extra, guint n_extra)
{
  g_autoptr(GBytes) cb = npy_f32 (3, cb_shape);
  g_autoptr(GBytes) bmus = npy_i32 (3, 1);
  g_autoptr(GBytes) grid_i = NULL;
  g_autoptr(GBytes) grid_f = npy_f32 (2, (gsize[]) { 2, 2 });
  g_autoptr(SomArray) hits = som_array_new (SOM_DTYPE_I32, 2, (gsize[]) { 2, 2 }, NULL);
  Member m[16];
  guint n = 0;

  grid_i = som_npy_serialize (hits);
  m[n++] = (Member) { "manifest.json", manifest, strlen (manifest), TRUE };
  m[n++] = (Member) { "layer_007/codebook.npy", g_bytes_get_data (cb, NULL), g_bytes_get_size (cb), TRUE };
  m[n++] = (Member) { "layer_007/bmus.npy", g_bytes_get_data (bmus, NULL), g_bytes_get_size (bmus), FALSE };
  m[n++] = (Member) { "layer_007/hits.npy", g_bytes_get_data (grid_i, NULL), g_bytes_get_size (grid_i), FALSE };
  m[n++] = (Member) { "layer_007/umatrix.npy", g_bytes_get_data (grid_f, NULL), g_bytes_get_size (grid_f), TRUE };
  for (guint i = 0; i < n_extra; i++)
    m[n++] = extra[i];
  write_zip (path, m, n);
}

static void
expect_refused (const char *path, int code, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomSession) s = som_session_load (path, &error);

  g_assert_null (s);
  g_assert_nonnull (error);
  g_test_message ("refused: %s", error->message);
  if (code >= 0)
    g_assert_error (error, SOM_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("expected \"%s\" in: %s", fragment, error->message);
}

static void
test_hostile_minimal_is_valid (void)
{
  g_autofree char *path = tmp_path ("minimal.somscope");
  g_autoptr(GError) error = NULL;
  g_autoptr(SomSession) s = NULL;

  /* the hand-built baseline loads, so each refusal below is about its one flaw */
  write_session (path, good_manifest, (gsize[]) { 2, 2, 4 }, NULL, 0);
  s = som_session_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_session_get_n_inputs (s), ==, 3);
  g_assert_cmpint (som_session_get_layer_index (s, 0), ==, 7);
}

static void
test_hostile_shapes (void)
{
  g_autofree char *path = tmp_path ("shapes.somscope");
  g_autoptr(GBytes) bad_bmus = npy_i32 (3, 4);
  g_autoptr(GBytes) short_labels = npy_i32 (2, 0);
  Member m1[] = { { "layer_007/bmus_adversarial.npy", g_bytes_get_data (bad_bmus, NULL),
                    g_bytes_get_size (bad_bmus), FALSE } };
  Member m2[] = { { "labels.npy", g_bytes_get_data (short_labels, NULL), g_bytes_get_size (short_labels), FALSE } };
  g_autofree char *no_dim = NULL;

  /* a codebook that disagrees with the manifest's rows×cols×dim */
  write_session (path, good_manifest, (gsize[]) { 3, 2, 4 }, NULL, 0);
  expect_refused (path, SOM_ERROR_CORRUPT, "layer_007/codebook has shape 3×2×4, the manifest says 2×2×4");
  /* a BMU outside the 2×2 grid */
  write_session (path, good_manifest, (gsize[]) { 2, 2, 4 }, m1, 1);
  expect_refused (path, SOM_ERROR_CORRUPT, "layer_007/bmus_adversarial[0] = 4 is outside [0, 4)");
  /* labels for 2 inputs where the BMUs cover 3 */
  write_session (path, good_manifest, (gsize[]) { 2, 2, 4 }, m2, 1);
  expect_refused (path, SOM_ERROR_CORRUPT, "shape");
  /* a mapped layer without its dim */
  no_dim = g_strdup (good_manifest);
  memcpy (strstr (no_dim, "\"dim\""), "\"dum\"", 5);
  write_session (path, no_dim, (gsize[]) { 2, 2, 4 }, NULL, 0);
  expect_refused (path, SOM_ERROR_CORRUPT, "dim");
}

static void
test_hostile_versions (void)
{
  g_autofree char *path = tmp_path ("version.somscope");
  g_autoptr(GString) m = NULL;

  m = g_string_new (good_manifest);
  g_string_replace (m, "\"version\":1", "\"version\":2", 1);
  write_session (path, m->str, (gsize[]) { 2, 2, 4 }, NULL, 0);
  expect_refused (path, SOM_ERROR_UNSUPPORTED, "version 2 is newer");
  g_string_free (m, TRUE);

  m = g_string_new (good_manifest);
  g_string_replace (m, "somscope-session", "somscope-som", 1);
  write_session (path, m->str, (gsize[]) { 2, 2, 4 }, NULL, 0);
  expect_refused (path, SOM_ERROR_CORRUPT, "not a Somscope session");
  g_string_free (m, TRUE);

  m = g_string_new (good_manifest);
  g_string_replace (m, "\"layers\":[", "\"layers\":[[[[", 1);
  write_session (path, m->str, (gsize[]) { 2, 2, 4 }, NULL, 0);
  expect_refused (path, SOM_ERROR_CORRUPT, "manifest.json");
  g_string_free (m, TRUE);

  /* deep nesting must not recurse the parser to death */
  m = g_string_new ("{\"format\":\"somscope-session\",\"version\":1,\"x\":");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (m, '[');
  write_session (path, m->str, (gsize[]) { 2, 2, 4 }, NULL, 0);
  expect_refused (path, SOM_ERROR_CORRUPT, "nests deeper");

  /* no manifest at all: a plain .npz */
  {
    g_autoptr(GBytes) b = npy_i32 (3, 0);
    Member one[] = { { "labels.npy", g_bytes_get_data (b, NULL), g_bytes_get_size (b), FALSE } };
    write_zip (path, one, 1);
    expect_refused (path, SOM_ERROR_CORRUPT, "no manifest.json");
  }
}

static void
test_hostile_names (void)
{
  g_autofree char *path = tmp_path ("names.somscope");
  const char *bad[] = { "../evil.npy", "/abs.npy", "layer_007/../../evil.npy", "C:\\evil.npy", "a\\..\\b.npy" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      Member m[] = { { bad[i], "x", 1, FALSE } };
      write_session (path, good_manifest, (gsize[]) { 2, 2, 4 }, m, 1);
      expect_refused (path, SOM_ERROR_CORRUPT, "escapes the archive");
    }
}

/* Sets the uncompressed size of @member in both its local and central
 * headers, as a forged zip would. */
static void
forge_size (const char *path, const char *member, guint32 size)
{
  g_autofree char *data = NULL;
  gsize len, nl = strlen (member);
  guint patched = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  for (gsize i = 0; i + 46 + nl <= len; i++)
    {
      guint8 *p = (guint8 *) data + i;
      if (memcmp (p, "PK\3\4", 4) == 0 && (gsize) (p[26] | p[27] << 8) == nl && memcmp (p + 30, member, nl) == 0)
        {
          p[22] = size, p[23] = size >> 8, p[24] = size >> 16, p[25] = size >> 24;
          patched++;
        }
      if (memcmp (p, "PK\1\2", 4) == 0 && (gsize) (p[28] | p[29] << 8) == nl && memcmp (p + 46, member, nl) == 0)
        {
          p[24] = size, p[25] = size >> 8, p[26] = size >> 16, p[27] = size >> 24;
          patched++;
        }
    }
  g_assert_cmpuint (patched, ==, 2);
  g_assert_true (g_file_set_contents (path, data, len, NULL));
}

static void
test_hostile_sizes (void)
{
  g_autofree char *path = tmp_path ("bomb.somscope");
  gsize big = 64 << 20;
  g_autofree guint8 *zeros = g_malloc0 (big);

  /* a zip bomb: a deflated member that declares ~4 GB */
  write_session (path, good_manifest, (gsize[]) { 2, 2, 4 }, NULL, 0);
  forge_size (path, "layer_007/codebook.npy", 0xFFFFFF00u);
  expect_refused (path, -1, NULL);

  /* a real, honest 64 MB of zeros, deflated to ~64 KB: within deflate's
   * ratio, but beyond a small memory budget */
  {
    Member m[] = { { "padding.bin", zeros, big, TRUE } };
    write_session (path, good_manifest, (gsize[]) { 2, 2, 4 }, m, 1);
  }
  g_setenv ("SOMSCOPE_MEMORY_BUDGET", "16000000", TRUE);
  expect_refused (path, SOM_ERROR_TOO_LARGE, "memory budget");
  g_unsetenv ("SOMSCOPE_MEMORY_BUDGET");

  /* a huge declared .npy shape over a few bytes of data */
  {
    const char *hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }";
    GByteArray *b = g_byte_array_new ();
    guint8 pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0 };
    pre[8] = strlen (hdr);
    g_byte_array_append (b, pre, 10);
    g_byte_array_append (b, (const guint8 *) hdr, strlen (hdr));
    g_byte_array_append (b, (const guint8 *) "abcdefgh", 8);
    {
      Member m[] = { { "layer_007/codes.npy", b->data, b->len, FALSE } };
      write_session (path, good_manifest, (gsize[]) { 2, 2, 4 }, m, 1);
    }
    g_byte_array_unref (b);
    expect_refused (path, SOM_ERROR_TOO_LARGE, "overflows");
  }

  /* a manifest that declares a huge grid, with arrays that do not follow */
  {
    g_autoptr(GString) m = g_string_new (good_manifest);
    g_string_replace (m, "\"rows\":2,\"cols\":2,\"dim\":4", "\"rows\":1000,\"cols\":1000,\"dim\":2000000000", 1);
    write_session (path, m->str, (gsize[]) { 2, 2, 4 }, NULL, 0);
    expect_refused (path, SOM_ERROR_CORRUPT, "the manifest says 1000×1000×2000000000");
  }
}

static void
test_truncated_and_corrupt (void)
{
  g_autofree char *good = tmp_path ("good.somscope");
  g_autofree char *path = tmp_path ("cut.somscope");
  g_autoptr(SomSession) s = make_session (tmp_dir, 0);
  g_autofree char *data = NULL;
  gsize len;
  const char *member = "layer_003/codebook.npy";
  guint8 *p;

  g_assert_true (som_session_save (s, good, NULL));
  g_assert_true (g_file_get_contents (good, &data, &len, NULL));
  /* every truncation is refused, without a crash */
  for (gsize cut = 0; cut < len; cut += MAX (len / 97, 1))
    {
      g_assert_true (g_file_set_contents (path, data, cut, NULL));
      expect_refused (path, -1, NULL);
    }
  /* one flipped byte inside a deflated member's data fails its checksum */
  p = memmem (data, len, member, strlen (member));
  g_assert_nonnull (p);
  g_assert_cmpint (memcmp (p - 30, "PK\3\4", 4), ==, 0);
  p += strlen (member) + (p[-2] | p[-1] << 8) + 3;
  *p ^= 0x55;
  g_assert_true (g_file_set_contents (path, data, len, NULL));
  expect_refused (path, SOM_ERROR_CORRUPT, NULL);
}

static void
test_save_refuses_inconsistent (void)
{
  g_autofree char *path = tmp_path ("never.somscope");
  g_autoptr(SomSession) s = make_session (tmp_dir, 0);
  g_autoptr(SomArray) bmus = som_array_new_1d_i32 (11);
  g_autoptr(GError) error = NULL;

  g_assert_true (som_session_set_layer_array (s, 0, SOM_LAYER_BMUS, bmus, &error));
  g_assert_false (som_session_save (s, path, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "layer_003/bmus has shape 11"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  g_assert_cmpint (som_session_add_layer (s, 3, "dup", "Relu", NULL, NULL, &error), ==, -1);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_clear_error (&error);
  /* a float array where integers belong is refused, not truncated */
  {
    g_autoptr(SomArray) f = som_array_new_2d_f32 (12, 1);
    f->ndim = 1;
    g_assert_false (som_session_set_array (s, SOM_SESSION_LABELS, f, &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  }
}

static void
test_numpy_reads_session (void)
{
  g_autofree char *path = tmp_path ("numpy.somscope");
  g_autoptr(SomSession) s = make_session (tmp_dir, 0);
  g_autofree char *script = g_build_filename (SOMSCOPE_SOURCE_DIR, "tests", "core", "check-numpy-session.py", NULL);
  g_autofree char *cli = g_build_filename (SOMSCOPE_BUILD_DIR, "src", "cli", "somscope-cli", NULL);
  const char *argv[] = { "/usr/bin/python3", script, path, cli, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_assert_true (som_session_save (s, path, &error));
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("numpy check failed:\n%s%s", out, err);
  g_assert_nonnull (strstr (out, "numpy read the session"));
  g_assert_nonnull (strstr (out, "numpy read the exports"));
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
  const char *e;

  while (d != NULL && (e = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, e, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

int
main (int argc, char **argv)
{
  int status;

  self_exe = g_canonicalize_filename (argv[0], NULL);
  if (argc == 3 && g_str_has_prefix (argv[1], "--"))
    return child_main (argv[1], argv[2]);

  g_test_init (&argc, &argv, NULL);
  g_free (tmp_path (""));
  g_test_add_func ("/session/round-trip/fresh-process", test_round_trip_fresh_process);
  g_test_add_func ("/session/round-trip/in-process", test_round_trip_in_process);
  g_test_add_func ("/session/model-moved-or-changed", test_model_moved_or_changed);
  g_test_add_func ("/session/kill-during-save", test_kill_during_save);
  g_test_add_func ("/session/async", test_async);
  g_test_add_func ("/session/dataset-spec-and-flips", test_dataset_spec_and_flips);
  g_test_add_func ("/session/layer-map-and-cod", test_layer_map_and_cod);
  g_test_add_func ("/session/numpy-reads", test_numpy_reads_session);
  g_test_add_func ("/session/save-refuses-inconsistent", test_save_refuses_inconsistent);
  g_test_add_func ("/session/hostile/minimal-is-valid", test_hostile_minimal_is_valid);
  g_test_add_func ("/session/hostile/shapes", test_hostile_shapes);
  g_test_add_func ("/session/hostile/versions", test_hostile_versions);
  g_test_add_func ("/session/hostile/names", test_hostile_names);
  g_test_add_func ("/session/hostile/sizes", test_hostile_sizes);
  g_test_add_func ("/session/hostile/truncated-and-corrupt", test_truncated_and_corrupt);
  status = g_test_run ();
  remove_tree (tmp_dir);
  return status;
}
