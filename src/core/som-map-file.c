/* som-map-file.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som-map-file.h"
#include "som-io.h"
#include "som-types.h"

/* Result arrays a SOM.npz may hold, in the order they are written. */
static const char *const known_arrays[] = {
  "bmus", "bmus2", "hits", "umatrix", "labels", "class_hits",
  "feature_mean", "feature_std", "qe_per_epoch", "te_per_epoch",
};

JsonNode *
som_map_meta_to_json (SomMap *map)
{
  const SomTrainParams *p = som_map_get_params (map);
  SomGrid *grid = som_map_get_grid (map);
  const char * const *names = som_map_get_class_names (map);
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "somscope-som");
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, SOM_MAP_FORMAT_VERSION);
  json_builder_set_member_name (b, "rows");
  json_builder_add_int_value (b, som_grid_get_rows (grid));
  json_builder_set_member_name (b, "cols");
  json_builder_add_int_value (b, som_grid_get_cols (grid));
  json_builder_set_member_name (b, "topology");
  json_builder_add_string_value (b, som_topology_to_string (som_grid_get_topology (grid)));
  json_builder_set_member_name (b, "toroidal");
  json_builder_add_boolean_value (b, som_grid_get_toroidal (grid));
  json_builder_set_member_name (b, "dim");
  json_builder_add_int_value (b, som_map_get_dim (map));
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, p->epochs);
  json_builder_set_member_name (b, "mode");
  json_builder_add_string_value (b, som_mode_to_string (p->mode));
  json_builder_set_member_name (b, "init");
  json_builder_add_string_value (b, som_init_to_string (p->init));
  json_builder_set_member_name (b, "neighborhood");
  json_builder_add_string_value (b, som_neighborhood_to_string (p->neighborhood));
  json_builder_set_member_name (b, "radius0");
  json_builder_add_double_value (b, som_train_params_get_radius0 (p));
  json_builder_set_member_name (b, "radius1");
  json_builder_add_double_value (b, p->radius1);
  json_builder_set_member_name (b, "cooling");
  json_builder_add_string_value (b, som_cooling_to_string (p->cooling));
  json_builder_set_member_name (b, "alpha0");
  json_builder_add_double_value (b, p->alpha0);
  json_builder_set_member_name (b, "distance");
  json_builder_add_string_value (b, som_distance_to_string (p->distance));
  json_builder_set_member_name (b, "nonfinite");
  json_builder_add_string_value (b, som_nonfinite_to_string (p->nonfinite));
  json_builder_set_member_name (b, "standardize");
  json_builder_add_boolean_value (b, som_map_get_standardize (map));
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) p->seed);
  json_builder_set_member_name (b, "threads");
  json_builder_add_int_value (b, som_map_get_threads (map));
  som_json_add_number (b, "quantization_error", som_map_get_quantization_error (map));
  som_json_add_number (b, "topographic_error", som_map_get_topographic_error (map));
  som_json_add_number (b, "seconds_per_epoch", som_map_get_seconds_per_epoch (map));
  json_builder_set_member_name (b, "class_names");
  json_builder_begin_array (b);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    json_builder_add_string_value (b, names[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "provenance");
  if (som_map_get_provenance (map) != NULL)
    json_builder_add_value (b, json_node_copy (som_map_get_provenance (map)));
  else
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "somscope_version");
      json_builder_add_string_value (b, som_version ());
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* Reading meta members with type checks: a malformed file must give an
 * error, never a critical. */

static gboolean
meta_number (JsonObject *o, const char *name, double *out, gboolean required,
             const char *path, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    {
      if (required)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: meta.json has no \"%s\"", path, name);
          return FALSE;
        }
      *out = NAN;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n)
      || (json_node_get_value_type (n) != G_TYPE_INT64 && json_node_get_value_type (n) != G_TYPE_DOUBLE))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: meta.json \"%s\" is not a number", path, name);
      return FALSE;
    }
  *out = json_node_get_value_type (n) == G_TYPE_INT64 ? (double) json_node_get_int (n)
                                                       : json_node_get_double (n);
  return TRUE;
}

