/* som-activations.c: "bring your own" activations (.npz of per-layer arrays)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "som-activations.h"
#include "som-types.h"

#define MAX_LAYERS_JSON (16 << 20)

typedef struct
{
  char    *member;  /* the array's name in the archive */
  char    *name;
  char    *op;
  gint64   index;
  SomDType dtype;
  guint    ndim;
  gsize    shape[SOM_ARRAY_MAX_DIMS];
  gboolean has_adversarial;
} ActLayer;

struct _SomActivations
{
  GObject       parent_instance;

  char         *path;
  SomNpzReader *reader;  /* kept open: layers are read on demand */
  GMutex        lock;    /* libzip archives are not thread-safe */
  gsize         n;
  SomArray     *labels;
  GPtrArray    *layers;
};

G_DEFINE_FINAL_TYPE (SomActivations, som_activations, G_TYPE_OBJECT)

static void
act_layer_free (ActLayer *l)
{
  g_free (l->member);
  g_free (l->name);
  g_free (l->op);
  g_free (l);
}

static void
som_activations_finalize (GObject *object)
{
  SomActivations *self = SOM_ACTIVATIONS (object);

  g_free (self->path);
  g_clear_pointer (&self->reader, som_npz_reader_free);
  g_clear_pointer (&self->labels, som_array_free);
  g_ptr_array_unref (self->layers);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (som_activations_parent_class)->finalize (object);
}

static void
som_activations_class_init (SomActivationsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = som_activations_finalize;
}

static void
som_activations_init (SomActivations *self)
{
  g_mutex_init (&self->lock);
  self->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) act_layer_free);
}

static gboolean
is_numeric (SomDType dtype)
{
  return dtype != SOM_DTYPE_BOOL;
}

static char *
shape_string (guint ndim, const gsize *shape)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GSIZE_FORMAT, i ? "×" : "", shape[i]);
  return g_string_free (s, FALSE);
}

/* "layer_007" → 7; -1 for any other name. */
static gint64
parse_layer_member (const char *member)
{
  const char *p;
  gint64 v = 0;

  if (!g_str_has_prefix (member, "layer_") || member[6] == '\0')
    return -1;
  for (p = member + 6; *p; p++)
    {
      if (!g_ascii_isdigit (*p) || v > 99999999)
        return -1;
      v = v * 10 + (*p - '0');
    }
  return v;
}

static ActLayer *
find_layer (SomActivations *self, const char *member)
{
  for (guint i = 0; i < self->layers->len; i++)
    {
      ActLayer *l = g_ptr_array_index (self->layers, i);
      if (g_str_equal (l->member, member))
        return l;
    }
  return NULL;
}

static ActLayer *
add_layer (SomActivations *self, const char *member, GError **error)
{
  ActLayer *l;

  if (find_layer (self, member) != NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: layer %s is listed twice", self->path, member);
      return NULL;
    }
  l = g_new0 (ActLayer, 1);
  l->member = g_strdup (member);
  l->index = -1;
  if (!som_npz_reader_read_array_header (self->reader, member, &l->dtype, &l->ndim, l->shape, error))
    {
      act_layer_free (l);
      return NULL;
    }
  g_ptr_array_add (self->layers, l);
  return l;
}

