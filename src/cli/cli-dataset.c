/* cli-dataset.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

#include "cli-dataset.h"

GOptionEntry *
cli_dataset_entries (CliDatasetOptions *opts, const GOptionEntry *command_entries)
{
  const GOptionEntry dataset_entries[] = {
    { "pad", 0, 0, G_OPTION_ARG_INT, &opts->pad, "Zero padding on each side, in pixels (before mean/std)", "P" },
    { "resize", 0, 0, G_OPTION_ARG_STRING, &opts->resize, "Bilinear resize after padding (image folders: the model's size by default)", "HxW" },
    { "mean", 0, 0, G_OPTION_ARG_STRING, &opts->mean, "Subtract per channel after scaling to [0,1]", "M[,M,M]" },
    { "std", 0, 0, G_OPTION_ARG_STRING, &opts->std, "Divide per channel after the mean", "S[,S,S]" },
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &opts->labels, "IDX labels file (default: the one beside the images)", "FILE" },
    { "class-names", 0, 0, G_OPTION_ARG_FILENAME, &opts->class_names, "Class names, one per line", "FILE" },
    { "limit", 0, 0, G_OPTION_ARG_INT64, &opts->limit, "Only the first N images (image folders: round robin over classes)", "N" },
    { NULL }
  };

  return cli_entries_concat (command_entries, dataset_entries);
}

gboolean
cli_dataset_check (CliContext *ctx, CliDatasetOptions *opts)
{
  g_autoptr(GError) error = NULL;
  SomPreprocessOptions *p = &opts->preprocess;

  memset (p, 0, sizeof *p);
  memset (&opts->dataset, 0, sizeof opts->dataset);
  if (opts->pad < 0 || opts->pad > 4096)
    {
      cli_usage_error (ctx, "--pad must be between 0 and 4096");
      return FALSE;
    }
  p->pad = opts->pad;
  if (opts->resize != NULL && !som_preprocess_parse_resize (opts->resize, &p->resize_height,
                                                            &p->resize_width, &error))
    goto usage;
  if (opts->mean != NULL && !som_preprocess_parse_values (opts->mean, "--mean", p->mean, &p->n_mean, &error))
    goto usage;
  if (opts->std != NULL && !som_preprocess_parse_values (opts->std, "--std", p->std, &p->n_std, &error))
    goto usage;
  for (guint i = 0; i < p->n_std; i++)
    if (!(p->std[i] > 0))
      {
        cli_usage_error (ctx, "--std values must be positive");
        return FALSE;
      }
  if (opts->limit < 0)
    {
      cli_usage_error (ctx, "--limit must be positive");
      return FALSE;
    }
  opts->dataset.labels_path = opts->labels;
  opts->dataset.class_names_path = opts->class_names;
  opts->dataset.limit = opts->limit;
  return TRUE;

usage:
  cli_usage_error (ctx, "%s", error->message);
  return FALSE;
}

void
cli_dataset_options_clear (CliDatasetOptions *opts)
{
  g_clear_pointer (&opts->resize, g_free);
  g_clear_pointer (&opts->mean, g_free);
  g_clear_pointer (&opts->std, g_free);
  g_clear_pointer (&opts->labels, g_free);
  g_clear_pointer (&opts->class_names, g_free);
}

SomDataset *
cli_dataset_open (CliContext *ctx, CliDatasetOptions *opts, const char *path, GError **error)
{
  return som_dataset_open (path, &opts->dataset, NULL, error);
}

SomPreprocess *
cli_dataset_preprocess (CliDatasetOptions *opts, SomDataset *dataset, SomModel *model, GError **error)
{
  guint c = 0, h = 0, w = 0;
  gboolean channels_last = FALSE;

  if (model != NULL && !som_model_get_image_shape (model, &c, &h, &w, &channels_last, error))
    return NULL;
  return som_preprocess_new (dataset, &opts->preprocess, c, h, w, channels_last, error);
}

static void
add_floats (JsonBuilder *b, const float *v, guint n)
{
  if (n == 0)
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_array (b);
  /* As the user typed them (0.286, not 0.28600001335144043). */
  for (guint i = 0; i < n; i++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd (buf, sizeof buf, "%.7g", v[i]);
      json_builder_add_double_value (b, g_ascii_strtod (buf, NULL));
    }
  json_builder_end_array (b);
}

