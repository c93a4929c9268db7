/* somscope-layer.h: one layer of the document's model and its map
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "som-map.h"
#include "som-render.h"

#include "somscope-types.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_LAYER (somscope_layer_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeLayer, somscope_layer, SOMSCOPE, LAYER, GObject)

/* A layer's codes (N×D float32, one row per input), shared read-only between
 * the layer and the jobs that train on them: an atomic reference-counted box. */
typedef struct
{
  SomArray *array;
} SomscopeCodes;

SomscopeCodes       *somscope_codes_new                   (SomArray      *array);
SomscopeCodes       *somscope_codes_ref                   (SomscopeCodes *codes);
void                 somscope_codes_unref                 (SomscopeCodes *codes);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomscopeCodes, somscope_codes_unref)

SomscopeLayer       *somscope_layer_new                   (guint          index,
                                                           const char    *name,
                                                           const char    *op,
                                                           const char    *shape,
                                                           gboolean       mapped);
guint                somscope_layer_get_index             (SomscopeLayer *self);
const char          *somscope_layer_get_name              (SomscopeLayer *self);
const char          *somscope_layer_get_short_name        (SomscopeLayer *self);
const char          *somscope_layer_get_op                (SomscopeLayer *self);
const char          *somscope_layer_get_shape             (SomscopeLayer *self);
gboolean             somscope_layer_get_mapped            (SomscopeLayer *self);
void                 somscope_layer_set_mapped            (SomscopeLayer *self,
                                                           gboolean       mapped);
SomscopeLayerStatus  somscope_layer_get_status            (SomscopeLayer *self);
void                 somscope_layer_set_status            (SomscopeLayer *self,
                                                           SomscopeLayerStatus status,
                                                           const char    *message);
double               somscope_layer_get_progress          (SomscopeLayer *self);
void                 somscope_layer_set_progress          (SomscopeLayer *self,
                                                           double         progress,
                                                           guint          epoch,
                                                           guint          n_epochs);
void                 somscope_layer_set_errors            (SomscopeLayer *self,
                                                           double         quantization_error,
                                                           double         topographic_error);
int                  somscope_layer_get_input_bmu         (SomscopeLayer *self);
void                 somscope_layer_set_input_bmu         (SomscopeLayer *self,
                                                           int            unit);
int                  somscope_layer_get_adversarial_bmu   (SomscopeLayer *self);
void                 somscope_layer_set_adversarial_bmu   (SomscopeLayer *self,
                                                           int            unit);
SomscopeCodes       *somscope_layer_get_codes            (SomscopeLayer *self);
void                 somscope_layer_set_codes            (SomscopeLayer *self,
                                                           SomscopeCodes *codes);
const char * const  *somscope_layer_get_class_names      (SomscopeLayer *self);
void                 somscope_layer_set_class_names      (SomscopeLayer *self,
                                                           const char * const *names);
guint                somscope_layer_get_dim               (SomscopeLayer *self);
/* The trained map and its class map (majority class and purity per unit, or
 * NULL without labels).  Setting bumps the revision. */
SomMap              *somscope_layer_get_map               (SomscopeLayer *self);
void                 somscope_layer_set_map               (SomscopeLayer *self,
                                                           SomMap        *map,
                                                           SomArray      *majority,
                                                           SomArray      *purity);
const SomArray      *somscope_layer_get_majority          (SomscopeLayer *self);
const SomArray      *somscope_layer_get_purity            (SomscopeLayer *self);
/* The trained map's BMU of @input, or -1. */
int                  somscope_layer_get_bmu               (SomscopeLayer *self,
                                                           guint          input);
/* Distances of every unit to @input's code (the response view); NULL when
 * there is no map or no selected input. */
const float         *somscope_layer_get_response          (SomscopeLayer *self);
/* Selects the input the response and the BMU marker follow (-1: none). */
void                 somscope_layer_set_input             (SomscopeLayer *self,
                                                           int            input);
/* The map as the core renderer takes it, borrowed from the layer (valid
 * until the map or the input changes); FALSE without a map. */
gboolean             somscope_layer_get_map_data          (SomscopeLayer *self,
                                                           SomMapData    *data);
/* The codes of the adversarial inputs (after an attack), and their BMUs on
 * the map (N int32, computed in a worker once both exist). */
/* While the map trains: the map after the last finished epoch (codebook and
 * U-matrix only), drawn in place of the map until the trained one arrives;
 * NULL otherwise.  Setting it notifies "live-epoch" and the revision. */
SomMap              *somscope_layer_get_live_map          (SomscopeLayer *self);
guint                somscope_layer_get_live_epoch        (SomscopeLayer *self);
void                 somscope_layer_set_live_map          (SomscopeLayer *self,
                                                           SomMap        *map,
                                                           guint          epoch);
SomscopeCodes       *somscope_layer_get_adversarial_codes (SomscopeLayer *self);
void                 somscope_layer_set_adversarial_codes (SomscopeLayer *self,
                                                           SomscopeCodes *codes);
const SomArray      *somscope_layer_get_adversarial_bmus  (SomscopeLayer *self);
/* Takes @bmus, computed for @map (ignored when the map changed since). */
void                 somscope_layer_set_adversarial_bmus  (SomscopeLayer *self,
                                                           SomMap        *map,
                                                           SomArray      *bmus);
/* The map as the core renderer takes it, owned, for a worker thread: a
 * reference to the map drawn (whose arrays are not written once a layer shows
 * it) and copies of the layer's own arrays.  NULL without a map. */
typedef struct
{
  SomMapData   data;

  /*< private >*/
  SomMap      *map;
  char        *name;
  char       **class_names;
  float       *response;
} SomscopeMapDataCopy;

SomscopeMapDataCopy *somscope_layer_dup_map_data          (SomscopeLayer *self);

/* The hits of one class instead of all: @data's hits become its class hits
 * of @klass, and the colour bar's title for them ("hits of Coat") is
 * returned, to free.  NULL, @data untouched, when @klass is negative or the
 * map has no class hits for it (no labels, or a map still training). */
char                *somscope_map_data_select_class       (SomMapData    *data,
                                                           int            klass);
void                 somscope_map_data_copy_free          (SomscopeMapDataCopy *copy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomscopeMapDataCopy, somscope_map_data_copy_free)

guint                somscope_layer_get_revision          (SomscopeLayer *self);
void                 somscope_layer_bump_revision         (SomscopeLayer *self);

G_END_DECLS
