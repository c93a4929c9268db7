/* test-sessions.c: sessions, data export and the app under faults, under Xvfb
 *
 * The demo runs from a copy of its model (SOMSCOPE_DEMO_DIR), so the tests
 * can delete, move and replace the model a session refers to.  Faults:
 * - disk full on save: a 16 MiB tmpfs in a private mount namespace when the
 *   test may mount one (root); otherwise, and always in a second test, a
 *   file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes writes fail;
 * - a read-only folder: mode 0555, with CAP_DAC_OVERRIDE dropped when the
 *   test runs as root (root writes anywhere otherwise);
 * - the model deleted or moved while a session is open.
 * Every fault must be reported (the window's last error, shown in a toast)
 * and lose nothing: the previous file intact, no temporary files left, the
 * document and its maps as they were.
 * The last test starts and cancels training, the attack and loading through
 * the window's actions SOMSCOPE_CANCEL_ROUNDS times (default 200) with
 * random delays from a seeded GRand, and checks the app returns to idle.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE   /* unshare() */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "som-map.h"
#include "som-session.h"

#include "somscope-application.h"
#include "somscope-export-data-dialog.h"
#include "somscope-window.h"
#include "somscope-window-session.h"

#define WAIT_SECONDS 240
#define N_INPUTS 300

static SomscopeWindow *window;
static char *tmpdir;
static char *model_path;        /* the demo's model, a copy in tmpdir */
static char *model_backup;      /* to put it back */
static char *full_dir;          /* a small tmpfs, or NULL */
static char *session_path;      /* saved by /sessions/save */
static char *model_sha256;
static int test_status;

typedef gboolean (*Condition) (gpointer data);

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main loop until @condition holds; fails after WAIT_SECONDS.
 * A 10 ms tick keeps the loop from blocking on a condition that no event
 * announces (a worker thread counting itself out). */
static void
wait_for (Condition   condition,
          gpointer    data,
          const char *what)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
  guint tick = g_timeout_add (10, tick_cb, NULL);

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (tick);
}

static gboolean
maps_trained (gpointer data)
{
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  guint n = g_list_model_get_n_items (mapped);

  if (n == 0)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);

      if (somscope_layer_get_status (layer) != SOMSCOPE_LAYER_STATUS_DONE)
        return FALSE;
    }
  return TRUE;
}

/* The app is idle (nothing loading, no job, no session job) and every
 * worker thread has counted itself out. */
static gboolean
app_idle (gpointer data)
{
  SomscopeDocument *document = somscope_window_get_document (window);

  return document != NULL && somscope_document_get_state (document) == SOMSCOPE_DOCUMENT_STATE_READY &&
         somscope_window_is_idle (window) && somscope_wait_for_workers (0);
}

static gboolean
session_jobs_done (gpointer data)
{
  return somscope_window_get_n_session_jobs (window) == 0;
}

static gboolean
other_document_ready (gpointer data)
{
  SomscopeDocument *document = somscope_window_get_document (window);

  return document != data && document != NULL &&
         somscope_document_get_state (document) == SOMSCOPE_DOCUMENT_STATE_READY;
}

static void
clear_last_error (void)
{
  /* A harmless message resets what the tests look for. */
  somscope_window_show_error (window, "-");
}

static gboolean
has_error (void)
{
  const char *e = somscope_window_get_last_error (window);

  return e != NULL && !g_str_equal (e, "-");
}

static char *
file_contents (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  return contents;
}

static GBytes *
file_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The names in @dir, sorted, joined by spaces. */
static char *
list_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
copy_file (const char *from,
           const char *to)
{
  g_autoptr(GFile) a = g_file_new_for_path (from);
  g_autoptr(GFile) b = g_file_new_for_path (to);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_copy (a, b, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
activate (const char *action)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), action, NULL));
}

/* Every mapped layer's map, with its BMUs, as the app holds them. */
static void
assert_same_maps (GListModel *a,
                  GListModel *b)
{
  g_assert_cmpuint (g_list_model_get_n_items (a), ==, g_list_model_get_n_items (b));
  for (guint i = 0; i < g_list_model_get_n_items (a); i++)
    {
      g_autoptr(SomscopeLayer) x = g_list_model_get_item (a, i);
      g_autoptr(SomscopeLayer) y = g_list_model_get_item (b, i);
      SomMap *mx = somscope_layer_get_map (x);
      SomMap *my = somscope_layer_get_map (y);

      g_assert_cmpuint (somscope_layer_get_index (x), ==, somscope_layer_get_index (y));
      g_assert_nonnull (mx);
      g_assert_nonnull (my);
      g_assert_cmpmem (som_map_get_codebook (mx), som_map_get_n_units (mx) * som_map_get_dim (mx) * sizeof (float),
                       som_map_get_codebook (my), som_map_get_n_units (my) * som_map_get_dim (my) * sizeof (float));
      for (guint k = 0; k < N_INPUTS; k++)
        g_assert_cmpint (somscope_layer_get_bmu (x, k), ==, somscope_layer_get_bmu (y, k));
    }
}

