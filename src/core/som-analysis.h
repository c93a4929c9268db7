/* som-analysis.h: the per-layer SOM analysis of Lee & Vijayan (one map per
 * layer, homogeneity metrics, clean-vs-adversarial trajectories, trends)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "som-array.h"
#include "som-map.h"
#include "som-train-params.h"
#include "som-types.h"

G_BEGIN_DECLS

/* One layer to map.  The analysis takes ownership of the arrays. */
typedef struct
{
  gint64     index;              /* the ONNX layer index (names layer_NNN) */
  char      *name;
  char      *op;
  JsonNode  *shape;              /* JSON array, batch dim null (may be NULL) */
  SomArray  *codes;              /* N×D float32: every input, dataset order */
  SomArray  *codes_adversarial;  /* N×D, or NULL */
  SomArray  *train_codes;        /* M×D from a separate train set, or NULL (80/20 split) */
} SomAnalysisLayer;

SomAnalysisLayer *som_analysis_layer_new  (gint64      index,
                                           const char *name,
                                           const char *op);
void              som_analysis_layer_free (SomAnalysisLayer *layer);

typedef struct
{
  SomTrainParams som;            /* grid and schedule of every map; seed set per run */
  guint          seeds;          /* seeds 0…seeds−1 */
  guint          threads;        /* maps trained at once (each with one BLAS thread) */
  guint          n_classes;
  gint           target;         /* the attack's target class, or −1 */
} SomAnalysisSettings;

typedef struct _SomAnalysis SomAnalysis;

/* Runs the analysis.
 * @layers: SomAnalysisLayer*, in depth order, with som_analysis_layer_free as
 *   its free func; taken (freed with the analysis, or on failure).
 * @labels: N labels of the inputs (required).
 * @train_labels: M labels when the layers carry train_codes, else NULL.
 * @predictions, @adversarial_predictions: N each; the latter NULL without
 *   an attack (then no adversarial metrics or trajectories).
 * Maps for different layers and seeds train in parallel on @threads. */
SomAnalysis  *som_analysis_run            (GPtrArray                 *layers,
                                           const gint32              *labels,
                                           gsize                      n,
                                           const gint32              *train_labels,
                                           gsize                      n_train,
                                           const gint32              *predictions,
                                           const gint32              *adversarial_predictions,
                                           const SomAnalysisSettings *settings,
                                           GCancellable              *cancellable,
                                           SomProgressFunc            progress,
                                           gpointer                   progress_data,
                                           GError                   **error);
void          som_analysis_free           (SomAnalysis *analysis);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomAnalysis, som_analysis_free)

guint         som_analysis_get_n_layers   (SomAnalysis *analysis);
const SomAnalysisLayer *som_analysis_get_layer (SomAnalysis *analysis,
                                           guint        position);
/* Seed 0's map of a layer. */
SomMap       *som_analysis_get_map        (SomAnalysis *analysis,
                                           guint        position);
/* Seed 0's BMUs of all N inputs (clean, or adversarial: NULL without). */
const gint32 *som_analysis_get_bmus       (SomAnalysis *analysis,
                                           guint        position,
                                           gboolean     adversarial);
/* Seed 0's split: N bytes, 0 train part, 1 held-out (all 1 with a train set). */
const guint8 *som_analysis_get_split      (SomAnalysis *analysis);
/* Seconds spent training maps (wall) and computing metrics. */
double        som_analysis_get_train_seconds (SomAnalysis *analysis);

/* metrics.json (contracts.md section 3) with the given header members:
 * @settings and @provenance are copied (may be NULL). */
JsonNode     *som_analysis_to_json        (SomAnalysis *analysis,
                                           const char  *model,
                                           const char  *dataset,
                                           JsonNode    *settings,
                                           JsonNode    *provenance,
                                           const char * const *class_names);
/* The findings of a metrics.json in plain words with numbers (Markdown). */
char         *som_analysis_report_markdown (JsonNode   *metrics);

G_END_DECLS
