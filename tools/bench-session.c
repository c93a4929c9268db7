/* bench-session.c: save and load speed of a realistic .somscope session,
 * side by side with numpy reading the same file.
 *
 * A Fashion-MNIST-sized analysis: 10,000 inputs, six mapped layers of
 * 20×20 units (D = 16…128), clean and adversarial codes and BMUs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <glib/gstdio.h>

#include "som.h"

static SomArray *
random_f32 (GRand *r, guint ndim, const gsize *shape)
{
  SomArray *a = som_array_new (SOM_DTYPE_F32, ndim, shape, NULL);
  gsize n = som_array_n_elements (a);

  for (gsize i = 0; i < n; i++)
    ((float *) a->data)[i] = g_rand_double (r);
  return a;
}

static SomArray *
random_i32 (GRand *r, gsize n, gint32 below)
{
  SomArray *a = som_array_new_1d_i32 (n);

  for (gsize i = 0; i < n; i++)
    ((gint32 *) a->data)[i] = g_rand_int_range (r, 0, below);
  return a;
}

int
main (int argc, char **argv)
{
  const gsize n = 10000, rows = 20, cols = 20;
  const guint dims[] = { 16, 32, 64, 64, 128, 10 };
  g_autoptr(GRand) r = g_rand_new_with_seed (1);
  g_autoptr(SomSession) s = som_session_new ();
  g_autoptr(SomSession) t = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("somscope-bench-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bench.somscope", NULL);
  g_autoptr(GTimer) timer = g_timer_new ();
  double save_s = G_MAXDOUBLE, load_s = G_MAXDOUBLE, numpy_s = -1;
  GStatBuf st;

  som_session_take_array (s, SOM_SESSION_LABELS, random_i32 (r, n, 10), NULL);
  som_session_take_array (s, SOM_SESSION_PREDICTIONS, random_i32 (r, n, 10), NULL);
  som_session_take_array (s, SOM_SESSION_ADVERSARIAL_PREDICTIONS, random_i32 (r, n, 10), NULL);
  for (guint l = 0; l < G_N_ELEMENTS (dims); l++)
    {
      g_autofree char *meta_text = g_strdup_printf ("{\"rows\":%zu,\"cols\":%zu,\"dim\":%u,\"topology\":\"hex\"}",
                                                    rows, cols, dims[l]);
      g_autoptr(JsonNode) meta = json_from_string (meta_text, NULL);
      int p = som_session_add_layer (s, 3 * l + 2, "layer", "Relu", NULL, meta, &error);
      gsize cb[3] = { rows, cols, dims[l] }, grid[2] = { rows, cols }, codes[2] = { n, dims[l] };

      g_assert_no_error (error);
      som_session_take_layer_array (s, p, SOM_LAYER_CODEBOOK, random_f32 (r, 3, cb), NULL);
      som_session_take_layer_array (s, p, SOM_LAYER_BMUS, random_i32 (r, n, rows * cols), NULL);
      som_session_take_layer_array (s, p, SOM_LAYER_BMUS_ADVERSARIAL, random_i32 (r, n, rows * cols), NULL);
      som_session_take_layer_array (s, p, SOM_LAYER_HITS, som_array_new (SOM_DTYPE_I32, 2, grid, NULL), NULL);
      som_session_take_layer_array (s, p, SOM_LAYER_UMATRIX, random_f32 (r, 2, grid), NULL);
      som_session_take_layer_array (s, p, SOM_LAYER_CODES, random_f32 (r, 2, codes), NULL);
      som_session_take_layer_array (s, p, SOM_LAYER_CODES_ADVERSARIAL, random_f32 (r, 2, codes), NULL);
    }

  /* best of three, so a busy machine disturbs less */
  for (int i = 0; i < 3; i++)
    {
      g_timer_start (timer);
      if (!som_session_save (s, path, &error))
        g_error ("%s", error->message);
      save_s = MIN (save_s, g_timer_elapsed (timer, NULL));
      g_timer_start (timer);
      g_clear_object (&t);
      t = som_session_load (path, &error);
      if (t == NULL)
        g_error ("%s", error->message);
      load_s = MIN (load_s, g_timer_elapsed (timer, NULL));
    }
  g_stat (path, &st);

  if (g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      const char *code =
        "import sys, time, numpy as np\n"
        "best = 1e9\n"
        "for _ in range(3):\n"
        "    t = time.perf_counter()\n"
        "    z = np.load(sys.argv[1])\n"
        "    arrays = [z[k] for k in z.files]\n"
        "    best = min(best, time.perf_counter() - t)\n"
        "print(best)\n";
      const char *pargv[] = { "/usr/bin/python3", "-c", code, path, NULL };
      g_autofree char *out = NULL;
      int status;

      if (g_spawn_sync (NULL, (char **) pargv, NULL, 0, NULL, NULL, &out, NULL, &status, NULL) &&
          g_spawn_check_wait_status (status, NULL))
        numpy_s = g_ascii_strtod (out, NULL);
    }

  printf ("session: %zu inputs, %zu layers of %zu×%zu units, file %.1f MB\n", n, G_N_ELEMENTS (dims), rows, cols,
          st.st_size / 1e6);
  printf ("save   %.3f s  (%.0f MB/s)\n", save_s, st.st_size / 1e6 / save_s);
  printf ("load   %.3f s  (%.0f MB/s, validation included)\n", load_s, st.st_size / 1e6 / load_s);
  if (numpy_s > 0)
    printf ("numpy  %.3f s  np.load + every member; Somscope load / numpy = %.2f\n", numpy_s, load_s / numpy_s);
  g_unlink (path);
  g_rmdir (dir);
  return 0;
}