static GPtrArray *
mapped_snapshot (void)
{
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  GPtrArray *layers = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
    g_ptr_array_add (layers, g_list_model_get_item (mapped, i));
  return layers;
}

static GListModel *
as_model (GPtrArray *layers)
{
  GListStore *store = g_list_store_new (SOMSCOPE_TYPE_LAYER);

  g_list_store_splice (store, 0, 0, layers->pdata, layers->len);
  return G_LIST_MODEL (store);
}

/* The demo (from the copy of its model) with its maps and the attack. */
static void
test_demo (void)
{
  wait_for (maps_trained, NULL, "the demo's maps");
  wait_for (app_idle, NULL, "the demo's jobs");
  g_assert_cmpuint (g_list_model_get_n_items (somscope_document_get_inputs (somscope_window_get_document (window))),
                    ==, N_INPUTS);
  g_assert_cmpint (somscope_document_get_model_state (somscope_window_get_document (window)), ==,
                   SOM_SESSION_REF_OK);
}

/* numpy's view of an export folder: for each .npy its shape, dtype, sum
 * and first values; for each .cod its header, the shape and sum of its
 * values. */
static const char *numpy_script =
  "import json, os, sys\n"
  "import numpy as np\n"
  "d = sys.argv[1]\n"
  "out = {}\n"
  "for f in sorted(os.listdir(d)):\n"
  "    p = os.path.join(d, f)\n"
  "    if f.endswith('.npy'):\n"
  "        a = np.load(p, allow_pickle=False)\n"
  "        out[f] = {'shape': list(a.shape), 'dtype': str(a.dtype),\n"
  "                  'sum': float(np.nansum(a.astype(np.float64))),\n"
  "                  'first': [float(x) for x in a.reshape(-1)[:5]]}\n"
  "    elif f.endswith('.cod'):\n"
  "        with open(p) as fh:\n"
  "            header = fh.readline().split()\n"
  "            rows = [l.split() for l in fh if l.strip() and not l.startswith('#')]\n"
  "        v = np.array([[float(x) for x in r[:int(header[0])]] for r in rows])\n"
  "        out[f] = {'header': header, 'shape': list(v.shape), 'sum': float(v.sum())}\n"
  "print(json.dumps(out))\n";

static JsonObject *
numpy_read (const char *dir,
            JsonParser *parser)
{
  const char *argv[] = { "/usr/bin/python3", "-c", numpy_script, dir, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("numpy failed: %s", err);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static JsonObject *
member (JsonObject *files,
        const char *prefix,
        const char *suffix)
{
  g_autofree char *name = g_strconcat (prefix, suffix, NULL);

  if (!json_object_has_member (files, name))
    g_error ("the export lacks %s", name);
  return json_object_get_object_member (files, name);
}

static void
assert_shape (JsonObject *file,
              gsize       d0,
              gsize       d1,
              gsize       d2)
{
  JsonArray *shape = json_object_get_array_member (file, "shape");
  gsize dims[3] = { d0, d1, d2 };
  guint n = d2 ? 3 : d1 ? 2 : 1;

  g_assert_cmpuint (json_array_get_length (shape), ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (json_array_get_int_element (shape, i), ==, dims[i]);
}

static double
sum_floats (const float *v,
            gsize        n)
{
  double s = 0;

  for (gsize i = 0; i < n; i++)
    s += v[i];
  return s;
}

static guint
distinct (const gint32 *bmus,
          gsize         n)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);

  for (gsize i = 0; i < n; i++)
    g_hash_table_add (seen, GINT_TO_POINTER (bmus[i] + 1));
  return g_hash_table_size (seen);
}

/* Line @k (0 = header) of a CSV file, split at commas. */
static char **
csv_line (const char *contents,
          guint       k)
{
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);

  g_assert_cmpuint (k, <, g_strv_length (lines));
  return g_strsplit (lines[k], ",", -1);
}

static guint
csv_rows (const char *contents)
{
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    n += lines[i][0] != '\0';
  return n;
}

static int
column (char      **header,
        const char *name)
{
  for (int i = 0; header[i] != NULL; i++)
    if (g_str_equal (header[i], name))
      return i;
  g_error ("no column %s", name);
  return -1;
}

/* Everything the Export Data dialog offers, as .npy and .cod read back by
 * numpy and as .csv, against the maps, codes and BMUs the app shows. */