static gboolean
read_layers_json (SomActivations *self, GError **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  guint64 size;
  JsonNode *root;
  JsonArray *arr;
  gsize len;
  const char *data;
  int depth = 0;

  if (!som_npz_reader_stat_member (self->reader, "layers.json", &size, NULL, error))
    return FALSE;
  if (size > MAX_LAYERS_JSON)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: layers.json is implausibly large", self->path);
      return FALSE;
    }
  bytes = som_npz_reader_read_member (self->reader, "layers.json", error);
  if (bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (bytes, &len);
  /* json-glib recurses: refuse pathological nesting before parsing. */
  for (gsize i = 0; i < len; i++)
    if ((data[i] == '[' || data[i] == '{') && ++depth > 64)
      {
        g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: layers.json nests too deep", self->path);
        return FALSE;
      }
    else if (data[i] == ']' || data[i] == '}')
      depth--;
  if (!json_parser_load_from_data (parser, len ? data : "", len, &local))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: layers.json is not valid JSON: %s", self->path,
                   local->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: layers.json must be an array of layers", self->path);
      return FALSE;
    }
  arr = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *e = json_array_get_element (arr, i);
      JsonObject *o;
      JsonNode *m;
      const char *member;
      ActLayer *l;

      if (!JSON_NODE_HOLDS_OBJECT (e))
        goto bad_entry;
      o = json_node_get_object (e);
      m = json_object_get_member (o, "member");
      if (m == NULL || !JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_STRING)
        goto bad_entry;
      member = json_node_get_string (m);
      if (!som_npz_reader_has_array (self->reader, member) || g_str_equal (member, "labels") ||
          g_str_has_prefix (member, "adversarial/"))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                       "%s: layers.json names a layer \"%s\" that the file does not hold", self->path, member);
          return FALSE;
        }
      l = add_layer (self, member, error);
      if (l == NULL)
        return FALSE;
      if ((m = json_object_get_member (o, "index")) != NULL && !JSON_NODE_HOLDS_NULL (m))
        {
          if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_INT64 ||
              json_node_get_int (m) < 0 || json_node_get_int (m) > 999999999)
            goto bad_entry;
          l->index = json_node_get_int (m);
        }
      if ((m = json_object_get_member (o, "name")) != NULL && JSON_NODE_HOLDS_VALUE (m) &&
          json_node_get_value_type (m) == G_TYPE_STRING)
        l->name = g_strdup (json_node_get_string (m));
      if ((m = json_object_get_member (o, "op")) != NULL && JSON_NODE_HOLDS_VALUE (m) &&
          json_node_get_value_type (m) == G_TYPE_STRING)
        l->op = g_strdup (json_node_get_string (m));
    }
  return TRUE;

bad_entry:
  g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
               "%s: layers.json: each entry needs a \"member\" string (and an optional integer \"index\")",
               self->path);
  return FALSE;
}

static gboolean
validate (SomActivations *self, GError **error)
{
  gboolean all_named = TRUE;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);

  if (self->layers->len == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: no layer arrays (members other than labels and adversarial/…)", self->path);
      return FALSE;
    }
  for (guint i = 0; i < self->layers->len; i++)
    {
      ActLayer *l = g_ptr_array_index (self->layers, i);
      gsize per = 1;

      if (!is_numeric (l->dtype))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, "%s: layer %s is %s, not numbers", self->path,
                       l->member, som_dtype_name (l->dtype));
          return FALSE;
        }
      if (l->ndim < 2)
        {
          g_autofree char *s = shape_string (l->ndim, l->shape);
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: layer %s has shape %s; layers must be N×D or N×C×H×W", self->path, l->member,
                       l->ndim ? s : "()");
          return FALSE;
        }
      for (guint d = 1; d < l->ndim; d++)
        per *= l->shape[d];
      if (per == 0 || l->shape[0] == 0)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: layer %s is empty", self->path, l->member);
          return FALSE;
        }
      if (i == 0)
        self->n = l->shape[0];
      else if (l->shape[0] != self->n)
        {
          ActLayer *first = g_ptr_array_index (self->layers, 0);
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                       "%s: layer %s has %" G_GSIZE_FORMAT " inputs but %s has %" G_GSIZE_FORMAT
                       ": every array must cover the same N inputs", self->path, l->member, l->shape[0],
                       first->member, self->n);
          return FALSE;
        }
      if (l->index < 0)
        all_named = FALSE;
    }

  /* Indices: layers.json's, else layer_NNN's when every member is so named,
   * else positions. */
  for (guint i = 0; i < self->layers->len; i++)
    {
      ActLayer *l = g_ptr_array_index (self->layers, i);
      if (l->index < 0)
        all_named = all_named && parse_layer_member (l->member) >= 0;
    }
  for (guint i = 0; i < self->layers->len; i++)
    {
      ActLayer *l = g_ptr_array_index (self->layers, i);
      if (l->index < 0)
        l->index = all_named ? parse_layer_member (l->member) : (gint64) i;
      if (g_hash_table_contains (seen, &l->index))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: two layers have index %" G_GINT64_FORMAT,
                       self->path, l->index);
          return FALSE;
        }
      g_hash_table_add (seen, &l->index);
      if (l->name == NULL)
        l->name = g_strdup (l->member);
      if (l->op == NULL)
        l->op = g_strdup ("");
    }
  return TRUE;
}