JsonNode *
cli_dataset_preprocessing_json (CliDatasetOptions *opts)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const SomPreprocessOptions *p = &opts->preprocess;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "pad");
  json_builder_add_int_value (b, p->pad);
  json_builder_set_member_name (b, "resize");
  if (p->resize_height > 0)
    {
      json_builder_begin_array (b);
      json_builder_add_int_value (b, p->resize_height);
      json_builder_add_int_value (b, p->resize_width);
      json_builder_end_array (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "mean");
  add_floats (b, p->mean, p->n_mean);
  json_builder_set_member_name (b, "std");
  add_floats (b, p->std, p->n_std);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- predictions -------------------------------------------------------- */

/* The predicted class of each row: the first maximum, as torch.argmax. */
gboolean
cli_argmax_rows (const SomArray *output,
                 gsize           n,
                 gint32         *predictions,
                 const char     *model_path,
                 gsize           first_index,
                 GError        **error)
{
  gsize k;
  const float *f = output->data;

  if (output->dtype != SOM_DTYPE_F32 || output->ndim < 1 || output->shape[0] != n)
    {
      g_autofree char *s = som_array_shape_string (output);
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: the model's output is %s, not one row of scores per image", model_path, s);
      return FALSE;
    }
  k = n > 0 ? som_array_n_elements (output) / n : 0;
  if (k < 1)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the model's output is empty", model_path);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    {
      const float *row = f + i * k;
      gsize best = 0;

      for (gsize j = 0; j < k; j++)
        {
          if (!isfinite (row[j]))
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_NONFINITE,
                           "%s: non-finite score for image %" G_GSIZE_FORMAT, model_path, first_index + i);
              return FALSE;
            }
          if (row[j] > row[best])
            best = j;
        }
      predictions[i] = best;
    }
  return TRUE;
}

/* ---- batched inference ---------------------------------------------------- */

typedef struct
{
  CliContext    *ctx;
  SomModel      *model;
  SomPreprocess *preprocess;
  const guint   *taps;
  guint          n_taps;
  gboolean       means;         /* taps as channel means (som_model_run_images_means) */
  CliBatchFunc   func;
  gpointer       user_data;
  gsize          count;
  gsize          batch;
  gsize          n_batches;
  gint           next;          /* atomic: the next batch to run */
  gint           done;          /* atomic: batches finished */
  GMutex         lock;          /* error, progress */
  GError        *error;
  GCancellable  *cancellable;
} RunState;

static gboolean
run_one (RunState *st, gsize b, GError **error)
{
  gsize start = b * st->batch;
  gsize n = MIN (st->batch, st->count - start);
  g_autoptr(SomArray) input = NULL;
  g_autoptr(SomArray) output = NULL;
  g_autoptr(GPtrArray) taps = NULL;

  input = som_preprocess_read_model_input (st->preprocess, start, n, error);
  if (input == NULL)
    return FALSE;
  if (st->means)
    output = som_model_run_images_means (st->model, input, st->taps, st->n_taps, &taps, st->cancellable, error);
  else
    output = som_model_run_images (st->model, input, st->taps, st->n_taps,
                                   st->n_taps > 0 ? &taps : NULL, st->cancellable, error);
  if (output == NULL)
    return FALSE;
  return st->func (start, n, output, taps, st->user_data, error);
}

static void
report_progress (RunState *st)
{
  int done = g_atomic_int_add (&st->done, 1) + 1;
  g_autofree char *msg = g_strdup_printf ("%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " images",
                                          MIN ((gsize) done * st->batch, st->count), st->count);

  g_mutex_lock (&st->lock);
  cli_progress ((double) done / st->n_batches, msg, st->ctx);
  g_mutex_unlock (&st->lock);
}