static void
test_export_data (void)
{
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  g_autofree char *npy_dir = g_build_filename (tmpdir, "export-npy", NULL);
  g_autofree char *csv_dir = g_build_filename (tmpdir, "export-csv", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *columns_text = NULL;
  g_auto(GStrv) columns = NULL;
  JsonObject *files;
  guint n_layers = g_list_model_get_n_items (mapped);

  clear_last_error ();
  somscope_window_export_data (window, SOMSCOPE_EXPORT_DATA_ACTIVATIONS | SOMSCOPE_EXPORT_DATA_CODEBOOKS |
                                       SOMSCOPE_EXPORT_DATA_BMUS | SOMSCOPE_EXPORT_DATA_METRICS |
                                       SOMSCOPE_EXPORT_DATA_COD,
                               SOM_EXPORT_NPY, npy_dir);
  wait_for (session_jobs_done, NULL, "the export");
  g_assert_false (has_error ());

  files = numpy_read (npy_dir, parser);
  {
    g_autofree char *path = g_build_filename (npy_dir, "metrics-columns.txt", NULL);

    columns_text = file_contents (path);
    columns = g_strsplit (g_strstrip (columns_text), "\n", -1);
  }
  assert_shape (json_object_get_object_member (files, "metrics.npy"), n_layers, g_strv_length (columns), 0);

  for (guint i = 0; i < n_layers; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);
      g_autofree char *prefix = som_session_layer_member_prefix (somscope_layer_get_index (layer));
      SomMap *map = somscope_layer_get_map (layer);
      SomGrid *grid = som_map_get_grid (map);
      const SomArray *codes = somscope_layer_get_codes (layer)->array;
      const SomArray *adv = somscope_layer_get_adversarial_bmus (layer);
      guint dim = som_map_get_dim (map);
      guint units = som_map_get_n_units (map);
      gint32 bmus[N_INPUTS];
      double bmu_sum = 0, adv_sum = 0;
      JsonObject *f;
      JsonArray *header;

      for (guint k = 0; k < N_INPUTS; k++)
        {
          bmus[k] = somscope_layer_get_bmu (layer, k);
          bmu_sum += bmus[k];
          adv_sum += ((const gint32 *) adv->data)[k];
        }

      f = member (files, prefix, "_codebook.npy");
      assert_shape (f, som_grid_get_rows (grid), som_grid_get_cols (grid), dim);
      g_assert_cmpstr (json_object_get_string_member (f, "dtype"), ==, "float32");
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (f, "sum"),
                                      sum_floats (som_map_get_codebook (map), units * dim), 1e-6 * units * dim);
      g_assert_cmpfloat (json_array_get_double_element (json_object_get_array_member (f, "first"), 1), ==,
                         som_map_get_codebook (map)[1]);

      f = member (files, prefix, "_codes.npy");
      assert_shape (f, N_INPUTS, dim, 0);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (f, "sum"),
                                      sum_floats (codes->data, N_INPUTS * dim), 1e-6 * N_INPUTS * dim);
      f = member (files, prefix, "_codes_adversarial.npy");
      assert_shape (f, N_INPUTS, dim, 0);

      f = member (files, prefix, "_bmus.npy");
      assert_shape (f, N_INPUTS, 0, 0);
      g_assert_cmpstr (json_object_get_string_member (f, "dtype"), ==, "int32");
      g_assert_cmpfloat (json_object_get_double_member (f, "sum"), ==, bmu_sum);
      for (guint k = 0; k < 5; k++)
        g_assert_cmpfloat (json_array_get_double_element (json_object_get_array_member (f, "first"), k), ==, bmus[k]);
      f = member (files, prefix, "_bmus_adversarial.npy");
      g_assert_cmpfloat (json_object_get_double_member (f, "sum"), ==, adv_sum);

      /* SOM_PAK: "D hexa C R gaussian" and R·C rows of D values */
      f = member (files, prefix, ".cod");
      header = json_object_get_array_member (f, "header");
      g_assert_cmpint (atoi (json_array_get_string_element (header, 0)), ==, dim);
      g_assert_cmpstr (json_array_get_string_element (header, 1), ==, "hexa");
      g_assert_cmpint (atoi (json_array_get_string_element (header, 2)), ==, som_grid_get_cols (grid));
      g_assert_cmpint (atoi (json_array_get_string_element (header, 3)), ==, som_grid_get_rows (grid));
      assert_shape (f, units, dim, 0);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (f, "sum"),
                                      sum_floats (som_map_get_codebook (map), units * dim), 1e-5 * units * dim);
      (void) distinct;
    }

  /* The same as CSV: the metrics computed by the app agree with the maps. */
  clear_last_error ();
  somscope_window_export_data (window, SOMSCOPE_EXPORT_DATA_CODEBOOKS | SOMSCOPE_EXPORT_DATA_BMUS |
                                       SOMSCOPE_EXPORT_DATA_METRICS,
                               SOM_EXPORT_CSV, csv_dir);
  wait_for (session_jobs_done, NULL, "the CSV export");
  g_assert_false (has_error ());
  {
    g_autofree char *metrics_path = g_build_filename (csv_dir, "metrics.csv", NULL);
    g_autofree char *bmus_path = g_build_filename (csv_dir, "bmus.csv", NULL);
    g_autofree char *metrics = file_contents (metrics_path);
    g_autofree char *bmus_csv = file_contents (bmus_path);
    g_auto(GStrv) mheader = csv_line (metrics, 0);
    g_auto(GStrv) bheader = csv_line (bmus_csv, 0);

    g_assert_cmpuint (csv_rows (metrics), ==, n_layers + 1);
    g_assert_true (g_str_has_prefix (metrics, "index,name,op,depth,dim,"));
    g_assert_cmpuint (csv_rows (bmus_csv), ==, N_INPUTS + 1);
    for (guint i = 0; i < n_layers; i++)
      {
        g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);
        g_autofree char *prefix = som_session_layer_member_prefix (somscope_layer_get_index (layer));
        g_autofree char *codebook_name = g_strconcat (prefix, "_codebook.csv", NULL);
        g_autofree char *codebook_path = g_build_filename (csv_dir, codebook_name, NULL);
        g_autofree char *codebook = file_contents (codebook_path);
        g_auto(GStrv) row = csv_line (metrics, i + 1);
        SomMap *map = somscope_layer_get_map (layer);
        int bcol = column (bheader, prefix);
        gint32 bmus[N_INPUTS];

        g_assert_cmpuint (csv_rows (codebook), ==, som_map_get_n_units (map) + 1);
        for (guint k = 0; k < N_INPUTS; k++)
          {
            g_auto(GStrv) brow = csv_line (bmus_csv, k + 1);

            bmus[k] = somscope_layer_get_bmu (layer, k);
            g_assert_cmpint (atoi (brow[bcol]), ==, bmus[k]);
          }
        g_assert_cmpint (atoi (row[column (mheader, "index")]), ==, somscope_layer_get_index (layer));
        g_assert_cmpint (atoi (row[column (mheader, "clean_occupied_units")]), ==, distinct (bmus, N_INPUTS));
        g_assert_cmpfloat_with_epsilon (g_ascii_strtod (row[column (mheader, "clean_quantization_error")], NULL),
                                        som_map_get_quantization_error (map),
                                        1e-6 * som_map_get_quantization_error (map));
      }
  }

  /* The dialog: its switches choose what is written. */
  {
    g_autofree char *dialog_dir = g_build_filename (tmpdir, "export-dialog", NULL);
    g_autoptr(GFile) dir = g_file_new_for_path (dialog_dir);
    g_autofree char *names = NULL;
    GtkWidget *dialog;

    activate ("win.export-data");
    dialog = somscope_export_data_dialog_new (window);
    g_assert_cmpint (somscope_export_data_dialog_get_format (SOMSCOPE_EXPORT_DATA_DIALOG (dialog)), ==,
                     SOM_EXPORT_NPY);
    g_assert_cmpint (somscope_export_data_dialog_get_what (SOMSCOPE_EXPORT_DATA_DIALOG (dialog)) &
                     SOMSCOPE_EXPORT_DATA_METRICS, !=, 0);
    somscope_export_data_dialog_export_to (SOMSCOPE_EXPORT_DATA_DIALOG (dialog), dir);
    wait_for (session_jobs_done, NULL, "the dialog's export");
    g_assert_false (has_error ());
    names = list_dir (dialog_dir);
    g_test_message ("the dialog wrote: %s", names);
    g_assert_nonnull (strstr (names, "metrics.npy"));
    g_assert_nonnull (strstr (names, "_codes.npy"));
    g_assert_null (strstr (names, ".cod"));
  }
}