SomActivations *
som_activations_open (const char *path, GError **error)
{
  g_autoptr(SomActivations) self = g_object_new (SOM_TYPE_ACTIVATIONS, NULL);
  g_auto(GStrv) arrays = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  self->path = g_strdup (path);
  self->reader = som_npz_reader_open (path, error);
  if (self->reader == NULL)
    return NULL;
  arrays = som_npz_reader_list_arrays (self->reader);

  if (som_npz_reader_has_member (self->reader, "layers.json") && !read_layers_json (self, error))
    return NULL;
  for (char **a = arrays; *a; a++)
    if (!g_str_equal (*a, "labels") && !g_str_has_prefix (*a, "adversarial/") && find_layer (self, *a) == NULL &&
        add_layer (self, *a, error) == NULL)
      return NULL;
  if (!validate (self, error))
    return NULL;

  for (char **a = arrays; *a; a++)
    {
      ActLayer *l;
      SomDType dtype;
      guint ndim;
      gsize shape[SOM_ARRAY_MAX_DIMS];
      gboolean same;

      if (!g_str_has_prefix (*a, "adversarial/"))
        continue;
      l = find_layer (self, *a + strlen ("adversarial/"));
      if (l == NULL)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s has no clean layer %s", self->path, *a,
                       *a + strlen ("adversarial/"));
          return NULL;
        }
      if (!som_npz_reader_read_array_header (self->reader, *a, &dtype, &ndim, shape, error))
        return NULL;
      same = ndim == l->ndim && is_numeric (dtype);
      for (guint d = 0; same && d < ndim; d++)
        same = shape[d] == l->shape[d];
      if (!same)
        {
          g_autofree char *s1 = shape_string (ndim, shape);
          g_autofree char *s2 = shape_string (l->ndim, l->shape);
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s has shape %s (%s), its clean layer %s",
                       self->path, *a, s1, som_dtype_name (dtype), s2);
          return NULL;
        }
      l->has_adversarial = TRUE;
    }

  if (som_npz_reader_has_array (self->reader, "labels"))
    {
      g_autoptr(SomArray) raw = NULL;
      SomDType dtype;
      guint ndim;
      gsize shape[SOM_ARRAY_MAX_DIMS];

      if (!som_npz_reader_read_array_header (self->reader, "labels", &dtype, &ndim, shape, error))
        return NULL;
      if (ndim != 1 || shape[0] != self->n || dtype == SOM_DTYPE_F32 || dtype == SOM_DTYPE_F64 ||
          dtype == SOM_DTYPE_F16)
        {
          g_autofree char *s = shape_string (ndim, shape);
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                       "%s: labels must be %" G_GSIZE_FORMAT " integers (one per input), not %s of %s", self->path,
                       self->n, ndim ? s : "()", som_dtype_name (dtype));
          return NULL;
        }
      raw = som_npz_reader_read_array (self->reader, "labels", error);
      if (raw == NULL)
        return NULL;
      self->labels = som_array_to_i32 (raw, error);
      if (self->labels == NULL)
        {
          g_prefix_error (error, "%s: labels: ", path);
          return NULL;
        }
    }
  return g_steal_pointer (&self);
}

