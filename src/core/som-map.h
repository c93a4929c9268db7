/* som-map.h: a trained self-organizing map: codebook, BMU search, results
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "som-array.h"
#include "som-grid.h"
#include "som-train-params.h"

G_BEGIN_DECLS

#define SOM_TYPE_MAP (som_map_get_type ())

G_DECLARE_FINAL_TYPE (SomMap, som_map, SOM, MAP, GObject)

typedef enum
{
  SOM_UMATRIX_MEAN,
  SOM_UMATRIX_MEDIAN,
  SOM_UMATRIX_MAX,
} SomUMatrixStat;

/* A map with a zero codebook of @grid's units × @dim. */
SomMap        *som_map_new                   (SomGrid   *grid,
                                              guint      dim,
                                              GError   **error);

SomGrid       *som_map_get_grid              (SomMap    *self);
guint          som_map_get_dim               (SomMap    *self);
guint          som_map_get_n_units           (SomMap    *self);
/* Units × dim floats, row k = unit k (R×C×D in C order). */
float         *som_map_get_codebook          (SomMap    *self);
const SomArray *som_map_get_codebook_array   (SomMap    *self);

/* The settings the map was trained with (rows/cols/topology agree with the grid). */
const SomTrainParams *som_map_get_params     (SomMap    *self);
void           som_map_set_params            (SomMap    *self,
                                              const SomTrainParams *params);

/* Named result arrays, stored in SOM.npz under the same names: "bmus", "bmus2",
 * "hits", "umatrix", "labels", "class_hits", "feature_mean", "feature_std",
 * "qe_per_epoch", "te_per_epoch".  NULL when absent. */
const SomArray *som_map_get_array            (SomMap     *self,
                                              const char *name);
void           som_map_take_array            (SomMap     *self,
                                              const char *name,
                                              SomArray   *array);
/* Names of the stored arrays in save order (NULL-terminated; free the container only). */
const char   **som_map_list_arrays           (SomMap     *self);

/* Scalars: quantization and topographic error (NaN when unknown), the thread
 * count and mean seconds per epoch of training. */
double         som_map_get_quantization_error (SomMap   *self);
double         som_map_get_topographic_error  (SomMap   *self);
void           som_map_set_errors            (SomMap    *self,
                                              double     quantization_error,
                                              double     topographic_error);
guint          som_map_get_threads           (SomMap    *self);
void           som_map_set_threads           (SomMap    *self,
                                              guint      threads);
double         som_map_get_seconds_per_epoch (SomMap    *self);
void           som_map_set_seconds_per_epoch (SomMap    *self,
                                              double     seconds);
gboolean       som_map_get_standardize       (SomMap    *self);
void           som_map_set_standardize       (SomMap    *self,
                                              gboolean   standardize);
const char * const *som_map_get_class_names  (SomMap    *self);
void           som_map_set_class_names       (SomMap    *self,
                                              const char * const *names);
/* Provenance ({"somscope_version","command_line",…}); NULL when unknown. */
JsonNode      *som_map_get_provenance        (SomMap    *self);
void           som_map_set_provenance        (SomMap    *self,
                                              JsonNode  *provenance);

/* Best and second-best units of @n rows of @data (n × dim floats) in chunks
 * of one sgemm each.  Outputs may be NULL; @distances receives the Euclidean
 * distance of each row to its BMU (after normalisation for a cosine map).
 * Rows that are not finite get BMU −1 and distance NaN.  @dim must be the
 * map's dimension (an error otherwise). */
gboolean       som_map_find_bmus             (SomMap       *self,
                                              const float  *data,
                                              gsize         n,
                                              guint         dim,
                                              gint32       *bmus,
                                              gint32       *bmus2,
                                              float        *distances,
                                              GCancellable *cancellable,
                                              GError      **error);
/* Distances of every unit to one sample (the "response"), K floats: Euclidean,
 * or 1 − cosine similarity for a cosine map. */
void           som_map_response              (SomMap       *self,
                                              const float  *sample,
                                              float        *out);

/* Metrics over given BMUs (entries < 0 are skipped). */
double         som_map_topographic_error     (SomMap       *self,
                                              const gint32 *bmus,
                                              const gint32 *bmus2,
                                              gsize         n);
SomArray      *som_map_hits                  (SomMap       *self,
                                              const gint32 *bmus,
                                              gsize         n);
/* K×R×C int32 hit counts per class; labels < 0 are skipped. */
SomArray      *som_map_class_hits            (SomMap       *self,
                                              const gint32 *bmus,
                                              const gint32 *labels,
                                              gsize         n,
                                              guint         n_classes);
/* From class hits: majority class per unit (R×C int32, −1 for empty units)
 * and its share of the unit's hits (R×C float32, NaN for empty units). */
void           som_map_class_map             (SomMap          *self,
                                              const SomArray  *class_hits,
                                              SomArray       **majority,
                                              SomArray       **purity);
/* R×C float32: the mean, median or max Euclidean distance of each unit's
 * codebook vector to its grid neighbours'. */
SomArray      *som_map_umatrix               (SomMap         *self,
                                              SomUMatrixStat  stat);
/* R×C float32: component @feature of every unit. */
SomArray      *som_map_component_plane       (SomMap       *self,
                                              guint         feature,
                                              GError      **error);

/* New N×D' rows in the space the map was trained in: @codes (N×D float32,
 * the codes as --codes made them) z-scored with the map's feature_mean /
 * feature_std when it was trained with --standardize, then projected with
 * its "projection" (after subtracting "projection_mean") when it has one.
 * Errors name the mismatch of D.  Without either it returns a copy. */
SomArray      *som_map_transform_features    (SomMap          *self,
                                              const SomArray  *codes,
                                              GError         **error);

G_END_DECLS