/* An export into a folder the user may not write: reported, nothing
 * written, the app as it was; the same export works once allowed. */
static void
test_export_read_only (void)
{
  g_autofree char *dir = g_build_filename (tmpdir, "read-only", NULL);
  g_autoptr(GPtrArray) before = mapped_snapshot ();
  g_autoptr(GListModel) before_model = as_model (before);
  g_autofree char *names = NULL;
  const char *error;

  g_assert_cmpint (g_mkdir (dir, 0555), ==, 0);
  g_assert_cmpint (g_chmod (dir, 0555), ==, 0);
  {
    /* access() would ask with root's full capabilities: try for real. */
    g_autofree char *probe = g_build_filename (dir, "probe", NULL);

    g_assert_false (g_file_set_contents (probe, "x", 1, NULL));
  }
  clear_last_error ();
  somscope_window_export_data (window, SOMSCOPE_EXPORT_DATA_CODEBOOKS | SOMSCOPE_EXPORT_DATA_METRICS,
                               SOM_EXPORT_NPY, dir);
  wait_for (session_jobs_done, NULL, "the export");
  g_assert_true (has_error ());
  error = somscope_window_get_last_error (window);
  g_test_message ("reported: %s", error);
  g_assert_nonnull (strstr (error, dir));
  names = list_dir (dir);
  g_assert_cmpstr (names, ==, "");
  assert_same_maps (before_model, somscope_window_get_mapped_layers (window));

  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  clear_last_error ();
  somscope_window_export_data (window, SOMSCOPE_EXPORT_DATA_CODEBOOKS, SOM_EXPORT_NPY, dir);
  wait_for (session_jobs_done, NULL, "the export");
  g_assert_false (has_error ());
}

