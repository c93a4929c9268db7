/* somscope-layer.h: one layer of the document's model and its map
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "somscope-types.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_LAYER (somscope_layer_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeLayer, somscope_layer, SOMSCOPE, LAYER, GObject)

SomscopeLayer       *somscope_layer_new                   (guint          index,
                                                           const char    *name,
                                                           const char    *op,
                                                           const char    *shape,
                                                           gboolean       mapped);
guint                somscope_layer_get_index             (SomscopeLayer *self);
const char          *somscope_layer_get_name              (SomscopeLayer *self);
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
guint                somscope_layer_get_revision          (SomscopeLayer *self);
void                 somscope_layer_bump_revision         (SomscopeLayer *self);

G_END_DECLS
