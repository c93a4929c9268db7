/* fuzz-session.c: session files (.somscope: a zip with session.json, arrays
 * and per-layer maps), then every accessor, validation, and a save and load
 * of what was accepted.
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

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *path = fuzz_write ("input.somscope", data, size);
  g_autofree char *again_path = g_build_filename (fuzz_dir, "again.somscope", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomSession) s = som_session_load (path, &error);
  g_autoptr(SomSession) again = NULL;
  gint64 layer, input, unit;
  gboolean ok;

  fuzz_check_error (s != NULL, error);
  if (s == NULL)
    return 0;
  ok = som_session_validate (s, &error);
  fuzz_check_error (ok, error);
  g_clear_error (&error);
  som_session_get_selection (s, &layer, &input, &unit);
  som_session_get_n_inputs (s);
  for (SomSessionArray a = 0; a < SOM_SESSION_N_ARRAYS; a++)
    som_session_get_array (s, a);
  for (SomSessionRef r = 0; r < SOM_SESSION_N_REFS; r++)
    {
      som_session_get_ref_path (s, r);
      som_session_get_ref_sha256 (s, r);
    }
  for (guint i = 0; i < som_session_get_n_layers (s); i++)
    {
      guint rows = som_session_get_layer_rows (s, i);
      guint cols = som_session_get_layer_cols (s, i);
      guint dim = som_session_get_layer_dim (s, i);
      const SomArray *cb = som_session_get_layer_array (s, i, SOM_LAYER_CODEBOOK);

      g_assert (som_session_get_layer_name (s, i) != NULL);
      som_session_get_layer_shape (s, i);
      som_session_get_layer_som (s, i);
      if (cb != NULL)
        g_assert (som_array_n_elements (cb) == (gsize) rows * cols * dim);
      for (SomLayerArray a = 0; a < SOM_LAYER_N_ARRAYS; a++)
        som_session_get_layer_array (s, i, a);
    }
  if (!som_session_save (s, again_path, &error))
    g_error ("fuzz: a loaded session could not be saved: %s", error->message);
  again = som_session_load (again_path, &error);
  if (again == NULL)
    g_error ("fuzz: a saved session could not be loaded: %s", error->message);
  g_assert_cmpuint (som_session_get_n_layers (again), ==, som_session_get_n_layers (s));
  return 0;
}