/* The session of the demo, saved through the window. */
static void
test_save (void)
{
  g_autoptr(SomSession) session = NULL;
  g_autoptr(GError) error = NULL;

  session_path = g_build_filename (tmpdir, "demo.somscope", NULL);
  clear_last_error ();
  somscope_window_save_to (window, session_path);
  wait_for (session_jobs_done, NULL, "the save");
  g_assert_false (has_error ());
  g_assert_false (somscope_document_get_modified (somscope_window_get_document (window)));
  session = som_session_load (session_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (som_session_get_ref_path (session, SOM_SESSION_REF_MODEL), ==, model_path);
  model_sha256 = g_strdup (som_session_get_ref_sha256 (session, SOM_SESSION_REF_MODEL));
  g_assert_nonnull (model_sha256);
}

/* A save that cannot be written (@dir full or over the size limit): the
 * error is shown, the previous file is intact, no temporary file is left,
 * and the work is still there, unsaved. */
static void
assert_failed_save_keeps (const char *path,
                          GBytes     *previous,
                          const char *names_before,
                          const char *reason)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  g_autoptr(GPtrArray) before = mapped_snapshot ();
  g_autoptr(GListModel) before_model = as_model (before);
  g_autoptr(GBytes) after = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *names = NULL;
  const char *error;

  /* Unsaved work: the maps trained again since the last save. */
  activate ("win.train");
  wait_for (maps_trained, NULL, "the maps");
  wait_for (app_idle, NULL, "the jobs");
  g_assert_true (somscope_document_get_modified (document));
  g_ptr_array_set_size (before, 0);
  g_clear_object (&before_model);
  before = mapped_snapshot ();
  before_model = as_model (before);

  clear_last_error ();
  somscope_window_save_to (window, path);
  wait_for (session_jobs_done, NULL, "the save");
  g_assert_true (has_error ());
  error = somscope_window_get_last_error (window);
  g_test_message ("reported: %s", error);
  g_assert_nonnull (strstr (error, reason));

  after = file_bytes (path);
  g_assert_true (g_bytes_equal (previous, after));
  names = list_dir (dir);
  g_assert_cmpstr (names, ==, names_before);
  g_assert_true (somscope_window_get_document (window) == document);
  g_assert_true (somscope_document_get_modified (document));
  assert_same_maps (before_model, somscope_window_get_mapped_layers (window));
  {
    g_autoptr(GError) load_error = NULL;
    g_autoptr(SomSession) session = som_session_load (path, &load_error);

    g_assert_no_error (load_error);
  }
}

/* Fills the file system of @dir: a file grows until it is refused. */
static void
fill (const char *path)
{
  static char block[64 * 1024];
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ssize_t written;

  g_assert_cmpint (fd, >=, 0);
  do
    written = write (fd, block, sizeof block);
  while (written > 0);
  g_assert_cmpint (errno, ==, ENOSPC);
  /* Tail blocks that tmpfs may still hand out one page at a time. */
  while (write (fd, block, 1) > 0)
    ;
  close (fd);
}

/* The disk fills up during a save: a tmpfs when the test may mount one;
 * otherwise a file-size limit (the test says which). */
static void
test_save_disk_full (void)
{
  g_autofree char *dir = full_dir ? g_strdup (full_dir) : g_build_filename (tmpdir, "limited", NULL);
  g_autofree char *path = g_build_filename (dir, "previous.somscope", NULL);
  g_autofree char *filler = g_build_filename (dir, "filler", NULL);
  g_autoptr(GBytes) previous = NULL;
  g_autofree char *names = NULL;
  struct rlimit old_limit;

  if (full_dir == NULL)
    {
      g_test_message ("no tmpfs (mounting needs root): a file-size limit stands in for the full disk");
      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    }
  else
    g_test_message ("a full 16 MiB tmpfs at %s", dir);

  clear_last_error ();
  somscope_window_save_to (window, path);
  wait_for (session_jobs_done, NULL, "the first save");
  g_assert_false (has_error ());
  previous = file_bytes (path);

  if (full_dir != NULL)
    fill (filler);
  else
    {
      struct rlimit limit;

      g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
      limit = old_limit;
      limit.rlim_cur = 64 * 1024;
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
    }
  names = list_dir (dir);
  assert_failed_save_keeps (path, previous, names, full_dir ? "No space left" : "too large");

  /* Space again: the same save goes through. */
  if (full_dir != NULL)
    g_assert_cmpint (g_unlink (filler), ==, 0);
  else
    g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  clear_last_error ();
  somscope_window_save_to (window, path);
  wait_for (session_jobs_done, NULL, "the save");
  g_assert_false (has_error ());
  g_assert_false (somscope_document_get_modified (somscope_window_get_document (window)));
  g_unlink (path);
}

/* A save beyond the process's file-size limit (EFBIG, as on a quota). */
static void
test_save_size_limit (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "limit.somscope", NULL);
  g_autoptr(GBytes) previous = NULL;
  g_autofree char *names = NULL;
  struct rlimit old_limit, limit;

  clear_last_error ();
  somscope_window_save_to (window, path);
  wait_for (session_jobs_done, NULL, "the first save");
  g_assert_false (has_error ());
  previous = file_bytes (path);
  names = list_dir (tmpdir);

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  limit = old_limit;
  limit.rlim_cur = 64 * 1024;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  assert_failed_save_keeps (path, previous, names, "too large");
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  g_unlink (path);
}

static void
open_session (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  SomscopeDocument *before = somscope_window_get_document (window);

  somscope_window_open (window, file, NULL);
  wait_for (other_document_ready, before, "the session to open");
  wait_for (app_idle, NULL, "the session's jobs");
}

