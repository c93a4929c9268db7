/* test-fuzz-regressions.c: inputs that once crashed a libFuzzer harness
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each input found by fuzzing (tests/fuzz/corpus/<harness>/regression-*,
 * also replayed by every fuzz run) is loaded here through the public API in
 * the normal build, and must give a GError that names the file and the
 * problem, or work (docs/hardening.md, "Findings and fixes").
 */
#include "config.h"

#include <string.h>

#include "som.h"

static char *
corpus_path (const char *harness, const char *name)
{
  const char *root = g_getenv ("SOMSCOPE_SOURCE_DIR");
  return g_build_filename (root != NULL ? root : SOMSCOPE_SOURCE_DIR, "tests", "fuzz", "corpus", harness, name,
                           NULL);
}

/* A model loads or fails with a message that starts with its path. */
static void
expect_model_error (const char *harness, const char *name, gint code, const char *problem)
{
  g_autofree char *path = corpus_path (harness, name);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = som_model_load (path, &error);

  g_assert_null (model);
  g_assert_error (error, SOM_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, problem));
}

/* Finding 8: a Softmax node with no outputs (protobuf allows it) reached
 * shape inference, which wrote the shape of output 0 through NULL.  The
 * fuzzer's input also lists its input twice (finding 9, checked first);
 * -min is the same node alone. */
static void
test_node_without_outputs (void)
{
  expect_model_error ("onnx-model", "regression-node-without-outputs.onnx", SOM_ERROR_CORRUPT,
                      "input 'x' is listed twice");
  expect_model_error ("onnx-model", "regression-node-without-outputs-min.onnx", SOM_ERROR_CORRUPT,
                      "node (unnamed) (Softmax) has no outputs");
}

/* Finding 9: a graph listing input 'X' twice: each run took a reference to
 * the input tensor per listing and released one (a leak per run). */
static void
test_input_listed_twice (void)
{
  expect_model_error ("onnx-model", "regression-input-listed-twice.onnx", SOM_ERROR_CORRUPT,
                      "input 'X' is listed twice");
}

/* Finding 17: a graph with no nodes, inputs, outputs or values (only an
 * opset and a name) loads; running it failed with no GError at all (an
 * array of no values came back NULL, which meant failure).  It runs, and
 * gives nothing. */
static void
test_empty_graph (void)
{
  g_autofree char *path = corpus_path ("onnx-model", "regression-empty-graph.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = som_model_load (path, &error);
  g_autoptr(GPtrArray) outputs = NULL;
  g_autoptr(GPtrArray) taps = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (model);
  g_assert_cmpuint (som_model_get_n_inputs (model), ==, 0);
  g_assert_cmpuint (som_model_get_n_outputs (model), ==, 0);
  g_assert_true (som_model_run (model, NULL, 0, NULL, 0, &outputs, &taps, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (outputs->len, ==, 0);
  g_assert_cmpuint (taps->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fuzz/onnx-model/node-without-outputs", test_node_without_outputs);
  g_test_add_func ("/fuzz/onnx-model/input-listed-twice", test_input_listed_twice);
  g_test_add_func ("/fuzz/onnx-model/empty-graph", test_empty_graph);
  return g_test_run ();
}