static gboolean
meta_uint (JsonObject *o, const char *name, guint64 max, guint64 *out, gboolean required,
           const char *path, GError **error)
{
  double v;

  if (!meta_number (o, name, &v, required, path, error))
    return FALSE;
  if (isnan (v))
    return TRUE;
  if (v < 0 || v > (double) max || v != floor (v))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: meta.json \"%s\" is out of range (%g)",
                   path, name, v);
      return FALSE;
    }
  *out = (guint64) v;
  return TRUE;
}

static const char *
meta_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static gboolean
meta_bool (JsonObject *o, const char *name, gboolean fallback)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (n);
}

#define META_ENUM(o, key, parse, field)                                                    \
  G_STMT_START {                                                                           \
    const char *s_ = meta_string (o, key);                                                 \
    if (s_ != NULL && !parse (s_, &(field)))                                               \
      {                                                                                    \
        g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: unknown %s \"%s\"", path, key, s_); \
        return FALSE;                                                                      \
      }                                                                                    \
  } G_STMT_END

/* Applies the settings and scalars of a meta object (not the grid). */
static gboolean
apply_meta (SomMap *map, JsonObject *o, const char *path, GError **error)
{
  SomTrainParams p = *som_map_get_params (map);
  guint64 u = 0;
  double v, qe, te;
  JsonNode *n;

  if (!meta_uint (o, "epochs", G_MAXUINT32, &u, FALSE, path, error))
    return FALSE;
  p.epochs = (guint) u;
  META_ENUM (o, "mode", som_mode_from_string, p.mode);
  META_ENUM (o, "init", som_init_from_string, p.init);
  META_ENUM (o, "neighborhood", som_neighborhood_from_string, p.neighborhood);
  META_ENUM (o, "cooling", som_cooling_from_string, p.cooling);
  META_ENUM (o, "distance", som_distance_from_string, p.distance);
  META_ENUM (o, "nonfinite", som_nonfinite_from_string, p.nonfinite);
  if (!meta_number (o, "radius0", &v, FALSE, path, error))
    return FALSE;
  if (!isnan (v))
    p.radius0 = v;
  if (!meta_number (o, "radius1", &v, FALSE, path, error))
    return FALSE;
  if (!isnan (v))
    p.radius1 = v;
  if (!meta_number (o, "alpha0", &v, FALSE, path, error))
    return FALSE;
  if (!isnan (v))
    p.alpha0 = v;
  u = p.seed;
  if (!meta_uint (o, "seed", G_MAXINT64, &u, FALSE, path, error))
    return FALSE;
  p.seed = u;
  som_map_set_params (map, &p);
  som_map_set_standardize (map, meta_bool (o, "standardize", FALSE));
  u = 0;
  if (!meta_uint (o, "threads", 1 << 20, &u, FALSE, path, error))
    return FALSE;
  som_map_set_threads (map, (guint) u);
  if (!meta_number (o, "quantization_error", &qe, FALSE, path, error)
      || !meta_number (o, "topographic_error", &te, FALSE, path, error)
      || !meta_number (o, "seconds_per_epoch", &v, FALSE, path, error))
    return FALSE;
  som_map_set_errors (map, qe, te);
  som_map_set_seconds_per_epoch (map, v);

  n = json_object_get_member (o, "class_names");
  if (n != NULL && JSON_NODE_HOLDS_ARRAY (n))
    {
      JsonArray *a = json_node_get_array (n);
      g_autoptr(GPtrArray) names = g_ptr_array_new ();

      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: class_names must be strings", path);
              return FALSE;
            }
          g_ptr_array_add (names, (gpointer) json_node_get_string (e));
        }
      g_ptr_array_add (names, NULL);
      som_map_set_class_names (map, (const char * const *) names->pdata);
    }
  n = json_object_get_member (o, "provenance");
  if (n != NULL && JSON_NODE_HOLDS_OBJECT (n))
    som_map_set_provenance (map, n);
  return TRUE;
}