/* The model file deleted while its session is open: the maps stay, they
 * train again from the session's codes, and a save keeps the reference
 * (path and SHA-256) instead of failing or dropping it. */
static void
test_model_deleted (void)
{
  g_autofree char *saved = g_build_filename (tmpdir, "after-delete.somscope", NULL);
  g_autoptr(SomSession) session = NULL;
  g_autoptr(GError) error = NULL;
  SomscopeDocument *document;

  open_session (session_path);
  document = somscope_window_get_document (window);
  g_assert_cmpint (somscope_document_get_model_state (document), ==, SOM_SESSION_REF_OK);
  g_assert_cmpint (g_unlink (model_path), ==, 0);

  activate ("win.train");
  wait_for (maps_trained, NULL, "the maps");
  wait_for (app_idle, NULL, "the jobs");
  activate ("win.attack");
  wait_for (app_idle, NULL, "the attack");

  clear_last_error ();
  somscope_window_save_to (window, saved);
  wait_for (session_jobs_done, NULL, "the save");
  if (has_error ())
    g_error ("the save failed: %s", somscope_window_get_last_error (window));
  session = som_session_load (saved, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (som_session_get_ref_path (session, SOM_SESSION_REF_MODEL), ==, model_path);
  g_assert_cmpstr (som_session_get_ref_sha256 (session, SOM_SESSION_REF_MODEL), ==, model_sha256);
  g_assert_cmpint (som_session_get_ref_state (session, SOM_SESSION_REF_MODEL), ==, SOM_SESSION_REF_MISSING);
  g_assert_cmpuint (som_session_get_n_layers (session), ==,
                    g_list_model_get_n_items (somscope_window_get_mapped_layers (window)));
  g_assert_nonnull (som_session_get_array (session, SOM_SESSION_ADVERSARIAL_PREDICTIONS));
  g_unlink (saved);
  copy_file (model_backup, model_path);
}

/* The model moved: the session opens with every map, the app says where
 * the model was and asks for it; a wrong file is refused; the right one
 * brings attacks back, and a save records the new place. */
static void
test_model_moved (void)
{
  g_autofree char *moved_dir = g_build_filename (tmpdir, "moved", NULL);
  g_autofree char *moved = g_build_filename (moved_dir, "renamed.onnx", NULL);
  g_autofree char *other = g_build_filename (g_getenv ("SOMSCOPE_SOURCE_DIR"), "tests", "data", "fixtures",
                                             "bnres.onnx", NULL);
  g_autofree char *saved = g_build_filename (tmpdir, "relocated.somscope", NULL);
  g_autoptr(GFile) moved_file = g_file_new_for_path (moved);
  g_autoptr(GFile) other_file = g_file_new_for_path (other);
  g_autoptr(SomSession) saved_session = NULL;
  g_autoptr(SomSession) session = NULL;
  g_autoptr(GError) error = NULL;
  SomscopeDocument *document;
  const char *reported;

  saved_session = som_session_load (session_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (moved_dir, 0755), ==, 0);
  g_assert_cmpint (g_rename (model_path, moved), ==, 0);

  clear_last_error ();
  open_session (session_path);
  document = somscope_window_get_document (window);
  g_assert_cmpint (somscope_document_get_model_state (document), ==, SOM_SESSION_REF_MISSING);
  g_assert_null (somscope_document_get_model_file (document));
  g_assert_cmpstr (somscope_document_get_model_ref_path (document), ==, model_path);
  reported = somscope_window_get_last_error (window);
  g_test_message ("reported: %s", reported);
  g_assert_nonnull (strstr (reported, model_path));
  g_assert_nonnull (strstr (reported, "moved"));
  /* Everything else is there: every map with the saved codebook and BMUs. */
  g_assert_cmpuint (g_list_model_get_n_items (somscope_window_get_mapped_layers (window)), ==,
                    som_session_get_n_layers (saved_session));
  for (guint p = 0; p < som_session_get_n_layers (saved_session); p++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (somscope_window_get_mapped_layers (window), p);
      const SomArray *codebook = som_session_get_layer_array (saved_session, p, SOM_LAYER_CODEBOOK);
      const SomArray *bmus = som_session_get_layer_array (saved_session, p, SOM_LAYER_BMUS);

      g_assert_cmpint (somscope_layer_get_index (layer), ==, som_session_get_layer_index (saved_session, p));
      g_assert_cmpmem (som_map_get_codebook (somscope_layer_get_map (layer)),
                       som_array_n_elements (codebook) * sizeof (float),
                       codebook->data, som_array_n_elements (codebook) * sizeof (float));
      for (guint k = 0; k < N_INPUTS; k++)
        g_assert_cmpint (somscope_layer_get_bmu (layer, k), ==, ((const gint32 *) bmus->data)[k]);
      g_assert_nonnull (somscope_layer_get_adversarial_bmus (layer));
    }
  g_assert_cmpuint (g_list_model_get_n_items (somscope_window_get_gallery (window)), ==, N_INPUTS);

  /* The attack needs the model: said, not crashed. */
  clear_last_error ();
  activate ("win.attack");
  g_assert_true (has_error ());

  /* A different model is refused, and nothing changes. */
  clear_last_error ();
  somscope_window_locate_model (window, other_file);
  wait_for (session_jobs_done, NULL, "the wrong model's check");
  g_assert_true (has_error ());
  g_test_message ("reported: %s", somscope_window_get_last_error (window));
  g_assert_nonnull (strstr (somscope_window_get_last_error (window), "SHA-256"));
  g_assert_cmpint (somscope_document_get_model_state (document), ==, SOM_SESSION_REF_MISSING);
  g_assert_null (somscope_document_get_model_file (document));

  /* The right one, under another name. */
  clear_last_error ();
  somscope_window_locate_model (window, moved_file);
  wait_for (session_jobs_done, NULL, "the model's check");
  g_assert_false (has_error ());
  g_assert_cmpint (somscope_document_get_model_state (document), ==, SOM_SESSION_REF_OK);
  g_assert_true (g_file_equal (somscope_document_get_model_file (document), moved_file));
  g_assert_true (somscope_document_get_modified (document));
  activate ("win.attack");
  wait_for (app_idle, NULL, "the attack with the found model");
  g_assert_false (has_error ());

  somscope_window_save_to (window, saved);
  wait_for (session_jobs_done, NULL, "the save");
  g_assert_false (has_error ());
  session = som_session_load (saved, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (som_session_get_ref_path (session, SOM_SESSION_REF_MODEL), ==, moved);
  g_assert_cmpint (som_session_get_ref_state (session, SOM_SESSION_REF_MODEL), ==, SOM_SESSION_REF_OK);
  g_assert_nonnull (som_session_get_attack (session));
  g_unlink (saved);
  g_assert_cmpint (g_rename (moved, model_path), ==, 0);
}

/* A different file where the model was: reported as changed, not used. */
static void
test_model_changed (void)
{
  g_autofree char *other = g_build_filename (g_getenv ("SOMSCOPE_SOURCE_DIR"), "tests", "data", "fixtures",
                                             "bnres.onnx", NULL);
  SomscopeDocument *document;

  copy_file (other, model_path);
  clear_last_error ();
  open_session (session_path);
  document = somscope_window_get_document (window);
  g_assert_cmpint (somscope_document_get_model_state (document), ==, SOM_SESSION_REF_CHANGED);
  g_assert_null (somscope_document_get_model_file (document));
  g_test_message ("reported: %s", somscope_window_get_last_error (window));
  g_assert_nonnull (strstr (somscope_window_get_last_error (window), "changed"));
  g_assert_true (maps_trained (NULL));
  copy_file (model_backup, model_path);
}

/* A session of a model that needs padded images (3×32×32 against 1×28×28)
 * opens again with the same padding and maps. */
static void
test_padded_model (void)
{
  g_autofree char *bnres = g_build_filename (g_getenv ("SOMSCOPE_SOURCE_DIR"), "tests", "data", "fixtures",
                                             "bnres.onnx", NULL);
  g_autofree char *path = g_build_filename (tmpdir, "padded.somscope", NULL);
  g_autoptr(GFile) model = g_file_new_for_path (bnres);
  SomscopeDocument *before = somscope_window_get_document (window);
  SomPreprocessOptions pad = { .pad = 2 };
  g_autoptr(GPtrArray) maps = NULL;
  g_autoptr(GListModel) maps_model = NULL;

  somscope_window_open_with_preprocessing (window, model, somscope_document_get_dataset_file (before), &pad);
  wait_for (other_document_ready, before, "the padded model");
  wait_for (maps_trained, NULL, "its maps");
  wait_for (app_idle, NULL, "its jobs");
  maps = mapped_snapshot ();
  maps_model = as_model (maps);
  clear_last_error ();
  somscope_window_save_to (window, path);
  wait_for (session_jobs_done, NULL, "the save");
  g_assert_false (has_error ());

  open_session (path);
  g_assert_cmpint (somscope_document_get_model_state (somscope_window_get_document (window)), ==,
                   SOM_SESSION_REF_OK);
  g_assert_cmpuint (somscope_document_get_preprocessing (somscope_window_get_document (window))->pad, ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (somscope_window_get_gallery (window)), ==, N_INPUTS);
  assert_same_maps (maps_model, somscope_window_get_mapped_layers (window));
  g_unlink (path);
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static gboolean
set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Start and cancel training, the attack and loading (the demo) through the
 * window's actions, each after a random delay: every round ends idle. */
static void
test_cancel_stress (void)
{
  const char *env = g_getenv ("SOMSCOPE_CANCEL_ROUNDS");
  guint rounds = env ? (guint) atoi (env) : 200;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261126);
  const char *actions[] = { "win.train", "win.attack", "win.open-demo" };
  guint counts[G_N_ELEMENTS (actions)] = { 0 };

  /* Run alone (-p), it starts on the demo as it loads. */
  wait_for (maps_trained, NULL, "the maps");
  wait_for (app_idle, NULL, "the jobs");
  if (session_path != NULL)
    open_session (session_path);
  for (guint round = 0; round < rounds; round++)
    {
      guint which = g_rand_int_range (rand, 0, G_N_ELEMENTS (actions));
      guint delay_ms = g_rand_int_range (rand, 0, 40);
      gboolean elapsed = FALSE;

      counts[which]++;
      activate (actions[which]);
      g_timeout_add (delay_ms, set_flag_cb, &elapsed);
      wait_for (flag_set, &elapsed, "the delay");
      activate ("win.cancel");
      wait_for (app_idle, NULL, "the app to come back to idle");
    }
  g_test_message ("%u rounds: %u trainings, %u attacks, %u loads, cancelled", rounds, counts[0], counts[1],
                  counts[2]);

  /* And it still works. */
  activate ("win.train");
  wait_for (maps_trained, NULL, "the maps after the stress");
  wait_for (app_idle, NULL, "the jobs after the stress");
}

static void
on_activate (GApplication *app,
             gpointer      user_data)
{
  window = SOMSCOPE_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_nonnull (window);
  test_status = g_test_run ();
  g_application_quit (app);
}

/* Root may mount: a 16 MiB tmpfs in a mount namespace of this process
 * only (before any thread starts).  NULL when not allowed. */
static char *
mount_small_tmpfs (void)
{
  g_autofree char *dir = g_build_filename (tmpdir, "full", NULL);

  if (g_mkdir (dir, 0755) != 0)
    return NULL;
  if (unshare (CLONE_NEWNS) != 0 ||
      mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount ("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755") != 0)
    return NULL;
  return g_steal_pointer (&dir);
}

/* Root ignores file modes: without CAP_DAC_OVERRIDE (in this thread, and
 * so in the threads it starts) a 0555 folder is read-only to the test. */
static void
drop_dac_override (void)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];

  if (syscall (SYS_capget, &header, data) != 0)
    return;
  data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
  syscall (SYS_capset, &header, data);
}

