/* som-session-export.c: a session's arrays and metrics as .npy, .csv and .cod
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "som-io.h"
#include "som-map-file.h"
#include "som-session-private.h"
#include "som-types.h"

/* --- CSV helpers ------------------------------------------------------- */

static void
csv_string (GString *out, const char *s)
{
  if (strpbrk (s, ",\"\n\r") == NULL)
    {
      g_string_append (out, s);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = s; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
csv_double (GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (v))
    g_string_append (out, "nan");
  else if (isinf (v))
    g_string_append (out, v > 0 ? "inf" : "-inf");
  else
    g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.9g", v));
}

/* A JSON scalar as a CSV cell: numbers as numbers, booleans as 0/1, null and
 * anything else empty. */
static void
csv_json_value (GString *out, JsonNode *n)
{
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return;
  switch (json_node_get_value_type (n))
    {
    case G_TYPE_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (n));
      break;
    case G_TYPE_DOUBLE:
      csv_double (out, json_node_get_double (n));
      break;
    case G_TYPE_BOOLEAN:
      g_string_append_c (out, json_node_get_boolean (n) ? '1' : '0');
      break;
    case G_TYPE_STRING:
      csv_string (out, json_node_get_string (n));
      break;
    default:
      break;
    }
}

static gboolean
is_scalar (JsonNode *n)
{
  return JSON_NODE_HOLDS_NULL (n) ||
         (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) != G_TYPE_STRING);
}

/* --- metrics table ----------------------------------------------------- */

static const char *metric_groups[] = { "clean", "adversarial", "trajectory" };
static const char *fixed_columns[] = { "index", "name", "op", "depth", "dim" };

/* The columns of the metrics CSV in first-seen order: the fixed ones, then
 * <group>_<metric> for every scalar metric of any layer. */
static GPtrArray *
metric_columns (JsonArray *layers)
{
  GPtrArray *cols = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < G_N_ELEMENTS (fixed_columns); i++)
    g_ptr_array_add (cols, g_strdup (fixed_columns[i]));
  for (guint g = 0; g < G_N_ELEMENTS (metric_groups); g++)
    for (guint i = 0; i < json_array_get_length (layers); i++)
      {
        JsonNode *ln = json_array_get_element (layers, i);
        JsonNode *gn;
        g_autoptr(GList) keys = NULL;

        if (!JSON_NODE_HOLDS_OBJECT (ln))
          continue;
        gn = json_object_get_member (json_node_get_object (ln), metric_groups[g]);
        if (gn == NULL || !JSON_NODE_HOLDS_OBJECT (gn))
          continue;
        /* json_object_get_members keeps the file's order. */
        keys = json_object_get_members (json_node_get_object (gn));
        for (GList *k = keys; k; k = k->next)
          {
            const char *key = k->data;
            JsonNode *value = json_object_get_member (json_node_get_object (gn), key);
            char *col;

            if (!is_scalar (value))
              continue;
            col = g_strdup_printf ("%s_%s", metric_groups[g], key);
            if (g_hash_table_contains (seen, col))
              {
                g_free (col);
                continue;
              }
            g_ptr_array_add (cols, col);
            g_hash_table_add (seen, col);
          }
      }
  return cols;
}

/* The cell of @column for layer object @lo (borrowed), or NULL. */
static JsonNode *
metric_cell (JsonObject *lo, const char *column)
{
  for (guint g = 0; g < G_N_ELEMENTS (metric_groups); g++)
    {
      gsize gl = strlen (metric_groups[g]);
      JsonNode *gn;

      if (strncmp (column, metric_groups[g], gl) != 0 || column[gl] != '_')
        continue;
      gn = json_object_get_member (lo, metric_groups[g]);
      if (gn != NULL && JSON_NODE_HOLDS_OBJECT (gn))
        {
          JsonNode *v = json_object_get_member (json_node_get_object (gn), column + gl + 1);
          if (v != NULL)
            return v;
        }
    }
  return json_object_get_member (lo, column);
}

static JsonArray *
metrics_layers (JsonNode *metrics, GError **error)
{
  JsonNode *ln;

  if (metrics == NULL || !JSON_NODE_HOLDS_OBJECT (metrics) ||
      (ln = json_object_get_member (json_node_get_object (metrics), "layers")) == NULL ||
      !JSON_NODE_HOLDS_ARRAY (ln))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "metrics: no \"layers\" array (not a metrics.json)");
      return NULL;
    }
  return json_node_get_array (ln);
}