static gpointer
run_worker (gpointer data)
{
  RunState *st = data;

  for (;;)
    {
      gsize b = g_atomic_int_add (&st->next, 1);
      GError *error = NULL;

      if (b >= st->n_batches || g_cancellable_is_cancelled (st->cancellable))
        break;
      if (!run_one (st, b, &error))
        {
          g_mutex_lock (&st->lock);
          if (st->error == NULL)
            st->error = error;
          else
            g_error_free (error);
          g_mutex_unlock (&st->lock);
          /* Stops the other workers between nodes. */
          g_cancellable_cancel (st->cancellable);
          break;
        }
      report_progress (st);
    }
  return NULL;
}

static gboolean
run_model (CliContext    *ctx,
           SomModel      *model,
           SomPreprocess *preprocess,
           const guint   *taps,
           guint          n_taps,
           gboolean       means,
           CliBatchFunc   func,
           gpointer       user_data,
           GError       **error)
{
  RunState st = { 0 };
  int threads = cli_threads (ctx);
  const char *env = g_getenv ("SOMSCOPE_INFERENCE_WORKERS");
  int workers;
  g_autoptr(GPtrArray) pool = g_ptr_array_new ();
  gboolean ok;

  st.ctx = ctx;
  st.model = model;
  st.preprocess = preprocess;
  st.taps = taps;
  st.n_taps = n_taps;
  st.means = means;
  st.func = func;
  st.user_data = user_data;
  st.count = som_dataset_get_count (som_preprocess_get_dataset (preprocess));
  st.batch = ctx->batch_size > 0 ? ctx->batch_size : 64;
  st.n_batches = (st.count + st.batch - 1) / st.batch;
  st.cancellable = g_cancellable_new ();
  g_mutex_init (&st.lock);

  /* Data parallel: each worker runs whole batches with single-threaded BLAS,
   * which scales better on small layers than threading inside each GEMM.
   * SOMSCOPE_INFERENCE_WORKERS=1 runs one worker with every BLAS thread
   * instead (tools/bench-eval compares the two). */
  workers = threads;
  if (env != NULL && *env != '\0')
    workers = CLAMP (atoi (env), 1, threads);
  workers = MIN ((gsize) workers, MAX (st.n_batches, 1));

  /* The first batch alone, so the callback can allocate from it. */
  ok = run_one (&st, 0, error);
  if (ok)
    {
      st.next = 1;
      report_progress (&st);
      if (workers > 1)
        openblas_set_num_threads (1);
      for (int i = 1; i < workers; i++)
        g_ptr_array_add (pool, g_thread_new ("somscope-infer", run_worker, &st));
      run_worker (&st);
      for (guint i = 0; i < pool->len; i++)
        g_thread_join (g_ptr_array_index (pool, i));
      if (workers > 1)
        openblas_set_num_threads (threads);
      if (st.error != NULL)
        {
          g_propagate_error (error, st.error);
          ok = FALSE;
        }
    }
  cli_progress_done (ctx);
  g_mutex_clear (&st.lock);
  g_clear_object (&st.cancellable);
  return ok;
}

gboolean
cli_dataset_run_model (CliContext    *ctx,
                       SomModel      *model,
                       SomPreprocess *preprocess,
                       const guint   *taps,
                       guint          n_taps,
                       CliBatchFunc   func,
                       gpointer       user_data,
                       GError       **error)
{
  return run_model (ctx, model, preprocess, taps, n_taps, FALSE, func, user_data, error);
}

gboolean
cli_dataset_run_model_means (CliContext    *ctx,
                             SomModel      *model,
                             SomPreprocess *preprocess,
                             const guint   *taps,
                             guint          n_taps,
                             CliBatchFunc   func,
                             gpointer       user_data,
                             GError       **error)
{
  return run_model (ctx, model, preprocess, taps, n_taps, TRUE, func, user_data, error);
}
