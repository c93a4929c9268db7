/* somscope-layer-row.h: a layer in the sidebar: name, op, shape, SOM status, a checkbox
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "somscope-layer.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_LAYER_ROW (somscope_layer_row_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeLayerRow, somscope_layer_row, SOMSCOPE, LAYER_ROW, GtkWidget)

SomscopeLayer *somscope_layer_row_get_layer (SomscopeLayerRow *self);
void           somscope_layer_row_set_layer (SomscopeLayerRow *self,
                                             SomscopeLayer    *layer);

G_END_DECLS
