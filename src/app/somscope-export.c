/* somscope-export.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "som-render.h"

#include "somscope-document.h"
#include "somscope-export.h"
#include "somscope-layer.h"
#include "somscope-trajectory-view.h"

#define POINTS_PER_CM (72.0 / 2.54)

/* What a worker needs, copied or referenced so the layers may change (or go)
 * while it draws. */
typedef struct
{
  SomscopeExportOptions  options;
  char                  *path;
  GPtrArray             *maps;        /* SomMap */
  GPtrArray             *names;       /* char* */
  GPtrArray             *class_names; /* GStrv or NULL */
  GPtrArray             *responses;   /* float* or NULL */
  GArray                *data;        /* SomMapData pointing into the above */
  char                  *units;       /* the colour bar's title, or NULL */

  /* The trajectory figure instead of the maps: one BMU of each per layer */
  gboolean               trajectory;
  int                   *clean;
  int                   *adversarial;
  double                *distances;   /* or NULL: no chart */
  int                    divergence;
  char                  *title;
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_free (job->path);
  g_ptr_array_unref (job->maps);
  g_ptr_array_unref (job->names);
  g_ptr_array_unref (job->class_names);
  g_ptr_array_unref (job->responses);
  g_array_unref (job->data);
  g_free (job->units);
  g_free (job->clean);
  g_free (job->adversarial);
  g_free (job->distances);
  g_free (job->title);
  g_free (job);
}

void
somscope_export_options_init (SomscopeExportOptions *options)
{
  options->view = SOMSCOPE_VIEW_UMATRIX;
  options->format = SOM_FIGURE_PNG;
  options->width_cm = 8.5;
  options->dpi = 300;
  options->dark = FALSE;
  options->feature = 0;
  options->klass = -1;
}

static SomView
core_view (SomscopeView view)
{
  static const SomView views[] = {
    [SOMSCOPE_VIEW_UMATRIX] = SOM_VIEW_UMATRIX,
    [SOMSCOPE_VIEW_HITS] = SOM_VIEW_HITS,
    [SOMSCOPE_VIEW_CLASSES] = SOM_VIEW_CLASSES,
    [SOMSCOPE_VIEW_COMPONENT] = SOM_VIEW_COMPONENT,
    [SOMSCOPE_VIEW_RESPONSE] = SOM_VIEW_RESPONSE,
  };

  return views[view];
}

static void
render_options (ExportJob        *job,
                SomRenderOptions *options)
{
  som_render_options_init (options);
  options->theme = job->options.dark ? SOM_RENDER_THEME_DARK : SOM_RENDER_THEME_LIGHT;
  options->feature = job->options.feature;
  options->units = job->units;
}

static gboolean
draw_page (cairo_t   *cr,
           double     width,
           double     height,
           guint      page,
           gpointer   user_data,
           GError   **error)
{
  ExportJob *job = user_data;
  SomView view = core_view (job->options.view);
  SomRenderOptions options;

  render_options (job, &options);
  if (job->trajectory)
    {
      options.title = job->title;
      return som_render_trajectory (cr, width, height, (const SomMapData *) job->data->data, job->data->len,
                                    job->clean, job->adversarial, job->distances, job->divergence,
                                    &options, error);
    }
  if (job->data->len == 1 || job->options.format == SOM_FIGURE_PDF)
    {
      const SomMapData *data = &g_array_index (job->data, SomMapData, page);

      options.title = data->name;
      return som_render_view (cr, width, height, view, data, &options, error);
    }
  return som_render_multiples (cr, width, height, view, (const SomMapData *) job->data->data,
                               job->data->len, &options, error);
}

static void export_thread_body (GTask *task, gpointer task_data);

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  somscope_worker_enter ();
  export_thread_body (task, task_data);
  somscope_worker_leave ();
}