static SomGrid *
grid_from_meta (JsonObject *o, const char *path, GError **error)
{
  guint64 rows = 0, cols = 0;
  const char *topology = meta_string (o, "topology");
  SomTopology t;
  GError *local = NULL;
  SomGrid *grid;

  if (!meta_uint (o, "rows", G_MAXUINT32, &rows, TRUE, path, error)
      || !meta_uint (o, "cols", G_MAXUINT32, &cols, TRUE, path, error))
    return NULL;
  if (!som_topology_from_string (topology, &t))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: meta.json has no valid \"topology\"", path);
      return NULL;
    }
  grid = som_grid_new ((guint) rows, (guint) cols, t, meta_bool (o, "toroidal", FALSE), &local);
  if (grid == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s", path, local->message);
      g_error_free (local);
    }
  return grid;
}

/* The feature arrays agree with each other and with the map: z-scores and
 * the projection mean are over the input width, which is the projection's
 * row count when there is a projection and the map's dimension otherwise. */
static gboolean
validate_features (SomMap *map, const char *path, GError **error)
{
  const SomArray *proj = som_map_get_array (map, "projection");
  gsize d_in = proj != NULL ? proj->shape[0] : som_map_get_dim (map);
  static const char *const names[] = { "feature_mean", "feature_std", "projection_mean" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const SomArray *a = som_map_get_array (map, names[i]);
      if (a != NULL && a->shape[0] != d_in)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s has %zu values, expected %zu",
                       path, names[i], a->shape[0], d_in);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
som_map_save_npz (SomMap *map, const char *path, gboolean compress, GError **error)
{
  g_autoptr(SomNpzWriter) w = NULL;
  g_autoptr(JsonNode) meta = som_map_meta_to_json (map);
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  g_autofree const char **names = som_map_list_arrays (map);

  w = som_npz_writer_new (path, compress, error);
  if (w == NULL)
    return FALSE;
  if (!som_npz_writer_add_array (w, "codebook", som_map_get_codebook_array (map), error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (known_arrays); i++)
    {
      const SomArray *a = som_map_get_array (map, known_arrays[i]);
      if (a != NULL && !som_npz_writer_add_array (w, known_arrays[i], a, error))
        return FALSE;
    }
  for (guint i = 0; names[i] != NULL; i++)
    {
      if (g_strv_contains ((const char * const *) known_arrays, names[i]))
        continue;
      if (!som_npz_writer_add_array (w, names[i], som_map_get_array (map, names[i]), error))
        return FALSE;
    }
  json_generator_set_root (gen, meta);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  if (!som_npz_writer_add_string (w, "meta.json", text, error))
    return FALSE;
  return som_npz_writer_close (w, error);
}

/* The expected shape of a known array, given the map; FALSE if @a disagrees. */
static gboolean
check_array_shape (SomMap *map, const char *name, const SomArray *a, gsize n_rows)
{
  gsize R = som_grid_get_rows (som_map_get_grid (map)), C = som_grid_get_cols (som_map_get_grid (map));

  if (g_str_equal (name, "bmus") || g_str_equal (name, "bmus2") || g_str_equal (name, "labels"))
    return a->ndim == 1 && a->dtype == SOM_DTYPE_I32 && (n_rows == G_MAXSIZE || a->shape[0] == n_rows);
  if (g_str_equal (name, "hits"))
    return a->ndim == 2 && a->dtype == SOM_DTYPE_I32 && a->shape[0] == R && a->shape[1] == C;
  if (g_str_equal (name, "umatrix"))
    return a->ndim == 2 && a->dtype == SOM_DTYPE_F32 && a->shape[0] == R && a->shape[1] == C;
  if (g_str_equal (name, "class_hits"))
    return a->ndim == 3 && a->dtype == SOM_DTYPE_I32 && a->shape[1] == R && a->shape[2] == C;
  if (g_str_equal (name, "feature_mean") || g_str_equal (name, "feature_std"))
    return a->ndim == 1 && a->dtype == SOM_DTYPE_F32;
  if (g_str_equal (name, "qe_per_epoch") || g_str_equal (name, "te_per_epoch"))
    return a->ndim == 1 && a->dtype == SOM_DTYPE_F32;
  if (g_str_equal (name, "projection"))
    return a->ndim == 2 && a->dtype == SOM_DTYPE_F32 && a->shape[1] == som_map_get_dim (map);
  if (g_str_equal (name, "projection_mean"))
    return a->ndim == 1 && a->dtype == SOM_DTYPE_F32;
  return TRUE;
}

SomMap *
som_map_load_npz (const char *path, GError **error)
{
  g_autoptr(SomNpzReader) r = NULL;
  g_autoptr(GBytes) meta_bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_autoptr(SomGrid) grid = NULL;
  g_autoptr(SomArray) codebook = NULL;
  g_autoptr(SomMap) map = NULL;
  g_auto(GStrv) arrays = NULL;
  JsonNode *root;
  JsonObject *o;
  const char *format;
  guint64 version = 0, dim = 0;
  gsize n_rows = G_MAXSIZE;

  r = som_npz_reader_open (path, error);
  if (r == NULL)
    return NULL;
  if (!som_npz_reader_has_member (r, "meta.json"))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a SOM file (no meta.json member)", path);
      return NULL;
    }
  meta_bytes = som_npz_reader_read_member (r, "meta.json", error);
  if (meta_bytes == NULL)
    return NULL;
  if (!json_parser_load_from_data (parser, g_bytes_get_data (meta_bytes, NULL),
                                   g_bytes_get_size (meta_bytes), &local))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: meta.json is not valid JSON: %s",
                   path, local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: meta.json is not an object", path);
      return NULL;
    }
  o = json_node_get_object (root);
  format = meta_string (o, "format");
  if (g_strcmp0 (format, "somscope-som") != 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a SOM file (format \"%s\")",
                   path, format ? format : "(none)");
      return NULL;
    }
  if (!meta_uint (o, "version", G_MAXUINT32, &version, TRUE, path, error))
    return NULL;
  if (version > SOM_MAP_FORMAT_VERSION)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "%s: SOM format version %u is newer than this Somscope knows (%d)",
                   path, (guint) version, SOM_MAP_FORMAT_VERSION);
      return NULL;
    }
  grid = grid_from_meta (o, path, error);
  if (grid == NULL)
    return NULL;
  codebook = som_npz_reader_read_array (r, "codebook", error);
  if (codebook == NULL)
    return NULL;
  if (codebook->ndim != 3 || codebook->shape[0] != som_grid_get_rows (grid)
      || codebook->shape[1] != som_grid_get_cols (grid) || codebook->shape[2] == 0
      || codebook->shape[2] > G_MAXUINT32)
    {
      g_autofree char *shape = som_array_shape_string (codebook);
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: codebook is %s, expected %u×%u×D", path, shape,
                   som_grid_get_rows (grid), som_grid_get_cols (grid));
      return NULL;
    }
  if (!meta_uint (o, "dim", G_MAXUINT32, &dim, FALSE, path, error))
    return NULL;
  if (dim != 0 && dim != codebook->shape[2])
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: meta.json says dim %u, the codebook has %zu",
                   path, (guint) dim, codebook->shape[2]);
      return NULL;
    }
  map = som_map_new (grid, (guint) codebook->shape[2], error);
  if (map == NULL)
    return NULL;
  {
    g_autoptr(SomArray) f = codebook->dtype == SOM_DTYPE_F32 ? NULL : som_array_to_f32 (codebook);
    const SomArray *src = f ? f : codebook;
    const float *w = src->data;

    for (gsize i = 0; i < som_array_n_elements (src); i++)
      if (!isfinite (w[i]))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_NONFINITE,
                       "%s: the codebook holds a non-finite value (unit %zu, feature %zu)", path,
                       i / codebook->shape[2], i % codebook->shape[2]);
          return NULL;
        }
    memcpy (som_map_get_codebook (map), src->data, som_array_n_bytes (src));
  }
  if (!apply_meta (map, o, path, error))
    return NULL;

  arrays = som_npz_reader_list_arrays (r);
  for (guint i = 0; arrays[i] != NULL; i++)
    {
      g_autoptr(SomArray) a = NULL;

      if (g_str_equal (arrays[i], "codebook"))
        continue;
      a = som_npz_reader_read_array (r, arrays[i], error);
      if (a == NULL)
        return NULL;
      if ((g_str_equal (arrays[i], "bmus") || g_str_equal (arrays[i], "bmus2") || g_str_equal (arrays[i], "labels"))
          && a->ndim == 1)
        {
          if (n_rows == G_MAXSIZE)
            n_rows = a->shape[0];
        }
      if (!check_array_shape (map, arrays[i], a, n_rows))
        {
          g_autofree char *shape = som_array_shape_string (a);
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: member %s has an unexpected shape or type (%s %s)",
                       path, arrays[i], som_dtype_name (a->dtype), shape);
          return NULL;
        }
      som_map_take_array (map, arrays[i], g_steal_pointer (&a));
    }
  if (!validate_features (map, path, error))
    return NULL;
  {
    const SomArray *bmus = som_map_get_array (map, "bmus");
    guint K = som_map_get_n_units (map);
    for (gsize i = 0; bmus != NULL && i < bmus->shape[0]; i++)
      if (((gint32 *) bmus->data)[i] >= (gint32) K)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: bmus[%zu] = %d is not a unit of the map",
                       path, i, ((gint32 *) bmus->data)[i]);
          return NULL;
        }
  }
  return g_steal_pointer (&map);
}

