/* cli-eval.c: somscope-cli eval MODEL DATASET — classification accuracy
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>

#include "cli-commands.h"
#include "cli-dataset.h"

typedef struct
{
  const gint32 *labels;
  const char   *model_path;
  gint          correct;      /* atomic */
} EvalState;

static gboolean
eval_batch (gsize start, gsize n, SomArray *output, GPtrArray *taps, gpointer user_data, GError **error)
{
  EvalState *st = user_data;
  g_autofree gint32 *pred = g_new (gint32, MAX (n, 1));
  gint correct = 0;

  if (!cli_argmax_rows (output, n, pred, st->model_path, start, error))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    correct += pred[i] == st->labels[start + i];
  g_atomic_int_add (&st->correct, correct);
  return TRUE;
}

int
cli_cmd_eval (CliContext *ctx, int argc, char **argv)
{
  CliDatasetOptions dopts = { 0 };
  g_autofree GOptionEntry *entries = cli_dataset_entries (&dopts, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(SomDataset) dataset = NULL;
  g_autoptr(SomPreprocess) pp = NULL;
  g_autoptr(GTimer) timer = g_timer_new ();
  EvalState st = { 0 };
  gsize count;
  double seconds, accuracy;
  int ret = CLI_EXIT_OK;

  if (!cli_parse (ctx, &argc, &argv, "MODEL DATASET",
                  "Classification accuracy of an ONNX model on a labelled dataset.\n"
                  "DATASET: IDX images (raw or .gz), a CIFAR-10 .bin or folder (FOLDER:train),\n"
                  "an image folder (one subfolder per class) or an ADV.npz from `attack`.",
                  entries, TRUE))
    return CLI_EXIT_USAGE;
  if (argc != 3)
    {
      cli_dataset_options_clear (&dopts);
      return cli_usage_error (ctx, "expected MODEL DATASET");
    }
  if (!cli_dataset_check (ctx, &dopts))
    {
      cli_dataset_options_clear (&dopts);
      return CLI_EXIT_USAGE;
    }

  model = som_model_load (argv[1], &error);
  if (model == NULL || !som_model_check_runnable (model, &error))
    goto fail;
  dataset = cli_dataset_open (ctx, &dopts, argv[2], &error);
  if (dataset == NULL || !som_dataset_require_labels (dataset, &error))
    goto fail;
  pp = cli_dataset_preprocess (&dopts, dataset, model, &error);
  if (pp == NULL)
    goto fail;

  st.labels = som_dataset_get_labels (dataset);
  st.model_path = argv[1];
  if (!cli_dataset_run_model (ctx, model, pp, NULL, 0, eval_batch, &st, &error))
    goto fail;

  count = som_dataset_get_count (dataset);
  seconds = g_timer_elapsed (timer, NULL);
  accuracy = (double) st.correct / count;
  if (ctx->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "accuracy");
      json_builder_add_double_value (b, accuracy);
      json_builder_set_member_name (b, "count");
      json_builder_add_int_value (b, count);
      json_builder_set_member_name (b, "correct");
      json_builder_add_int_value (b, st.correct);
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, seconds);
      json_builder_set_member_name (b, "images_per_second");
      json_builder_add_double_value (b, count / MAX (seconds, 1e-9));
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, argv[1]);
      json_builder_set_member_name (b, "dataset");
      json_builder_add_string_value (b, argv[2]);
      json_builder_set_member_name (b, "preprocessing");
      json_builder_add_value (b, cli_dataset_preprocessing_json (&dopts));
      json_builder_set_member_name (b, "batch_size");
      json_builder_add_int_value (b, ctx->batch_size);
      cli_add_provenance (ctx, b);
      json_builder_end_object (b);
      cli_print_json (b);
    }
  else
    printf ("accuracy %.4f (%d of %" G_GSIZE_FORMAT ") in %.2f s, %.0f images/s\n",
            accuracy, st.correct, count, seconds, count / MAX (seconds, 1e-9));
  cli_dataset_options_clear (&dopts);
  return ret;

fail:
  cli_dataset_options_clear (&dopts);
  return cli_fail_error (error);
}
