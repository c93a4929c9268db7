/* somscope-layer-group.h: a module of the model in the sidebar's layer tree
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "somscope-layer.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_LAYER_GROUP (somscope_layer_group_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeLayerGroup, somscope_layer_group, SOMSCOPE, LAYER_GROUP, GObject)

/* The layers (SomscopeLayer items) grouped by module path (the core's
 * som_layer_tree_new_from_names()): a list of SomscopeLayerGroup and
 * SomscopeLayer items.  With a non-empty @query, the flat list of the
 * layers that match it (som_layer_matches()). */
GListModel         *somscope_layer_group_build        (GListModel         *layers,
                                                       const char         *query);
const char         *somscope_layer_group_get_name     (SomscopeLayerGroup *self);
const char         *somscope_layer_group_get_path     (SomscopeLayerGroup *self);
guint               somscope_layer_group_get_n_layers (SomscopeLayerGroup *self);
guint               somscope_layer_group_get_n_taps   (SomscopeLayerGroup *self);
/* SomscopeLayerGroup and SomscopeLayer items */
GListModel         *somscope_layer_group_get_children (SomscopeLayerGroup *self);
gboolean            somscope_layer_group_contains     (SomscopeLayerGroup *self,
                                                       SomscopeLayer      *layer);

G_END_DECLS
