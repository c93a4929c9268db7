/* somscope-export-data.c: the session's data as .npy, .csv and SOM_PAK .cod, through the core's writers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <glib/gi18n.h>

#include "som-io.h"
#include "som-metrics.h"
#include "som-types.h"

#include "somscope-export-data.h"

typedef struct
{
  SomscopeSnapshot        *snapshot;
  SomscopeExportDataFlags  what;
  SomExportFormat          format;
  char                    *dir;
} ExportData;

static void
export_data_free (ExportData *d)
{
  g_clear_pointer (&d->snapshot, somscope_snapshot_free);
  g_free (d->dir);
  g_free (d);
}

JsonNode *
somscope_export_data_metrics (SomSession  *session,
                              GError     **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const SomArray *labels_array = som_session_get_array (session, SOM_SESSION_LABELS);
  gsize n = som_session_get_n_inputs (session);
  const gint32 *labels = labels_array ? labels_array->data : NULL;
  guint n_classes = 0;
  guint depth = 0;

  for (gsize i = 0; labels != NULL && i < n; i++)
    n_classes = MAX (n_classes, (guint) MAX (0, labels[i] + 1));

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "somscope-metrics");
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "settings");
  json_builder_begin_object (b);
  /* The app trains each map on every input: no held-out part, one seed. */
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, "somscope app");
  json_builder_set_member_name (b, "inputs");
  json_builder_add_string_value (b, "all");
  json_builder_set_member_name (b, "seeds");
  json_builder_add_int_value (b, 1);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (guint p = 0; p < som_session_get_n_layers (session); p++)
    {
      g_autoptr(SomMap) map = NULL;
      const SomArray *bmus_array = som_session_get_layer_array (session, p, SOM_LAYER_BMUS);
      const SomArray *adv_array = som_session_get_layer_array (session, p, SOM_LAYER_BMUS_ADVERSARIAL);
      const gint32 *bmus;
      SomGrid *grid;
      guint units;
      double cos_mean, cos_median;

      if (som_session_get_layer_som (session, p) == NULL || bmus_array == NULL)
        continue;
      map = som_session_get_layer_map (session, p, error);
      if (map == NULL)
        return NULL;
      bmus = bmus_array->data;
      grid = som_map_get_grid (map);
      units = som_map_get_n_units (map);
      som_metrics_codebook_cosine (som_map_get_codebook (map), units, som_map_get_dim (map),
                                   &cos_mean, &cos_median);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, som_session_get_layer_index (session, p));
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, som_session_get_layer_name (session, p));
      json_builder_set_member_name (b, "op");
      json_builder_add_string_value (b, som_session_get_layer_op (session, p));
      json_builder_set_member_name (b, "depth");
      json_builder_add_int_value (b, depth++);
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, som_map_get_dim (map));

      json_builder_set_member_name (b, "clean");
      json_builder_begin_object (b);
      som_json_add_number (b, "occupied_units", som_metrics_occupied_units (bmus, n, units));
      som_json_add_number (b, "occupied_fraction",
                           (double) som_metrics_occupied_units (bmus, n, units) / units);
      som_json_add_number (b, "hit_entropy", som_metrics_hit_entropy (bmus, n, units));
      som_json_add_number (b, "hit_entropy_normalized",
                           units > 1 ? som_metrics_hit_entropy (bmus, n, units) / log (units)
                                     : NAN);
      if (labels != NULL)
        {
          som_json_add_number (b, "class_spread",
                               som_metrics_class_spread (grid, bmus, labels, n, n_classes));
          som_json_add_number (b, "mutual_information",
                               som_metrics_mutual_information (bmus, labels, n, units, n_classes));
          som_json_add_number (b, "unit_purity",
                               som_metrics_unit_purity (bmus, labels, n, units, n_classes));
        }
      som_json_add_number (b, "codebook_cosine_distance_mean", cos_mean);
      som_json_add_number (b, "codebook_cosine_distance_median", cos_median);
      som_json_add_number (b, "quantization_error", som_map_get_quantization_error (map));
      som_json_add_number (b, "topographic_error", som_map_get_topographic_error (map));
      json_builder_end_object (b);

      if (adv_array != NULL && adv_array->shape[0] == n)
        {
          json_builder_set_member_name (b, "trajectory");
          json_builder_begin_object (b);
          som_json_add_number (b, "bmu_agreement",
                               som_metrics_bmu_agreement (bmus, adv_array->data, n));
          som_json_add_number (b, "mean_grid_distance",
                               som_metrics_mean_grid_distance (grid, bmus, adv_array->data, n));
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static gboolean
export_one (SomSession       *session,
            SomExportWhat     what,
            SomExportFormat   format,
            const char       *dir,
            GPtrArray        *written,
            GError          **error)
{
  g_auto(GStrv) paths = som_session_export (session, what, format, dir, error);

  if (paths == NULL)
    return FALSE;
  for (guint i = 0; paths[i] != NULL; i++)
    g_ptr_array_add (written, g_steal_pointer (&paths[i]));
  return TRUE;
}

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ExportData *d = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomSession) session = NULL;
  g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func (g_free);
  static const struct { SomscopeExportDataFlags flag; SomExportWhat what; } table[] = {
    { SOMSCOPE_EXPORT_DATA_ACTIVATIONS, SOM_EXPORT_ACTIVATIONS },
    { SOMSCOPE_EXPORT_DATA_CODEBOOKS, SOM_EXPORT_CODEBOOKS },
    { SOMSCOPE_EXPORT_DATA_BMUS, SOM_EXPORT_BMUS },
    { SOMSCOPE_EXPORT_DATA_METRICS, SOM_EXPORT_METRICS },
  };

  somscope_worker_enter ();
  session = somscope_snapshot_to_session (d->snapshot, &error);
  if (session != NULL && (d->what & SOMSCOPE_EXPORT_DATA_METRICS) && som_session_get_metrics (session) == NULL)
    {
      g_autoptr(JsonNode) metrics = somscope_export_data_metrics (session, &error);

      if (metrics != NULL)
        som_session_set_metrics (session, metrics);
      else
        g_clear_object (&session);
    }
  for (guint i = 0; session != NULL && i < G_N_ELEMENTS (table) && error == NULL; i++)
    if ((d->what & table[i].flag) && !g_cancellable_set_error_if_cancelled (cancellable, &error))
      export_one (session, table[i].what, d->format, d->dir, written, &error);
  if (session != NULL && error == NULL && (d->what & SOMSCOPE_EXPORT_DATA_COD))
    export_one (session, SOM_EXPORT_CODEBOOKS, SOM_EXPORT_COD, d->dir, written, &error);

  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    {
      g_ptr_array_add (written, NULL);
      g_task_return_pointer (task, g_ptr_array_free (g_steal_pointer (&written), FALSE),
                             (GDestroyNotify) g_strfreev);
    }
  somscope_worker_leave ();
}

void
somscope_export_data_async (SomscopeDocument        *document,
                            SomscopeExportDataFlags  what,
                            SomExportFormat          format,
                            const char              *dir,
                            GCancellable            *cancellable,
                            GAsyncReadyCallback      callback,
                            gpointer                 user_data)
{
  g_autoptr(GTask) task = NULL;
  ExportData *d;

  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (document));
  g_return_if_fail (format == SOM_EXPORT_NPY || format == SOM_EXPORT_CSV);
  g_return_if_fail (dir != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, somscope_export_data_async);
  if (somscope_document_get_state (document) != SOMSCOPE_DOCUMENT_STATE_READY)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("There is nothing to export yet"));
      return;
    }
  d = g_new0 (ExportData, 1);
  d->snapshot = somscope_document_snapshot (document);
  d->what = what;
  d->format = format;
  d->dir = g_strdup (dir);
  g_task_set_task_data (task, d, (GDestroyNotify) export_data_free);
  g_task_run_in_thread (task, export_thread);
}

char **
somscope_export_data_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
