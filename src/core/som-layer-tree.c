/* som-layer-tree.c: a model's layers grouped by module path
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "som-layer-tree.h"

static SomLayerTree *
group_new (const char *name, const char *path)
{
  SomLayerTree *g = g_new0 (SomLayerTree, 1);

  g->name = g_strdup (name);
  g->path = g_strdup (path);
  g->layer = -1;
  g->children = g_ptr_array_new_with_free_func ((GDestroyNotify) som_layer_tree_free);
  return g;
}

void
som_layer_tree_free (SomLayerTree *tree)
{
  if (tree == NULL)
    return;
  g_free (tree->name);
  g_free (tree->path);
  if (tree->children != NULL)
    g_ptr_array_unref (tree->children);
  g_free (tree);
}

static SomLayerTree *
child_group (SomLayerTree *parent, GHashTable *groups, const char *name)
{
  g_autofree char *path = g_strconcat (parent->path, "/", name, NULL);
  SomLayerTree *g = g_hash_table_lookup (groups, path);

  if (g == NULL)
    {
      g = group_new (name, path);
      g_ptr_array_add (parent->children, g);
      g_hash_table_insert (groups, g->path, g);
    }
  return g;
}

/* A group holding one layer becomes that layer, named after the group;
 * counts are summed bottom-up. */
static void
finish (SomLayerTree *g)
{
  g->n_layers = g->layer >= 0 ? 1 : 0;
  if (g->children == NULL)
    return;
  for (guint i = 0; i < g->children->len; i++)
    {
      SomLayerTree *c = g_ptr_array_index (g->children, i);
      finish (c);
      if (c->layer < 0 && c->children->len == 1
          && ((SomLayerTree *) g_ptr_array_index (c->children, 0))->layer >= 0)
        {
          SomLayerTree *leaf = g_ptr_array_steal_index (c->children, 0);
          g_free (leaf->name);
          leaf->name = g_steal_pointer (&c->name);
          g_ptr_array_index (g->children, i) = leaf;
          som_layer_tree_free (c);
          c = leaf;
        }
      g->n_layers += c->n_layers;
      g->n_default_taps += c->n_default_taps;
    }
}

SomLayerTree *
som_layer_tree_new_from_names (guint n, const char * const *names, const guint *indices,
                               const gboolean *default_taps)
{
  SomLayerTree *root = group_new ("", "");
  g_autoptr(GHashTable) groups = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < n; i++)
    {
      g_auto(GStrv) parts = g_strsplit (names[i], "/", -1);
      SomLayerTree *g = root, *leaf;
      guint np = g_strv_length (parts), last;

      /* the module path: every non-empty component but the last */
      for (last = np; last > 0 && parts[last - 1][0] == '\0'; last--)
        ;
      for (guint k = 0; k + 1 < last; k++)
        if (parts[k][0] != '\0')
          g = child_group (g, groups, parts[k]);
      leaf = g_new0 (SomLayerTree, 1);
      leaf->layer = indices != NULL ? indices[i] : i;
      leaf->n_default_taps = default_taps != NULL && default_taps[i] ? 1 : 0;
      leaf->name = g_strdup (last == 0 ? names[i] : parts[last - 1]);
      g_ptr_array_add (g->children, leaf);
    }
  finish (root);
  return root;
}

SomLayerTree *
som_layer_tree_new (SomModel *model, gboolean with_shape_arith)
{
  guint n = som_model_get_n_layers (model), k = 0;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree guint *indices = g_new (guint, MAX (n, 1));
  g_autofree gboolean *taps = g_new (gboolean, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    {
      const SomLayer *l = som_model_get_layer (model, i);
      const char *node = l->node_name != NULL && l->node_name[0] != '\0' ? l->node_name : l->name;
      if (l->shape_arith && !with_shape_arith)
        continue;
      /* a node with several outputs: one leaf per output, named by output */
      if (l->output_index > 0 && strchr (node, '/') != NULL)
        g_ptr_array_add (names, g_strdup_printf ("%s:%u", node, l->output_index));
      else if (l->output_index > 0)
        g_ptr_array_add (names, g_strdup (l->name));
      else
        g_ptr_array_add (names, g_strdup (node));
      indices[k] = l->index;
      taps[k++] = l->default_tap;
    }
  return som_layer_tree_new_from_names (k, (const char * const *) names->pdata, indices, taps);
}

gboolean
som_layer_matches (const SomLayer *layer, const char *query)
{
  g_autofree char *q = NULL;
  g_autofree char *name = NULL, *node = NULL, *op = NULL;
  char *end;
  guint64 index;

  if (query == NULL || query[0] == '\0')
    return TRUE;
  index = g_ascii_strtoull (query, &end, 10);
  if (end != query && *end == '\0' && index == layer->index)
    return TRUE;
  q = g_utf8_casefold (query, -1);
  name = g_utf8_casefold (layer->name, -1);
  node = g_utf8_casefold (layer->node_name != NULL ? layer->node_name : "", -1);
  op = g_utf8_casefold (layer->op, -1);
  return strstr (name, q) != NULL || strstr (node, q) != NULL || strstr (op, q) != NULL;
}
