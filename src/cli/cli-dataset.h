/* cli-dataset.h: the dataset flags every image-reading command shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "cli-common.h"

G_BEGIN_DECLS

/* --pad --resize --mean --std --labels --class-names --limit (contracts.md,
 * "Datasets").  Zero-initialise, add cli_dataset_entries() to the command's
 * options, check with cli_dataset_check() after parsing, free with
 * cli_dataset_options_clear(). */
typedef struct
{
  /* Filled by GOptionContext */
  int                  pad;
  char                *resize;
  char                *mean;
  char                *std;
  char                *labels;
  char                *class_names;
  gint64               limit;

  /* Filled by cli_dataset_check() */
  SomPreprocessOptions preprocess;
  SomDatasetOptions    dataset;
} CliDatasetOptions;

/* @command_entries followed by the dataset flags, NULL-terminated; g_free it. */
GOptionEntry  *cli_dataset_entries          (CliDatasetOptions  *opts,
                                             const GOptionEntry *command_entries);
/* Validates the flags; on a bad one prints a usage error and returns FALSE
 * (the command then exits with CLI_EXIT_USAGE). */
gboolean       cli_dataset_check            (CliContext         *ctx,
                                             CliDatasetOptions  *opts);
void           cli_dataset_options_clear    (CliDatasetOptions  *opts);

/* Opens DATASET with the flags (progress message on stderr for big files). */
SomDataset    *cli_dataset_open             (CliContext         *ctx,
                                             CliDatasetOptions  *opts,
                                             const char         *path,
                                             GError            **error);
/* The preprocessing from @dataset to @model's image input. */
SomPreprocess *cli_dataset_preprocess       (CliDatasetOptions  *opts,
                                             SomDataset         *dataset,
                                             SomModel           *model,
                                             GError            **error);
/* {"pad","resize":[H,W]|null,"mean":[…]|null,"std":[…]|null} as given. */
JsonNode      *cli_dataset_preprocessing_json (CliDatasetOptions *opts);

/* Row-wise argmax of an N×K output (the first maximum, as torch.argmax);
 * a non-finite score is an error naming @model_path and the image. */
gboolean       cli_argmax_rows              (const SomArray     *output,
                                             gsize               n,
                                             gint32             *predictions,
                                             const char         *model_path,
                                             gsize               first_index,
                                             GError            **error);

/* Called for each batch with the graph's output 0 (N×…) and the tap values;
 * from several worker threads at once (on disjoint ranges), so write only
 * into the rows [start, start + n) of shared arrays. */
typedef gboolean (*CliBatchFunc) (gsize       start,
                                  gsize       n,
                                  SomArray   *output,
                                  GPtrArray  *tap_values,
                                  gpointer    user_data,
                                  GError    **error);

/* Runs @model over every image of @preprocess in batches of --batch-size,
 * with --threads workers.  The first batch runs alone, before the others
 * start, so @func may allocate from what it sees there. */
gboolean       cli_dataset_run_model        (CliContext         *ctx,
                                             SomModel           *model,
                                             SomPreprocess      *preprocess,
                                             const guint        *taps,
                                             guint               n_taps,
                                             CliBatchFunc        func,
                                             gpointer            user_data,
                                             GError            **error);
/* The same with the taps reduced to channel means inside the pass (see
 * som_model_run_images_means()): @func gets N×C per tap. */
gboolean       cli_dataset_run_model_means  (CliContext         *ctx,
                                             SomModel           *model,
                                             SomPreprocess      *preprocess,
                                             const guint        *taps,
                                             guint               n_taps,
                                             CliBatchFunc        func,
                                             gpointer            user_data,
                                             GError            **error);

G_END_DECLS