const char *
som_activations_get_path (SomActivations *self)
{
  g_return_val_if_fail (SOM_IS_ACTIVATIONS (self), NULL);
  return self->path;
}

gsize
som_activations_get_n_inputs (SomActivations *self)
{
  g_return_val_if_fail (SOM_IS_ACTIVATIONS (self), 0);
  return self->n;
}

const SomArray *
som_activations_get_labels (SomActivations *self)
{
  g_return_val_if_fail (SOM_IS_ACTIVATIONS (self), NULL);
  return self->labels;
}

guint
som_activations_get_n_layers (SomActivations *self)
{
  g_return_val_if_fail (SOM_IS_ACTIVATIONS (self), 0);
  return self->layers->len;
}

static ActLayer *
get_layer (SomActivations *self, guint position)
{
  g_return_val_if_fail (SOM_IS_ACTIVATIONS (self), NULL);
  g_return_val_if_fail (position < self->layers->len, NULL);
  return g_ptr_array_index (self->layers, position);
}

const char *
som_activations_get_layer_member (SomActivations *self, guint position)
{
  ActLayer *l = get_layer (self, position);
  return l ? l->member : NULL;
}

const char *
som_activations_get_layer_name (SomActivations *self, guint position)
{
  ActLayer *l = get_layer (self, position);
  return l ? l->name : NULL;
}

gint64
som_activations_get_layer_index (SomActivations *self, guint position)
{
  ActLayer *l = get_layer (self, position);
  return l ? l->index : -1;
}

const char *
som_activations_get_layer_op (SomActivations *self, guint position)
{
  ActLayer *l = get_layer (self, position);
  return l ? l->op : NULL;
}

guint
som_activations_get_layer_shape (SomActivations *self, guint position, gsize shape[SOM_ARRAY_MAX_DIMS])
{
  ActLayer *l = get_layer (self, position);

  if (l == NULL)
    return 0;
  memcpy (shape, l->shape, l->ndim * sizeof (gsize));
  return l->ndim;
}

gboolean
som_activations_has_adversarial (SomActivations *self, guint position)
{
  ActLayer *l = get_layer (self, position);
  return l ? l->has_adversarial : FALSE;
}

static SomArray *
read_checked (SomActivations *self, ActLayer *l, const char *name, GError **error)
{
  g_autoptr(SomArray) a = NULL;
  gboolean same;

  g_mutex_lock (&self->lock);
  a = som_npz_reader_read_array (self->reader, name, error);
  g_mutex_unlock (&self->lock);
  if (a == NULL)
    return NULL;
  /* The file may have changed since it was opened. */
  same = a->ndim == l->ndim;
  for (guint d = 0; same && d < a->ndim; d++)
    same = a->shape[d] == l->shape[d];
  if (!same)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s changed shape since the file was opened",
                   self->path, name);
      return NULL;
    }
  if (a->dtype == SOM_DTYPE_F32)
    return g_steal_pointer (&a);
  return som_array_to_f32 (a);
}

SomArray *
som_activations_read_layer (SomActivations *self, guint position, GError **error)
{
  ActLayer *l = get_layer (self, position);

  g_return_val_if_fail (l != NULL, NULL);
  return read_checked (self, l, l->member, error);
}

SomArray *
som_activations_read_adversarial (SomActivations *self, guint position, GError **error)
{
  ActLayer *l = get_layer (self, position);
  g_autofree char *name = NULL;

  g_return_val_if_fail (l != NULL, NULL);
  if (!l->has_adversarial)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: layer %s has no adversarial/%s", self->path,
                   l->member, l->member);
      return NULL;
    }
  name = g_strconcat ("adversarial/", l->member, NULL);
  return read_checked (self, l, name, error);
}
