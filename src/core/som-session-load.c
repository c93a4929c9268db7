/* som-session-load.c: reading a .somscope file, which may be hostile
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "som-session-private.h"
#include "som-types.h"

/* Manifests and metrics are small; anything beyond this is not ours. */
#define MAX_JSON_MEMBER (16 << 20)
/* json-glib parses recursively: refuse nesting deep enough to hurt the stack. */
#define MAX_JSON_DEPTH 128

/* A member name that stays inside the archive when extracted: relative, no
 * ".." component, no backslashes or drive letters, no control characters. */
static gboolean
member_name_is_safe (const char *m)
{
  g_auto(GStrv) parts = NULL;

  if (m[0] == '\0' || m[0] == '/' || strchr (m, '\\') != NULL)
    return FALSE;
  if (g_ascii_isalpha (m[0]) && m[1] == ':')
    return FALSE;
  for (const char *p = m; *p; p++)
    if ((guchar) *p < 0x20)
      return FALSE;
  parts = g_strsplit (m, "/", -1);
  for (char **p = parts; *p; p++)
    if (g_str_equal (*p, ".."))
      return FALSE;
  return TRUE;
}

static gboolean
json_depth_ok (const char *text, gsize len)
{
  int depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > MAX_JSON_DEPTH)
            return FALSE;
        }
      else if (c == ']' || c == '}')
        depth--;
    }
  return TRUE;
}

static JsonNode *
read_json_member (SomNpzReader *r, const char *path, const char *member, GError **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  guint64 size;
  gsize len;
  const char *data;

  if (!som_npz_reader_stat_member (r, member, &size, NULL, error))
    return NULL;
  if (size > MAX_JSON_MEMBER)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: %s declares %" G_GUINT64_FORMAT
                   " bytes, far more than a session needs", path, member, size);
      return NULL;
    }
  bytes = som_npz_reader_read_member (r, member, error);
  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &len);
  if (!json_depth_ok (data, len))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s nests deeper than %d levels", path, member,
                   MAX_JSON_DEPTH);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, len ? data : "", len, &local))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s is not valid JSON: %s", path, member,
                   local->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s is empty", path, member);
      return NULL;
    }
  return json_node_copy (json_parser_get_root (parser));
}

static gboolean
bad_manifest (GError **error, const char *path, const char *what)
{
  g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: manifest.json: %s", path, what);
  return FALSE;
}

/* Member @key of @o: absent or null gives NULL; otherwise it must hold @type. */
static gboolean
get_member (JsonObject *o, const char *key, JsonNodeType type, JsonNode **out)
{
  JsonNode *n = json_object_get_member (o, key);

  *out = NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (json_node_get_node_type (n) != type)
    return FALSE;
  *out = n;
  return TRUE;
}

static gboolean
get_int (JsonNode *n, gint64 *out)
{
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

static gboolean
get_string (JsonNode *n, const char **out)
{
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return FALSE;
  *out = json_node_get_string (n);
  return TRUE;
}

static gboolean
parse_ref (SomSession *self, JsonObject *root, SomSessionRef which, const char *path,
           const char *base_dir, GError **error)
{
  const char *key = _som_session_ref_key (which);
  JsonNode *node, *sha;
  JsonObject *o;
  const char *p, *s = NULL;
  g_autofree char *msg = NULL;
  SessionRef *ref = &self->refs[which];

  if (!get_member (root, key, JSON_NODE_OBJECT, &node))
    {
      msg = g_strdup_printf ("\"%s\" must be an object or null", key);
      return bad_manifest (error, path, msg);
    }
  if (node == NULL)
    return TRUE;
  o = json_node_get_object (node);
  if (!get_string (json_object_get_member (o, "path"), &p) || p[0] == '\0')
    {
      msg = g_strdup_printf ("\"%s\" needs a \"path\" string", key);
      return bad_manifest (error, path, msg);
    }
  sha = json_object_get_member (o, "sha256");
  if (sha != NULL && !JSON_NODE_HOLDS_NULL (sha))
    {
      gboolean hex = get_string (sha, &s) && strlen (s) == 64;
      for (const char *c = s; hex && *c; c++)
        hex = g_ascii_isdigit (*c) || (*c >= 'a' && *c <= 'f');
      if (!hex)
        {
          msg = g_strdup_printf ("\"%s\".\"sha256\" is not a SHA-256 in lowercase hex", key);
          return bad_manifest (error, path, msg);
        }
    }
  ref->path = g_path_is_absolute (p) ? g_canonicalize_filename (p, NULL) : g_canonicalize_filename (p, base_dir);
  ref->sha256 = g_strdup (s);

  if (which == SOM_SESSION_REF_DATASET)
    {
      JsonNode *pre;
      gint64 count;

      if (!get_member (o, "preprocessing", JSON_NODE_OBJECT, &pre))
        return bad_manifest (error, path, "\"dataset\".\"preprocessing\" must be an object");
      if (pre != NULL)
        self->preprocessing = json_node_copy (pre);
      if (!get_int (json_object_get_member (o, "count"), &count) || count < 0)
        return bad_manifest (error, path, "\"dataset\".\"count\" must be a non-negative integer");
      self->count = count;
    }
  return TRUE;
}

static gboolean
parse_layers (SomSession *self, JsonObject *root, const char *path, GError **error)
{
  JsonNode *node;
  JsonArray *arr;

  if (!get_member (root, "layers", JSON_NODE_ARRAY, &node) || node == NULL)
    return bad_manifest (error, path, "\"layers\" must be an array");
  arr = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *ln = json_array_get_element (arr, i);
      JsonNode *shape, *som;
      JsonObject *lo;
      gint64 index;
      const char *name, *op;
      g_autoptr(GError) local = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (ln))
        return bad_manifest (error, path, "each layer must be an object");
      lo = json_node_get_object (ln);
      if (!get_int (json_object_get_member (lo, "index"), &index) || index < 0 ||
          index > SOM_SESSION_MAX_LAYER_INDEX)
        return bad_manifest (error, path, "a layer's \"index\" must be an integer in 0…999999999");
      if (!get_string (json_object_get_member (lo, "name"), &name) ||
          !get_string (json_object_get_member (lo, "op"), &op))
        return bad_manifest (error, path, "a layer needs \"name\" and \"op\" strings");
      if (!get_member (lo, "shape", JSON_NODE_ARRAY, &shape) || !get_member (lo, "som", JSON_NODE_OBJECT, &som))
        return bad_manifest (error, path, "a layer's \"shape\" must be an array and its \"som\" an object or null");
      if (som_session_add_layer (self, index, name, op, shape, som, &local) < 0)
        {
          g_autofree char *msg = g_strdup_printf ("%s", local->message);
          return bad_manifest (error, path, msg);
        }
    }
  return TRUE;
}

