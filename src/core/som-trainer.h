/* som-trainer.h: batch and online SOM training over a chunk source
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "som-chunk-source.h"
#include "som-map.h"
#include "som-train-params.h"
#include "som-types.h"

G_BEGIN_DECLS

/* Trains a map on every row of @source (rows are read chunk by chunk, so the
 * matrix need not be in memory).  @labels (N int32, may be NULL) adds
 * "labels" and "class_hits" to the results.  The map comes back with its
 * codebook, "bmus", "bmus2", "hits", "umatrix", "qe_per_epoch",
 * "te_per_epoch", the errors, the thread count and the seconds per epoch.
 * @progress is called from the calling thread at least once per chunk with a
 * message "epoch E/N, chunk C/M, QE q".  params->epoch_func, when set, is
 * called once per epoch with the codebook and its QE (see SomEpochFunc), from
 * the same thread as @progress.  Cancelling @cancellable returns
 * G_IO_ERROR_CANCELLED within one chunk. */
SomMap  *som_trainer_train         (const SomTrainParams *params,
                                    SomChunkSource       *source,
                                    const SomArray       *labels,
                                    GCancellable         *cancellable,
                                    SomProgressFunc       progress,
                                    gpointer              progress_data,
                                    GError              **error);

/* The same in a thread of its own; @progress is called from that thread. */
void     som_trainer_train_async   (const SomTrainParams *params,
                                    SomChunkSource       *source,
                                    const SomArray       *labels,
                                    GCancellable         *cancellable,
                                    SomProgressFunc       progress,
                                    gpointer              progress_data,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data);
SomMap  *som_trainer_train_finish  (GAsyncResult         *result,
                                    GError              **error);

G_END_DECLS
