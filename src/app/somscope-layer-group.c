/* somscope-layer-group.c: a module of the model in the sidebar's layer tree
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "som.h"

#include "somscope-layer-group.h"

struct _SomscopeLayerGroup
{
  GObject     parent_instance;

  char       *name;
  char       *path;
  guint       n_layers;
  guint       n_taps;
  GListStore *children;
  GHashTable *members;   /* every SomscopeLayer below (borrowed) */
};

G_DEFINE_FINAL_TYPE (SomscopeLayerGroup, somscope_layer_group, G_TYPE_OBJECT)

static void
somscope_layer_group_finalize (GObject *object)
{
  SomscopeLayerGroup *self = SOMSCOPE_LAYER_GROUP (object);

  g_free (self->name);
  g_free (self->path);
  g_clear_object (&self->children);
  g_clear_pointer (&self->members, g_hash_table_unref);
  G_OBJECT_CLASS (somscope_layer_group_parent_class)->finalize (object);
}

static void
somscope_layer_group_class_init (SomscopeLayerGroupClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = somscope_layer_group_finalize;
}

static void
somscope_layer_group_init (SomscopeLayerGroup *self)
{
  self->children = g_list_store_new (G_TYPE_OBJECT);
  self->members = g_hash_table_new (NULL, NULL);
}

/* Fills @store from the core tree @t; @by_leaf maps leaf numbers to layers;
 * every layer placed is added to each group of @ancestors. */
static void
fill (GListStore *store, const SomLayerTree *t, GPtrArray *by_leaf, GPtrArray *ancestors)
{
  for (guint i = 0; i < t->children->len; i++)
    {
      const SomLayerTree *c = g_ptr_array_index (t->children, i);

      if (c->layer >= 0)
        {
          SomscopeLayer *layer = g_ptr_array_index (by_leaf, c->layer);
          g_list_store_append (store, layer);
          for (guint a = 0; a < ancestors->len; a++)
            g_hash_table_add (((SomscopeLayerGroup *) g_ptr_array_index (ancestors, a))->members, layer);
        }
      else
        {
          g_autoptr(SomscopeLayerGroup) g = g_object_new (SOMSCOPE_TYPE_LAYER_GROUP, NULL);
          g->name = g_strdup (c->name);
          g->path = g_strdup (c->path);
          g->n_layers = c->n_layers;
          g->n_taps = c->n_default_taps;
          g_ptr_array_add (ancestors, g);
          fill (g->children, c, by_leaf, ancestors);
          g_ptr_array_remove_index (ancestors, ancestors->len - 1);
          g_list_store_append (store, g);
        }
    }
}

GListModel *
somscope_layer_group_build (GListModel *layers, const char *query)
{
  GListStore *store = g_list_store_new (G_TYPE_OBJECT);
  guint n = layers != NULL ? g_list_model_get_n_items (layers) : 0;
  g_autoptr(GPtrArray) by_leaf = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) ancestors = g_ptr_array_new ();
  g_autoptr(SomLayerTree) tree = NULL;

  for (guint i = 0; i < n; i++)
    {
      SomscopeLayer *layer = g_list_model_get_item (layers, i);
      SomLayer info = { 0 };

      info.index = somscope_layer_get_index (layer);
      info.name = somscope_layer_get_name (layer);
      info.node_name = info.name;
      info.op = somscope_layer_get_op (layer);
      if (query != NULL && query[0] != '\0')
        {
          if (som_layer_matches (&info, query))
            g_list_store_append (store, layer);
          g_object_unref (layer);
          continue;
        }
      g_ptr_array_add (by_leaf, layer);
      g_ptr_array_add (names, (gpointer) info.name);
    }
  if (query != NULL && query[0] != '\0')
    return G_LIST_MODEL (store);
  tree = som_layer_tree_new_from_names (names->len, (const char * const *) names->pdata, NULL, NULL);
  fill (store, tree, by_leaf, ancestors);
  return G_LIST_MODEL (store);
}

const char *
somscope_layer_group_get_name (SomscopeLayerGroup *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER_GROUP (self), NULL);
  return self->name;
}

const char *
somscope_layer_group_get_path (SomscopeLayerGroup *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER_GROUP (self), NULL);
  return self->path;
}

guint
somscope_layer_group_get_n_layers (SomscopeLayerGroup *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER_GROUP (self), 0);
  return self->n_layers;
}

guint
somscope_layer_group_get_n_taps (SomscopeLayerGroup *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER_GROUP (self), 0);
  return self->n_taps;
}

GListModel *
somscope_layer_group_get_children (SomscopeLayerGroup *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER_GROUP (self), NULL);
  return G_LIST_MODEL (self->children);
}

gboolean
somscope_layer_group_contains (SomscopeLayerGroup *self, SomscopeLayer *layer)
{
  g_return_val_if_fail (SOMSCOPE_IS_LAYER_GROUP (self), FALSE);
  return g_hash_table_contains (self->members, layer);
}