static gboolean
parse_manifest (SomSession *self, JsonNode *root_node, const char *path, GError **error)
{
  JsonObject *root;
  const char *format = NULL, *created;
  JsonNode *n;
  gint64 version, v;
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  g_autofree char *base_dir = g_path_get_dirname (abs);

  if (!JSON_NODE_HOLDS_OBJECT (root_node))
    return bad_manifest (error, path, "not a JSON object");
  root = json_node_get_object (root_node);
  if (!get_string (json_object_get_member (root, "format"), &format) ||
      !g_str_equal (format, SOM_SESSION_FORMAT))
    {
      g_autofree char *shown = format ? g_strescape (format, NULL) : g_strdup ("none");
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: not a Somscope session (format \"%s\", expected \"%s\")", path, shown,
                   SOM_SESSION_FORMAT);
      return FALSE;
    }
  if (!get_int (json_object_get_member (root, "version"), &version) || version < 1)
    return bad_manifest (error, path, "\"version\" must be a positive integer");
  if (version > SOM_SESSION_VERSION)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "%s: session format version %" G_GINT64_FORMAT " is newer than this Somscope reads (%d): "
                   "update Somscope", path, version, SOM_SESSION_VERSION);
      return FALSE;
    }
  if (!get_string (json_object_get_member (root, "created"), &created))
    return bad_manifest (error, path, "\"created\" must be a string");
  g_free (self->created);
  self->created = g_strdup (created);

  if (!get_member (root, "provenance", JSON_NODE_OBJECT, &n))
    return bad_manifest (error, path, "\"provenance\" must be an object");
  if (n != NULL)
    self->provenance = json_node_copy (n);
  if (!get_member (root, "attack", JSON_NODE_OBJECT, &n))
    return bad_manifest (error, path, "\"attack\" must be an object or null");
  if (n != NULL)
    self->attack = json_node_copy (n);
  n = json_object_get_member (root, "seed");
  if (n != NULL && !get_int (n, &self->seed))
    return bad_manifest (error, path, "\"seed\" must be an integer");

  for (SomSessionRef r = 0; r < SOM_SESSION_N_REFS; r++)
    if (!parse_ref (self, root, r, path, base_dir, error))
      return FALSE;
  if (!parse_layers (self, root, path, error))
    return FALSE;

  if (!get_member (root, "selection", JSON_NODE_OBJECT, &n))
    return bad_manifest (error, path, "\"selection\" must be an object");
  if (n != NULL)
    {
      static const char *keys[3] = { "layer", "input", "unit" };
      JsonObject *so = json_node_get_object (n);

      for (guint i = 0; i < 3; i++)
        {
          JsonNode *e = json_object_get_member (so, keys[i]);
          if (e == NULL || JSON_NODE_HOLDS_NULL (e))
            continue;
          if (!get_int (e, &v) || v < 0)
            return bad_manifest (error, path, "\"selection\" members must be non-negative integers or null");
          self->selection[i] = v;
        }
    }
  return TRUE;
}