int
main (int argc, char **argv)
{
  g_autoptr(SomscopeApplication) app = NULL;
  g_autofree char *demo_dir = NULL;
  g_autofree char *models = NULL;
  g_autofree char *images = NULL;
  g_autofree char *state = NULL;
  g_autofree char *source_model = g_build_filename (g_getenv ("SOMSCOPE_SOURCE_DIR"), "data", "models",
                                                    "fashion-resnet.onnx", NULL);
  g_autofree char *source_images = g_build_filename (g_getenv ("SOMSCOPE_SOURCE_DIR"), "data",
                                                     "fashion-mnist-demo", NULL);
  GSettings *settings;
  int status;

  /* The full disk is a write that fails, not a signal that kills. */
  signal (SIGXFSZ, SIG_IGN);
  tmpdir = g_dir_make_tmp ("somscope-sessions-XXXXXX", NULL);
  full_dir = mount_small_tmpfs ();
  drop_dac_override ();

  demo_dir = g_build_filename (tmpdir, "demo", NULL);
  models = g_build_filename (demo_dir, "models", NULL);
  images = g_build_filename (demo_dir, "fashion-mnist-demo", NULL);
  g_assert_cmpint (g_mkdir_with_parents (models, 0755), ==, 0);
  g_assert_cmpint (symlink (source_images, images), ==, 0);
  model_path = g_build_filename (models, "fashion-resnet.onnx", NULL);
  model_backup = g_build_filename (tmpdir, "model-backup.onnx", NULL);
  g_setenv ("SOMSCOPE_DEMO_DIR", demo_dir, TRUE);
  state = g_build_filename (tmpdir, "state", NULL);
  g_setenv ("XDG_STATE_HOME", state, TRUE);

  gtk_test_init (&argc, &argv, NULL);
  copy_file (source_model, model_path);
  copy_file (source_model, model_backup);

  app = somscope_application_new ();
  settings = somscope_application_get_settings (app);
  g_settings_set_int (settings, "image-limit", N_INPUTS);
  g_settings_set_int (settings, "som-rows", 8);
  g_settings_set_int (settings, "som-cols", 10);
  g_settings_set_int (settings, "som-epochs", 5);

  g_test_add_func ("/sessions/demo", test_demo);
  g_test_add_func ("/sessions/export-data", test_export_data);
  g_test_add_func ("/sessions/export-read-only", test_export_read_only);
  g_test_add_func ("/sessions/save", test_save);
  g_test_add_func ("/sessions/save-disk-full", test_save_disk_full);
  g_test_add_func ("/sessions/save-size-limit", test_save_size_limit);
  g_test_add_func ("/sessions/model-deleted", test_model_deleted);
  g_test_add_func ("/sessions/model-moved", test_model_moved);
  g_test_add_func ("/sessions/model-changed", test_model_changed);
  g_test_add_func ("/sessions/padded-model", test_padded_model);
  g_test_add_func ("/sessions/cancel-stress", test_cancel_stress);

  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate), NULL);
  status = g_application_run (G_APPLICATION (app), 1, argv);

  if (full_dir != NULL)
    umount2 (full_dir, MNT_DETACH);
  {
    g_autofree char *command = g_strdup_printf ("rm -rf %s", tmpdir);

    if (system (command) != 0)
      g_warning ("could not remove %s", tmpdir);
  }
  return status != 0 ? status : test_status;
}
