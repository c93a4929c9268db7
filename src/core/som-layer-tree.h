/* som-layer-tree.h: a model's layers grouped by module path
 *
 * PyTorch names nodes after the module that made them
 * ("/layer1/layer1.0/relu/Relu"): the layers of a 1,000-node graph become a
 * tree of modules, so that the CLI and the app can show it collapsed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-model.h"

G_BEGIN_DECLS

typedef struct _SomLayerTree SomLayerTree;

/* A group (a module: @layer is -1, @children set) or a leaf (one layer). */
struct _SomLayerTree
{
  char         *name;            /* group: the module's own name ("layer1.0"); leaf: its label in the group */
  char         *path;            /* group: the module path ("/layer1/layer1.0", "" for the root); leaf: NULL */
  int           layer;           /* leaf: the layer index; group: -1 */
  GPtrArray    *children;        /* group: SomLayerTree*, in graph order of their first layer; leaf: NULL */
  guint         n_layers;        /* layers below (a leaf: 1) */
  guint         n_default_taps;  /* default taps below */
};

/* The tree of @model's layers.  Node names are split at "/"; a group that
 * holds a single layer is that layer (named after the group: "conv1" rather
 * than "conv1/Conv").  Nodes whose names carry no path sit at the root.
 * @with_shape_arith: include shape-arithmetic layers (as `--layers all`
 * does not).  Free with som_layer_tree_free(). */
SomLayerTree *som_layer_tree_new       (SomModel           *model,
                                        gboolean            with_shape_arith);
/* The same from names alone (value or node names, graph order): for
 * callers without the model, such as a session's layer list.  @indices
 * (NULL: 0, 1, …) and @default_taps (NULL: none) have @n entries. */
SomLayerTree *som_layer_tree_new_from_names (guint                n,
                                             const char * const  *names,
                                             const guint         *indices,
                                             const gboolean      *default_taps);
void          som_layer_tree_free      (SomLayerTree       *tree);
/* Layer search: TRUE when @query (case-insensitive, NULL or "" matches
 * all) occurs in the layer's value name, node name or op, or is its index. */
gboolean      som_layer_matches        (const SomLayer     *layer,
                                        const char         *query);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomLayerTree, som_layer_tree_free)

G_END_DECLS