static SomArray *
read_array (SomNpzReader *r, const char *name, SomDType dtype, GError **error)
{
  SomArray *a = som_npz_reader_read_array (r, name, error);

  if (a == NULL || a->dtype == dtype)
    return a;
  /* Foreign writers (numpy's defaults are int64/float64): convert, checking ranges. */
  if (dtype == SOM_DTYPE_F32)
    {
      SomArray *f = som_array_to_f32 (a);
      som_array_free (a);
      return f;
    }
  return a;  /* the session's setter converts (or refuses) integers */
}

SomSession *
som_session_load (const char *path, GError **error)
{
  g_autoptr(SomSession) self = NULL;
  g_autoptr(SomNpzReader) r = NULL;
  g_autoptr(JsonNode) manifest = NULL;
  g_autoptr(GError) local = NULL;
  const char * const *members;
  guint64 total = 0, budget = som_memory_budget ();
  GStatBuf st;

  g_return_val_if_fail (path != NULL, NULL);

  r = som_npz_reader_open (path, &local);
  if (r == NULL)
    {
      if (g_error_matches (local, SOM_ERROR, SOM_ERROR_CORRUPT))
        g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a Somscope session (not a readable zip file)",
                     path);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (g_stat (path, &st) != 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot read", path);
      return NULL;
    }

  /* Names and sizes first, before reading a byte of content. */
  members = som_npz_reader_list_members (r);
  for (const char * const *m = members; *m; m++)
    {
      guint64 size, comp;

      if (!member_name_is_safe (*m))
        {
          g_autofree char *shown = g_strescape (*m, NULL);
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                       "%s: member \"%s\" escapes the archive (absolute or \"..\" path): refused", path, shown);
          return NULL;
        }
      if (!som_npz_reader_stat_member (r, *m, &size, &comp, error))
        return NULL;
      if (comp > (guint64) st.st_size)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                       "%s: member %s declares %" G_GUINT64_FORMAT " compressed bytes, more than the file holds",
                       path, *m, comp);
          return NULL;
        }
      /* Deflate cannot expand beyond 1032:1; a larger claim is a zip bomb. */
      if (size / 1032 > comp + 1)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                       "%s: member %s declares %" G_GUINT64_FORMAT " bytes from %" G_GUINT64_FORMAT
                       " compressed: refused as a zip bomb", path, *m, size, comp);
          return NULL;
        }
      total += size;
      if (total > budget)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                       "%s: its members declare more than the memory budget (%" G_GUINT64_FORMAT
                       " bytes; SOMSCOPE_MEMORY_BUDGET)", path, budget);
          return NULL;
        }
    }

  if (!som_npz_reader_has_member (r, "manifest.json"))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a Somscope session (no manifest.json)", path);
      return NULL;
    }
  manifest = read_json_member (r, path, "manifest.json", error);
  if (manifest == NULL)
    return NULL;

  self = som_session_new ();
  if (!parse_manifest (self, manifest, path, error))
    return NULL;

  for (SomSessionArray i = 0; i < SOM_SESSION_N_ARRAYS; i++)
    {
      const char *name = som_session_array_name (i);
      SomArray *a;

      if (!som_npz_reader_has_array (r, name))
        continue;
      a = read_array (r, name, _som_session_array_dtype (i), error);
      if (a == NULL || !som_session_take_array (self, i, a, error))
        {
          g_prefix_error (error, "%s: ", path);
          return NULL;
        }
    }
  for (guint p = 0; p < self->layers->len; p++)
    {
      SessionLayer *l = g_ptr_array_index (self->layers, p);
      g_autofree char *prefix = som_session_layer_member_prefix (l->index);

      for (SomLayerArray i = 0; i < SOM_LAYER_N_ARRAYS; i++)
        {
          g_autofree char *name = g_strdup_printf ("%s/%s", prefix, som_session_layer_array_name (i));
          SomArray *a;

          if (!som_npz_reader_has_array (r, name))
            continue;
          a = read_array (r, name, _som_session_layer_array_dtype (i), error);
          if (a == NULL)
            return NULL;
          if (!som_session_take_layer_array (self, p, i, a, error))
            {
              g_prefix_error (error, "%s: ", path);
              return NULL;
            }
        }
    }
  if (som_npz_reader_has_member (r, "metrics.json"))
    {
      self->metrics = read_json_member (r, path, "metrics.json", error);
      if (self->metrics == NULL)
        return NULL;
    }

  if (!_som_session_validate_for (self, path, error))
    return NULL;

  for (SomSessionRef i = 0; i < SOM_SESSION_N_REFS; i++)
    self->refs[i].state = _som_session_check_ref_state (&self->refs[i]);
  self->path = g_strdup (path);
  self->modified = FALSE;
  return g_steal_pointer (&self);
}