char *
som_metrics_to_csv (JsonNode *metrics, GError **error)
{
  JsonArray *layers = metrics_layers (metrics, error);
  g_autoptr(GPtrArray) cols = NULL;
  GString *out;

  if (layers == NULL)
    return NULL;
  cols = metric_columns (layers);
  out = g_string_new (NULL);
  for (guint c = 0; c < cols->len; c++)
    {
      if (c)
        g_string_append_c (out, ',');
      csv_string (out, g_ptr_array_index (cols, c));
    }
  g_string_append_c (out, '\n');
  for (guint i = 0; i < json_array_get_length (layers); i++)
    {
      JsonNode *ln = json_array_get_element (layers, i);

      if (!JSON_NODE_HOLDS_OBJECT (ln))
        continue;
      for (guint c = 0; c < cols->len; c++)
        {
          if (c)
            g_string_append_c (out, ',');
          csv_json_value (out, metric_cell (json_node_get_object (ln), g_ptr_array_index (cols, c)));
        }
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

/* metrics.npy: layers × numeric columns (float64, NaN for null or missing);
 * the column names go to metrics-columns.txt, one a line. */
static SomArray *
metrics_to_array (JsonNode *metrics, GPtrArray **names_out, GError **error)
{
  JsonArray *layers = metrics_layers (metrics, error);
  g_autoptr(GPtrArray) cols = NULL;
  GPtrArray *numeric;
  SomArray *a;
  guint nl;

  if (layers == NULL)
    return NULL;
  cols = metric_columns (layers);
  numeric = g_ptr_array_new_with_free_func (g_free);
  for (guint c = 0; c < cols->len; c++)
    if (!g_str_equal (g_ptr_array_index (cols, c), "name") && !g_str_equal (g_ptr_array_index (cols, c), "op"))
      g_ptr_array_add (numeric, g_strdup (g_ptr_array_index (cols, c)));
  nl = json_array_get_length (layers);
  a = som_array_new (SOM_DTYPE_F64, 2, (gsize[]) { nl, numeric->len }, error);
  if (a == NULL)
    {
      g_ptr_array_unref (numeric);
      return NULL;
    }
  for (guint i = 0; i < nl; i++)
    for (guint c = 0; c < numeric->len; c++)
      {
        JsonNode *ln = json_array_get_element (layers, i);
        JsonNode *v = JSON_NODE_HOLDS_OBJECT (ln) ? metric_cell (json_node_get_object (ln),
                                                                 g_ptr_array_index (numeric, c)) : NULL;
        double d = NAN;

        if (v != NULL && JSON_NODE_HOLDS_VALUE (v))
          switch (json_node_get_value_type (v))
            {
            case G_TYPE_INT64: d = json_node_get_int (v); break;
            case G_TYPE_DOUBLE: d = json_node_get_double (v); break;
            case G_TYPE_BOOLEAN: d = json_node_get_boolean (v); break;
            default: break;
            }
        ((double *) a->data)[(gsize) i * numeric->len + c] = d;
      }
  *names_out = numeric;
  return a;
}

/* --- files ------------------------------------------------------------- */

static gboolean
write_text (GPtrArray *written, const char *dir, const char *name, const char *text, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (!som_file_set_contents_atomic (path, text, strlen (text), error))
    return FALSE;
  g_ptr_array_add (written, g_steal_pointer (&path));
  return TRUE;
}

static gboolean
write_npy (GPtrArray *written, const char *dir, const char *name, const SomArray *a, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (!som_npy_save (path, a, error))
    return FALSE;
  g_ptr_array_add (written, g_steal_pointer (&path));
  return TRUE;
}

/* A 2-D (or R×C×D, flattened to R·C rows) float32 matrix as CSV. */
static char *
matrix_csv (const SomArray *a, const char *first_columns, guint cols_in_grid, const char *col_prefix)
{
  GString *out = g_string_new (NULL);
  gsize rows = a->shape[0] * (a->ndim == 3 ? a->shape[1] : 1);
  gsize d = a->shape[a->ndim - 1];
  const float *v = a->data;

  if (first_columns)
    g_string_append (out, first_columns);
  for (gsize j = 0; j < d; j++)
    g_string_append_printf (out, "%s%s%" G_GSIZE_FORMAT, (j || first_columns) ? "," : "", col_prefix, j);
  g_string_append_c (out, '\n');
  for (gsize i = 0; i < rows; i++)
    {
      if (first_columns)
        g_string_append_printf (out, "%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT, i,
                                i / cols_in_grid, i % cols_in_grid);
      for (gsize j = 0; j < d; j++)
        {
          if (j || first_columns)
            g_string_append_c (out, ',');
          csv_double (out, v[i * d + j]);
        }
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static gboolean
export_codebooks (SomSession *self, SomExportFormat format, const char *dir, GPtrArray *written, GError **error)
{
  gboolean any = FALSE;

  for (guint p = 0; p < som_session_get_n_layers (self); p++)
    {
      const SomArray *cb = som_session_get_layer_array (self, p, SOM_LAYER_CODEBOOK);
      g_autofree char *prefix = som_session_layer_member_prefix (som_session_get_layer_index (self, p));
      g_autofree char *name = NULL;

      if (cb == NULL)
        continue;
      any = TRUE;
      if (format == SOM_EXPORT_NPY)
        {
          name = g_strconcat (prefix, "_codebook.npy", NULL);
          if (!write_npy (written, dir, name, cb, error))
            return FALSE;
        }
      else if (format == SOM_EXPORT_CSV)
        {
          g_autofree char *text = matrix_csv (cb, "unit,row,col", cb->shape[1], "w");
          name = g_strconcat (prefix, "_codebook.csv", NULL);
          if (!write_text (written, dir, name, text, error))
            return FALSE;
        }
      else
        {
          g_autofree char *path = NULL;

          name = g_strconcat (prefix, ".cod", NULL);
          path = g_build_filename (dir, name, NULL);
          if (!_som_session_save_layer_cod (self, p, path, error))
            return FALSE;
          g_ptr_array_add (written, g_steal_pointer (&path));
        }
    }
  if (!any)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: no layer has a map yet",
                   som_session_get_path (self) ? som_session_get_path (self) : "session");
      return FALSE;
    }
  return TRUE;
}

static gboolean
export_bmus (SomSession *self, SomExportFormat format, const char *dir, GPtrArray *written, GError **error)
{
  static const SomLayerArray kinds[] = { SOM_LAYER_BMUS, SOM_LAYER_BMUS_ADVERSARIAL };
  const SomArray *labels = som_session_get_array (self, SOM_SESSION_LABELS);
  const SomArray *split = som_session_get_array (self, SOM_SESSION_SPLIT);
  g_autoptr(GPtrArray) columns = g_ptr_array_new ();  /* const SomArray* */
  GString *head;
  g_autoptr(GString) out = NULL;
  gsize n = som_session_get_n_inputs (self);

  head = g_string_new ("input");
  if (labels)
    g_string_append (head, ",label");
  if (split)
    g_string_append (head, ",split");
  for (guint p = 0; p < som_session_get_n_layers (self); p++)
    for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
      {
        const SomArray *a = som_session_get_layer_array (self, p, kinds[k]);
        g_autofree char *prefix = som_session_layer_member_prefix (som_session_get_layer_index (self, p));

        if (a == NULL)
          continue;
        if (format == SOM_EXPORT_NPY)
          {
            g_autofree char *name = g_strdup_printf ("%s_%s.npy", prefix, som_session_layer_array_name (kinds[k]));
            if (!write_npy (written, dir, name, a, error))
              {
                g_string_free (head, TRUE);
                return FALSE;
              }
          }
        g_string_append_printf (head, ",%s%s", prefix, kinds[k] == SOM_LAYER_BMUS ? "" : "_adversarial");
        g_ptr_array_add (columns, (gpointer) a);
      }
  if (columns->len == 0)
    {
      g_string_free (head, TRUE);
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: no layer has BMUs yet",
                   som_session_get_path (self) ? som_session_get_path (self) : "session");
      return FALSE;
    }
  if (format == SOM_EXPORT_NPY)
    {
      g_string_free (head, TRUE);
      return TRUE;
    }
  out = g_string_new (NULL);
  g_string_append (out, head->str);
  g_string_append_c (out, '\n');
  g_string_free (head, TRUE);
  for (gsize i = 0; i < n; i++)
    {
      g_string_append_printf (out, "%" G_GSIZE_FORMAT, i);
      if (labels)
        g_string_append_printf (out, ",%d", ((gint32 *) labels->data)[i]);
      if (split)
        g_string_append_printf (out, ",%u", ((guint8 *) split->data)[i]);
      for (guint c = 0; c < columns->len; c++)
        g_string_append_printf (out, ",%d", ((gint32 *) ((const SomArray *) g_ptr_array_index (columns, c))->data)[i]);
      g_string_append_c (out, '\n');
    }
  return write_text (written, dir, "bmus.csv", out->str, error);
}

static gboolean
export_activations (SomSession *self, SomExportFormat format, const char *dir, GPtrArray *written, GError **error)
{
  static const SomLayerArray kinds[] = { SOM_LAYER_CODES, SOM_LAYER_CODES_ADVERSARIAL };
  gboolean any = FALSE;

  for (guint p = 0; p < som_session_get_n_layers (self); p++)
    for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
      {
        const SomArray *a = som_session_get_layer_array (self, p, kinds[k]);
        g_autofree char *prefix = som_session_layer_member_prefix (som_session_get_layer_index (self, p));
        g_autofree char *name = NULL;

        if (a == NULL)
          continue;
        any = TRUE;
        name = g_strdup_printf ("%s_%s.%s", prefix, som_session_layer_array_name (kinds[k]),
                                format == SOM_EXPORT_NPY ? "npy" : "csv");
        if (format == SOM_EXPORT_NPY)
          {
            if (!write_npy (written, dir, name, a, error))
              return FALSE;
          }
        else
          {
            g_autofree char *text = matrix_csv (a, NULL, 1, "d");
            if (!write_text (written, dir, name, text, error))
              return FALSE;
          }
      }
  if (!any)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the session holds no activation codes",
                   som_session_get_path (self) ? som_session_get_path (self) : "session");
      return FALSE;
    }
  return TRUE;
}