static void
export_thread_body (GTask    *task,
                    gpointer  task_data)
{
  ExportJob *job = task_data;
  SomView view = core_view (job->options.view);
  SomRenderOptions options;
  g_autoptr(GError) error = NULL;
  double width = job->options.width_cm * POINTS_PER_CM;
  double height;
  guint n_pages = 1;

  render_options (job, &options);
  for (guint i = 0; i < job->data->len && !job->trajectory; i++)
    if (!som_render_check (view, &g_array_index (job->data, SomMapData, i), &options, &error))
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }

  if (job->trajectory)
    height = som_render_trajectory_natural_height (job->data->len, width);
  else if (job->data->len == 1 || job->options.format == SOM_FIGURE_PDF)
    {
      options.title = g_array_index (job->data, SomMapData, 0).name;
      height = som_render_natural_height (view, &g_array_index (job->data, SomMapData, 0),
                                          &options, width);
      n_pages = job->data->len;
    }
  else
    height = som_render_multiples_natural_height (view, (const SomMapData *) job->data->data,
                                                  job->data->len, &options, width);

  if (!som_figure_export (job->path, job->options.format, width, height, job->options.dpi,
                          n_pages, draw_page, job, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static ExportJob *
export_job_new (const SomscopeExportOptions *options,
                const char                  *path)
{
  ExportJob *job = g_new0 (ExportJob, 1);

  job->options = *options;
  job->path = g_strdup (path);
  job->maps = g_ptr_array_new_with_free_func (g_object_unref);
  job->names = g_ptr_array_new_with_free_func (g_free);
  job->class_names = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  job->responses = g_ptr_array_new_with_free_func (g_free);
  job->data = g_array_new (FALSE, TRUE, sizeof (SomMapData));
  return job;
}

/* @layer's map data in @data, pointing into copies the job owns (the map
 * itself referenced); FALSE without a map.  The caller appends @data. */
static gboolean
add_layer (ExportJob     *job,
           SomscopeLayer *layer,
           SomMapData    *data)
{
  guint units;

  if (!somscope_layer_get_map_data (layer, data))
    return FALSE;
  units = som_grid_get_n_units (data->grid);
  g_ptr_array_add (job->maps, g_object_ref (somscope_layer_get_map (layer)));
  g_ptr_array_add (job->names, g_strdup (data->name));
  data->name = g_ptr_array_index (job->names, job->names->len - 1);
  g_ptr_array_add (job->class_names, g_strdupv ((char **) data->class_names));
  data->class_names = g_ptr_array_index (job->class_names, job->class_names->len - 1);
  g_ptr_array_add (job->responses,
                   data->response ? g_memdup2 (data->response, units * sizeof (float)) : NULL);
  data->response = g_ptr_array_index (job->responses, job->responses->len - 1);
  return TRUE;
}

void
somscope_export_trajectory_async (SomscopeTrajectoryView      *view,
                                  const SomscopeExportOptions *options,
                                  const char                  *title,
                                  const char                  *path,
                                  GCancellable                *cancellable,
                                  GAsyncReadyCallback          callback,
                                  gpointer                     user_data)
{
  g_autoptr(GTask) task = NULL;
  guint n;
  ExportJob *job;

  g_return_if_fail (SOMSCOPE_IS_TRAJECTORY_VIEW (view));
  g_return_if_fail (options != NULL);
  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, somscope_export_trajectory_async);
  job = export_job_new (options, path);
  job->trajectory = TRUE;
  job->title = g_strdup (title);
  n = somscope_trajectory_view_get_n_layers (view);
  job->clean = g_new (int, MAX (n, 1));
  job->adversarial = g_new (int, MAX (n, 1));
  if (somscope_trajectory_view_has_chart (view))
    job->distances = g_new (double, MAX (n, 1));
  job->divergence = somscope_trajectory_view_get_divergence_layer (view);
  for (guint i = 0; i < n; i++)
    {
      SomMapData data;

      /* (the view shows layers with a map only) */
      if (!add_layer (job, somscope_trajectory_view_get_layer (view, i), &data))
        g_return_if_reached ();
      g_array_append_val (job->data, data);
      job->clean[i] = somscope_trajectory_view_get_clean_bmu (view, i);
      job->adversarial[i] = somscope_trajectory_view_get_adversarial_bmu (view, i);
      if (job->distances != NULL)
        job->distances[i] = somscope_trajectory_view_get_distance (view, i);
    }
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);

  if (n == 0 || job->clean[0] < 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("Select an input to export its trajectory"));
      return;
    }
  g_task_run_in_thread (task, export_thread);
}

void
somscope_export_async (GListModel                  *layers,
                       const SomscopeExportOptions *options,
                       const char                  *path,
                       GCancellable                *cancellable,
                       GAsyncReadyCallback          callback,
                       gpointer                     user_data)
{
  g_autoptr(GTask) task = NULL;
  ExportJob *job;
  guint n;

  g_return_if_fail (G_IS_LIST_MODEL (layers));
  g_return_if_fail (options != NULL);
  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, somscope_export_async);

  job = export_job_new (options, path);
  n = g_list_model_get_n_items (layers);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (layers, i);
      SomMapData data;

      if (!add_layer (job, layer, &data))
        continue;
      if (options->view == SOMSCOPE_VIEW_HITS)
        {
          char *title = somscope_map_data_select_class (&data, options->klass);

          if (title != NULL)
            {
              g_free (job->units);
              job->units = title;
            }
        }
      g_array_append_val (job->data, data);
    }
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);

  if (job->data->len == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("There is no trained map to export yet"));
      return;
    }
  g_task_run_in_thread (task, export_thread);
}

gboolean
somscope_export_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