/* SOM_PAK .cod */

static void
append_float_list (GString *s, const SomArray *a)
{
  const float *f = a->data;

  g_string_append_c (s, '[');
  for (gsize i = 0; i < som_array_n_elements (a); i++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      if (i > 0)
        g_string_append_c (s, ',');
      if (isfinite (f[i]))
        g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.9g", f[i]));
      else
        g_string_append (s, "null");
    }
  g_string_append_c (s, ']');
}

gboolean
som_map_save_cod (SomMap *map, const char *path, GError **error)
{
  SomGrid *grid = som_map_get_grid (map);
  const SomTrainParams *p = som_map_get_params (map);
  g_autoptr(JsonNode) meta = som_map_meta_to_json (map);
  JsonObject *o = json_node_get_object (meta);
  g_autoptr(GList) members = json_object_get_members (o);
  GString *s = g_string_new (NULL);
  guint K = som_map_get_n_units (map), D = som_map_get_dim (map);
  const float *w = som_map_get_codebook (map);
  static const char *const extra[] = { "feature_mean", "feature_std", "qe_per_epoch", "te_per_epoch",
                                       "projection_mean", "projection" };
  gboolean ok;

  g_string_append_printf (s, "%u %s %u %u %s\n", D,
                          som_grid_get_topology (grid) == SOM_TOPOLOGY_HEX ? "hexa" : "rect",
                          som_grid_get_cols (grid), som_grid_get_rows (grid),
                          p->neighborhood == SOM_NEIGHBORHOOD_BUBBLE ? "bubble" : "gaussian");
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      JsonNode *n = json_object_get_member (o, key);

      /* The header says these. */
      if (g_str_equal (key, "rows") || g_str_equal (key, "cols") || g_str_equal (key, "dim")
          || g_str_equal (key, "topology"))
        continue;
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
        g_string_append_printf (s, "#somscope %s=%s\n", key, json_node_get_string (n));
      else
        {
          g_autofree char *text = json_to_string (n, FALSE);
          g_string_append_printf (s, "#somscope %s=%s\n", key, text);
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    {
      const SomArray *a = som_map_get_array (map, extra[i]);
      if (a == NULL)
        continue;
      g_string_append_printf (s, "#somscope %s=", extra[i]);
      append_float_list (s, a);
      g_string_append_c (s, '\n');
    }
  for (guint k = 0; k < K; k++)
    {
      for (guint j = 0; j < D; j++)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          if (j > 0)
            g_string_append_c (s, ' ');
          g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.9g", w[(gsize) k * D + j]));
        }
      g_string_append_c (s, '\n');
    }
  ok = som_file_set_contents_atomic (path, s->str, s->len, error);
  g_string_free (s, TRUE);
  return ok;
}