static gboolean
export_metrics (SomSession *self, SomExportFormat format, const char *dir, GPtrArray *written, GError **error)
{
  JsonNode *metrics = som_session_get_metrics (self);

  if (metrics == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the session holds no metrics",
                   som_session_get_path (self) ? som_session_get_path (self) : "session");
      return FALSE;
    }
  if (format == SOM_EXPORT_CSV)
    {
      g_autofree char *text = som_metrics_to_csv (metrics, error);
      return text != NULL && write_text (written, dir, "metrics.csv", text, error);
    }
  else
    {
      GPtrArray *names = NULL;
      g_autoptr(SomArray) a = metrics_to_array (metrics, &names, error);
      GString *text;
      gboolean ok;

      if (a == NULL)
        return FALSE;
      text = g_string_new (NULL);
      for (guint c = 0; c < names->len; c++)
        g_string_append_printf (text, "%s\n", (char *) g_ptr_array_index (names, c));
      g_ptr_array_unref (names);
      ok = write_npy (written, dir, "metrics.npy", a, error) &&
           write_text (written, dir, "metrics-columns.txt", text->str, error);
      g_string_free (text, TRUE);
      return ok;
    }
}

char **
som_session_export (SomSession     *self,
                    SomExportWhat   what,
                    SomExportFormat format,
                    const char     *dir,
                    GError        **error)
{
  g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = FALSE;

  g_return_val_if_fail (SOM_IS_SESSION (self), NULL);
  g_return_val_if_fail (dir != NULL, NULL);

  if (format == SOM_EXPORT_COD && what != SOM_EXPORT_CODEBOOKS)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: only codebooks export as SOM_PAK .cod", dir);
      return NULL;
    }
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot create: %s", dir, g_strerror (saved));
      return NULL;
    }
  switch (what)
    {
    case SOM_EXPORT_CODEBOOKS:
      ok = export_codebooks (self, format, dir, written, error);
      break;
    case SOM_EXPORT_BMUS:
      ok = export_bmus (self, format, dir, written, error);
      break;
    case SOM_EXPORT_METRICS:
      ok = export_metrics (self, format, dir, written, error);
      break;
    case SOM_EXPORT_ACTIVATIONS:
      ok = export_activations (self, format, dir, written, error);
      break;
    default:
      g_return_val_if_reached (NULL);
    }
  if (!ok)
    return NULL;
  g_ptr_array_add (written, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&written), FALSE);
}

gboolean
_som_session_save_layer_cod (SomSession *self, guint position, const char *path, GError **error)
{
  g_autoptr(SomMap) map = som_session_get_layer_map (self, position, error);

  return map != NULL && som_map_save_cod (map, path, error);
}