static SomArray *
float_list_from_json (JsonNode *n, gsize expected, const char *path, const char *key, GError **error)
{
  JsonArray *a;
  SomArray *out;

  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: #somscope %s is not a list", path, key);
      return NULL;
    }
  a = json_node_get_array (n);
  if (expected != 0 && json_array_get_length (a) != expected)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: #somscope %s has %u values, expected %zu",
                   path, key, json_array_get_length (a), expected);
      return NULL;
    }
  out = som_array_new_2d_f32 (1, json_array_get_length (a));
  out->ndim = 1;
  out->shape[0] = json_array_get_length (a);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      GType t = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : G_TYPE_INVALID;

      if (JSON_NODE_HOLDS_NULL (e))
        ((float *) out->data)[i] = NAN;
      else if (t == G_TYPE_DOUBLE || t == G_TYPE_INT64)
        ((float *) out->data)[i] = (float) (t == G_TYPE_DOUBLE ? json_node_get_double (e) : json_node_get_int (e));
      else
        {
          som_array_free (out);
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: #somscope %s holds a non-number", path, key);
          return NULL;
        }
    }
  return out;
}

SomMap *
som_map_parse_cod (const char *text, gsize len, const char *name, GError **error)
{
  g_autofree char *copy = g_strndup (text, len);
  g_auto(GStrv) lines = NULL;
  g_autoptr(JsonObject) meta = json_object_new ();
  g_autoptr(SomGrid) grid = NULL;
  g_autoptr(SomMap) map = NULL;
  g_autoptr(GError) local = NULL;
  guint line_no = 0, header_line = 0;
  guint64 dim = 0, xdim = 0, ydim = 0;
  SomTopology topology = SOM_TOPOLOGY_HEX;
  SomNeighborhood neighborhood = SOM_NEIGHBORHOOD_GAUSSIAN;
  gsize unit = 0, K = 0;
  float *w = NULL;
  gboolean have_header = FALSE;

  if (strlen (copy) != len)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a text file (NUL byte)", name);
      return NULL;
    }
  lines = g_strsplit (copy, "\n", -1);

  /* First pass: the header and the #somscope lines (they may come anywhere
   * before the codebook, but we accept them anywhere). */
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (g_str_has_prefix (line, "#somscope "))
        {
          char *kv = line + strlen ("#somscope ");
          char *eq = strchr (kv, '=');
          g_autoptr(JsonParser) p = json_parser_new ();

          if (eq == NULL)
            continue;
          *eq = '\0';
          if (json_parser_load_from_data (p, eq + 1, -1, NULL) && json_parser_get_root (p) != NULL)
            json_object_set_member (meta, kv, json_node_copy (json_parser_get_root (p)));
          else
            json_object_set_string_member (meta, kv, eq + 1);
          line[0] = '#';  /* consumed */
          continue;
        }
    }

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = lines[i];

      line_no = i + 1;
      if (line[0] == '\0' || line[0] == '#')
        continue;
      if (!have_header)
        {
          g_auto(GStrv) tok = g_strsplit_set (line, " \t", -1);
          char *fields[5] = { NULL };
          guint nf = 0;
          char *end;

          for (guint t = 0; tok[t] != NULL && nf < 5; t++)
            if (tok[t][0] != '\0')
              fields[nf++] = tok[t];
          if (nf < 4)
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                           "%s: line %u: expected a header \"DIM hexa|rect XDIM YDIM [gaussian|bubble]\"",
                           name, line_no);
              return NULL;
            }
          dim = g_ascii_strtoull (fields[0], &end, 10);
          if (*end != '\0' || dim == 0 || dim > (1u << 24))
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: line %u: bad dimension \"%s\"",
                           name, line_no, fields[0]);
              return NULL;
            }
          if (g_str_equal (fields[1], "hexa"))
            topology = SOM_TOPOLOGY_HEX;
          else if (g_str_equal (fields[1], "rect"))
            topology = SOM_TOPOLOGY_RECT;
          else
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: line %u: unknown topology \"%s\"",
                           name, line_no, fields[1]);
              return NULL;
            }
          xdim = g_ascii_strtoull (fields[2], &end, 10);
          if (*end != '\0')
            xdim = 0;
          ydim = g_ascii_strtoull (fields[3], &end, 10);
          if (*end != '\0')
            ydim = 0;
          if (xdim == 0 || ydim == 0 || xdim > SOM_GRID_MAX_SIDE || ydim > SOM_GRID_MAX_SIDE)
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: line %u: bad map size \"%s %s\"",
                           name, line_no, fields[2], fields[3]);
              return NULL;
            }
          if (nf >= 5 && g_str_equal (fields[4], "bubble"))
            neighborhood = SOM_NEIGHBORHOOD_BUBBLE;
          else if (nf >= 5 && !g_str_equal (fields[4], "gaussian"))
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: line %u: unknown neighbourhood \"%s\"",
                           name, line_no, fields[4]);
              return NULL;
            }
          if (dim * xdim * ydim * 4 > som_memory_budget ())
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: a %u×%u×%u codebook exceeds the memory budget",
                           name, (guint) ydim, (guint) xdim, (guint) dim);
              return NULL;
            }
          /* Every value takes a digit and a separator: a short file cannot
           * hold the codebook it declares (refused before allocating it). */
          if (dim * xdim * ydim * 2 > (guint64) len + 1)
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                           "%s: line %u: declares a %u×%u×%u codebook, more values than the file's %"
                           G_GSIZE_FORMAT " bytes can hold", name, line_no, (guint) ydim, (guint) xdim,
                           (guint) dim, len);
              return NULL;
            }
          grid = som_grid_new ((guint) ydim, (guint) xdim, topology,
                               meta_bool (meta, "toroidal", FALSE), &local);
          if (grid == NULL)
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s", name, local->message);
              return NULL;
            }
          map = som_map_new (grid, (guint) dim, error);
          if (map == NULL)
            return NULL;
          {
            SomTrainParams p = *som_map_get_params (map);
            p.neighborhood = neighborhood;
            som_map_set_params (map, &p);
          }
          w = som_map_get_codebook (map);
          K = som_grid_get_n_units (grid);
          have_header = TRUE;
          continue;
        }

      if (unit >= K)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                       "%s: line %u: more codebook lines than the %zu units of the map", name, line_no, K);
          return NULL;
        }
      {
        char *p = line;
        for (guint j = 0; j < dim; j++)
          {
            char *end;
            double v;

            while (*p == ' ' || *p == '\t' || *p == '\r')
              p++;
            v = g_ascii_strtod (p, &end);
            if (end == p)
              {
                g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                             "%s: line %u: expected %u numbers, found %u", name, line_no, (guint) dim, j);
                return NULL;
              }
            w[unit * dim + j] = (float) v;
            if (!isfinite (w[unit * dim + j]))
              {
                g_set_error (error, SOM_ERROR, SOM_ERROR_NONFINITE,
                             "%s: line %u: value %u is %s, a codebook must be finite", name, line_no, j + 1,
                             isnan (v) ? "NaN" : isinf (v) ? "infinite" : "beyond float32's range");
                return NULL;
              }
            p = end;
          }
        /* Anything after the numbers is a SOM_PAK label: ignored. */
      }
      unit++;
    }
  if (!have_header)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: no header line (empty file?)", name);
      return NULL;
    }
  if (unit != K)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %zu codebook lines, the %u×%u map needs %zu",
                   name, unit, (guint) ydim, (guint) xdim, K);
      return NULL;
    }
  (void) header_line;
  if (!apply_meta (map, meta, name, error))
    return NULL;
  {
    static const char *const extra[] = { "feature_mean", "feature_std", "qe_per_epoch", "te_per_epoch",
                                         "projection_mean", "projection" };
    for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
      {
        JsonNode *n = json_object_get_member (meta, extra[i]);
        SomArray *a;
        if (n == NULL)
          continue;
        a = float_list_from_json (n, 0, name, extra[i], error);
        if (a == NULL)
          return NULL;
        if (g_str_equal (extra[i], "projection"))
          {
            /* Stored flat: D_in rows of the map's dimension. */
            if (a->shape[0] == 0 || a->shape[0] % dim != 0)
              {
                g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                             "%s: #somscope projection has %zu values, not a multiple of %u",
                             name, a->shape[0], (guint) dim);
                som_array_free (a);
                return NULL;
              }
            a->ndim = 2;
            a->shape[1] = dim;
            a->shape[0] /= dim;
          }
        som_map_take_array (map, extra[i], a);
      }
  }
  if (!validate_features (map, name, error))
    return NULL;
  return g_steal_pointer (&map);
}

SomMap *
som_map_load_cod (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s", local->message);
      return NULL;
    }
  return som_map_parse_cod (text, len, path, error);
}

SomMap *
som_map_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  if (g_str_has_suffix (path, ".cod") || g_str_has_suffix (path, ".COD"))
    return som_map_load_cod (path, error);
  return som_map_load_npz (path, error);
}

gboolean
som_map_save (SomMap *map, const char *path, gboolean compress, GError **error)
{
  if (g_str_has_suffix (path, ".cod"))
    return som_map_save_cod (map, path, error);
  if (g_str_has_suffix (path, ".npz"))
    return som_map_save_npz (map, path, compress, error);
  g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: unknown map format (use .npz or .cod)", path);
  return FALSE;
}

SomMap *
som_map_new_from_meta (JsonNode *meta, const SomArray *codebook, const char *name, GError **error)
{
  g_autoptr(SomGrid) grid = NULL;
  g_autoptr(SomMap) map = NULL;
  g_autoptr(SomArray) f = NULL;
  JsonObject *o;
  guint64 dim = 0;

  g_return_val_if_fail (codebook != NULL && name != NULL, NULL);
  if (meta == NULL || !JSON_NODE_HOLDS_OBJECT (meta))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: the map's settings are not a JSON object", name);
      return NULL;
    }
  o = json_node_get_object (meta);
  grid = grid_from_meta (o, name, error);
  if (grid == NULL)
    return NULL;
  if (codebook->ndim != 3 || codebook->shape[0] != som_grid_get_rows (grid)
      || codebook->shape[1] != som_grid_get_cols (grid) || codebook->shape[2] == 0
      || codebook->shape[2] > G_MAXUINT32)
    {
      g_autofree char *shape = som_array_shape_string (codebook);
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: codebook is %s, expected %u×%u×D", name, shape,
                   som_grid_get_rows (grid), som_grid_get_cols (grid));
      return NULL;
    }
  if (!meta_uint (o, "dim", G_MAXUINT32, &dim, FALSE, name, error))
    return NULL;
  if (dim != 0 && dim != codebook->shape[2])
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: the settings say dim %u, the codebook has %zu",
                   name, (guint) dim, codebook->shape[2]);
      return NULL;
    }
  map = som_map_new (grid, (guint) codebook->shape[2], error);
  if (map == NULL)
    return NULL;
  if (codebook->dtype != SOM_DTYPE_F32)
    f = som_array_to_f32 (codebook);
  memcpy (som_map_get_codebook (map), (f ? f : codebook)->data, som_array_n_bytes (f ? f : codebook));
  if (!apply_meta (map, o, name, error))
    return NULL;
  return g_steal_pointer (&map);
}
