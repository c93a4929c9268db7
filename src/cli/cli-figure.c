/* cli-figure.c: somscope-cli figure: draw a view of a map as PNG, SVG or PDF
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cli-commands.h"

/* One layer's map as read from a SOM.npz (or, later, a session layer). */
typedef struct
{
  char      *name;
  SomGrid   *grid;
  SomArray  *codebook;   /* R×C×D f32 */
  SomArray  *hits;       /* R×C i32 */
  SomArray  *umatrix;    /* R×C f32 */
  SomArray  *class_hits; /* K×R×C i32 */
  SomArray  *feature_mean;
  SomArray  *feature_std;
  char     **class_names; /* K entries or NULL */
  float     *response;   /* filled for --view response */
  int        response_bmu;
  /* Sessions only, borrowed from the SomSession */
  const SomArray *bmus;
  const SomArray *bmus_adversarial;
  const SomArray *codes;
} FigureLayer;

static void
figure_layer_clear (FigureLayer *l)
{
  g_clear_pointer (&l->name, g_free);
  g_clear_pointer (&l->grid, som_grid_unref);
  g_clear_pointer (&l->codebook, som_array_free);
  g_clear_pointer (&l->hits, som_array_free);
  g_clear_pointer (&l->umatrix, som_array_free);
  g_clear_pointer (&l->class_hits, som_array_free);
  g_clear_pointer (&l->feature_mean, som_array_free);
  g_clear_pointer (&l->feature_std, som_array_free);
  g_clear_pointer (&l->class_names, g_strfreev);
  g_clear_pointer (&l->response, g_free);
}

static SomArray *
read_optional (SomNpzReader *reader, const char *name, gboolean as_int, GError **error)
{
  g_autoptr(SomArray) a = NULL;

  if (!som_npz_reader_has_array (reader, name))
    return NULL;
  a = som_npz_reader_read_array (reader, name, error);
  if (a == NULL)
    return NULL;
  return as_int ? som_array_to_i32 (a, error) : som_array_to_f32 (a);
}

static gboolean
check_shape (const char *path, const char *member, const SomArray *a, guint ndim,
             const gsize *want, GError **error)
{
  g_autofree char *got = NULL;

  if (a == NULL)
    return TRUE;
  if (a->ndim == ndim)
    {
      gboolean same = TRUE;

      for (guint i = 0; i < ndim; i++)
        if (want[i] != 0 && a->shape[i] != want[i])
          same = FALSE;
      if (same)
        return TRUE;
    }
  got = som_array_shape_string (a);
  g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
               "%s: member '%s' has shape %s, which disagrees with the map's grid in meta.json",
               path, member, got);
  return FALSE;
}

/* Reads a SOM.npz as train-som writes it (contracts.md section 3, SOM). */
static gboolean
load_som_npz (const char *path, FigureLayer *layer, GError **error)
{
  g_autoptr(SomNpzReader) reader = NULL;
  g_autoptr(GBytes) meta_bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  JsonObject *meta;
  const char *topology_name;
  SomTopology topology;
  gint64 rows, cols;
  gsize shape[3];

  reader = som_npz_reader_open (path, error);
  if (reader == NULL)
    return FALSE;
  if (!som_npz_reader_has_member (reader, "meta.json"))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: not a Somscope map: no meta.json member", path);
      return FALSE;
    }
  meta_bytes = som_npz_reader_read_member (reader, "meta.json", error);
  if (meta_bytes == NULL)
    return FALSE;
  if (!json_parser_load_from_data (parser, g_bytes_get_data (meta_bytes, NULL),
                                   g_bytes_get_size (meta_bytes), &local) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: meta.json is not a JSON object%s%s",
                   path, local ? ": " : "", local ? local->message : "");
      return FALSE;
    }
  meta = json_node_get_object (json_parser_get_root (parser));
  rows = json_object_get_int_member_with_default (meta, "rows", 0);
  cols = json_object_get_int_member_with_default (meta, "cols", 0);
  topology_name = json_object_get_string_member_with_default (meta, "topology", "hex");
  if (!som_topology_from_string (topology_name, &topology))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: meta.json: unknown topology '%s'",
                   path, topology_name);
      return FALSE;
    }
  if (rows <= 0 || cols <= 0 || rows > SOM_GRID_MAX_SIDE || cols > SOM_GRID_MAX_SIDE)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: meta.json: rows and cols must be in 1…%d (got %" G_GINT64_FORMAT
                   " × %" G_GINT64_FORMAT ")", path, SOM_GRID_MAX_SIDE, rows, cols);
      return FALSE;
    }
  layer->grid = som_grid_new (rows, cols, topology,
                              json_object_get_boolean_member_with_default (meta, "toroidal", FALSE),
                              &local);
  if (layer->grid == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: meta.json: %s", path, local->message);
      return FALSE;
    }

  if (!(layer->codebook = read_optional (reader, "codebook", FALSE, &local)) && local)
    goto fail;
  if (!(layer->hits = read_optional (reader, "hits", TRUE, &local)) && local)
    goto fail;
  if (!(layer->umatrix = read_optional (reader, "umatrix", FALSE, &local)) && local)
    goto fail;
  if (!(layer->class_hits = read_optional (reader, "class_hits", TRUE, &local)) && local)
    goto fail;
  if (!(layer->feature_mean = read_optional (reader, "feature_mean", FALSE, &local)) && local)
    goto fail;
  if (!(layer->feature_std = read_optional (reader, "feature_std", FALSE, &local)) && local)
    goto fail;

  shape[0] = rows;
  shape[1] = cols;
  shape[2] = 0;
  if (!check_shape (path, "codebook", layer->codebook, 3, shape, error) ||
      !check_shape (path, "hits", layer->hits, 2, shape, error) ||
      !check_shape (path, "umatrix", layer->umatrix, 2, shape, error))
    return FALSE;
  shape[0] = 0;
  shape[1] = rows;
  shape[2] = cols;
  if (!check_shape (path, "class_hits", layer->class_hits, 3, shape, error))
    return FALSE;
  if (layer->codebook != NULL)
    {
      gsize dim = layer->codebook->shape[2];
      gsize want[1] = { dim };

      if (dim == 0)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: the codebook has no features",
                       path);
          return FALSE;
        }
      if (!check_shape (path, "feature_mean", layer->feature_mean, 1, want, error) ||
          !check_shape (path, "feature_std", layer->feature_std, 1, want, error))
        return FALSE;
    }

  if (layer->class_hits != NULL && json_object_has_member (meta, "class_names") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (meta, "class_names")))
    {
      JsonArray *names = json_object_get_array_member (meta, "class_names");
      guint K = layer->class_hits->shape[0];

      if (json_array_get_length (names) == K)
        {
          layer->class_names = g_new0 (char *, K + 1);
          for (guint j = 0; j < K; j++)
            {
              JsonNode *node = json_array_get_element (names, j);

              layer->class_names[j] = g_strdup (JSON_NODE_HOLDS_VALUE (node) &&
                                                json_node_get_value_type (node) == G_TYPE_STRING
                                                ? json_node_get_string (node) : "?");
            }
        }
    }
  layer->name = g_path_get_basename (path);
  layer->response_bmu = -1;
  return TRUE;

fail:
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

/* A session layer's map as a FigureLayer: the grid from the layer's SOM
 * meta, its arrays, and class hits counted from the session's labels and the
 * layer's BMUs (all inputs). */
static gboolean
session_layer_load (SomSession *session, guint pos, FigureLayer *layer, GError **error)
{
  const char *path = som_session_get_path (session);
  const char *name = som_session_get_layer_name (session, pos);
  JsonNode *som = som_session_get_layer_som (session, pos);
  const SomArray *labels = som_session_get_array (session, SOM_SESSION_LABELS);
  g_autoptr(GError) local = NULL;
  JsonObject *meta;
  SomTopology topology;

  if (som == NULL || !JSON_NODE_HOLDS_OBJECT (som))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: layer %s has no map yet", path, name);
      return FALSE;
    }
  meta = json_node_get_object (som);
  if (!som_topology_from_string (json_object_get_string_member_with_default (meta, "topology", "hex"),
                                 &topology))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: layer %s: unknown topology", path, name);
      return FALSE;
    }
  layer->grid = som_grid_new (som_session_get_layer_rows (session, pos),
                              som_session_get_layer_cols (session, pos), topology,
                              json_object_get_boolean_member_with_default (meta, "toroidal", FALSE),
                              &local);
  if (layer->grid == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: layer %s: %s", path, name, local->message);
      return FALSE;
    }
  layer->name = som_layer_short_name (name, som_session_get_layer_op (session, pos));
  layer->response_bmu = -1;
#define COPY(member, which) \
  if (som_session_get_layer_array (session, pos, which) != NULL) \
    layer->member = som_array_copy (som_session_get_layer_array (session, pos, which))
  COPY (codebook, SOM_LAYER_CODEBOOK);
  COPY (hits, SOM_LAYER_HITS);
  COPY (umatrix, SOM_LAYER_UMATRIX);
#undef COPY
  layer->bmus = som_session_get_layer_array (session, pos, SOM_LAYER_BMUS);
  layer->bmus_adversarial = som_session_get_layer_array (session, pos, SOM_LAYER_BMUS_ADVERSARIAL);
  layer->codes = som_session_get_layer_array (session, pos, SOM_LAYER_CODES);

  if (labels != NULL && layer->bmus != NULL && som_array_n_elements (labels) == som_array_n_elements (layer->bmus))
    {
      const gint32 *y = labels->data, *b = layer->bmus->data;
      gsize n = som_array_n_elements (labels), units = som_grid_get_n_units (layer->grid);
      gint32 K = 0;
      gsize shape[3];

      for (gsize i = 0; i < n; i++)
        K = MAX (K, y[i] + 1);
      if (K > 0 && K <= 10000)
        {
          gint32 *ch;

          shape[0] = K;
          shape[1] = som_grid_get_rows (layer->grid);
          shape[2] = som_grid_get_cols (layer->grid);
          layer->class_hits = som_array_new (SOM_DTYPE_I32, 3, shape, NULL);
          ch = layer->class_hits->data;
          memset (ch, 0, som_array_n_bytes (layer->class_hits));
          for (gsize i = 0; i < n; i++)
            if (y[i] >= 0 && b[i] >= 0 && (gsize) b[i] < units)
              ch[(gsize) y[i] * units + b[i]]++;
          if (json_object_has_member (meta, "class_names") &&
              JSON_NODE_HOLDS_ARRAY (json_object_get_member (meta, "class_names")))
            {
              JsonArray *names = json_object_get_array_member (meta, "class_names");

              if (json_array_get_length (names) >= (guint) K)
                {
                  layer->class_names = g_new0 (char *, K + 1);
                  for (gint32 j = 0; j < K; j++)
                    {
                      JsonNode *node = json_array_get_element (names, j);

                      layer->class_names[j] = g_strdup (JSON_NODE_HOLDS_VALUE (node) &&
                                                        json_node_get_value_type (node) == G_TYPE_STRING
                                                        ? json_node_get_string (node) : "?");
                    }
                }
            }
        }
    }
  return TRUE;
}

/* The session layer --layer names: its ONNX value name or its index. */
static int
session_find_layer (SomSession *session, const char *layer_name)
{
  guint n = som_session_get_n_layers (session);
  char *end = NULL;
  gint64 index;

  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (som_session_get_layer_name (session, i), layer_name) == 0)
      return (int) i;
  index = g_ascii_strtoll (layer_name, &end, 10);
  if (end != layer_name && *end == '\0')
    return som_session_find_layer (session, index);
  return -1;
}

/* Session files (.somscope): one map per layer.  Fills @layers with the
 * --layer one, every mapped layer (@all_layers), or the session's selected
 * layer (else its first mapped one). */
static gboolean
load_session_layers (SomSession *session, const char *layer_name, gboolean all_layers,
                     GArray *layers, GError **error)
{
  const char *path = som_session_get_path (session);
  guint n = som_session_get_n_layers (session);
  int pick = -1;

  if (layer_name != NULL)
    {
      pick = session_find_layer (session, layer_name);
      if (pick < 0)
        {
          g_autoptr(GString) names = g_string_new (NULL);

          for (guint i = 0; i < n && i < 12; i++)
            g_string_append_printf (names, "%s%s", i ? ", " : "", som_session_get_layer_name (session, i));
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: no layer '%s' (layers: %s%s)", path,
                       layer_name, names->str, n > 12 ? ", …" : "");
          return FALSE;
        }
    }
  else if (!all_layers)
    {
      gint64 sel_layer, sel_input, sel_unit;

      som_session_get_selection (session, &sel_layer, &sel_input, &sel_unit);
      if (sel_layer >= 0)
        pick = som_session_find_layer (session, sel_layer);
      for (guint i = 0; pick < 0 && i < n; i++)
        if (som_session_get_layer_som (session, i) != NULL)
          pick = (int) i;
    }
  for (guint i = 0; i < n; i++)
    {
      FigureLayer layer = { 0 };

      if (pick >= 0 && (int) i != pick)
        continue;
      if (pick < 0 && som_session_get_layer_som (session, i) == NULL)
        continue;
      g_array_append_val (layers, layer);
      if (!session_layer_load (session, i, &g_array_index (layers, FigureLayer, layers->len - 1), error))
        return FALSE;
    }
  if (layers->len == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the session has no mapped layer", path);
      return FALSE;
    }
  return TRUE;
}

/* The response view's values: @code's distance to every unit, and the
 * nearest unit. */
static void
set_response (FigureLayer *layer, const float *code, gsize dim)
{
  guint n_units = som_grid_get_n_units (layer->grid);
  double best = INFINITY;

  layer->response = g_new (float, n_units);
  for (guint k = 0; k < n_units; k++)
    {
      const float *w = (const float *) layer->codebook->data + (gsize) k * dim;
      double acc = 0;

      for (gsize d = 0; d < dim; d++)
        acc += ((double) w[d] - code[d]) * ((double) w[d] - code[d]);
      layer->response[k] = sqrt (acc);
      if (acc < best)
        {
          best = acc;
          layer->response_bmu = k;
        }
    }
}

/* Input @index's code as stored in a session layer: its distance to every unit. */
static gboolean
session_response (FigureLayer *layer, gint64 index, GError **error)
{
  gsize dim = layer->codebook ? layer->codebook->shape[2] : 0;
  const float *code;

  if (layer->codes == NULL || layer->codes->ndim != 2 || layer->codes->shape[1] != dim || dim == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "layer %s: the session stores no codes for it, so the response view cannot be drawn",
                   layer->name);
      return FALSE;
    }
  if (index < 0 || (guint64) index >= layer->codes->shape[0])
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "--input %" G_GINT64_FORMAT
                   " is out of range: the session has %zu inputs", index, (size_t) layer->codes->shape[0]);
      return FALSE;
    }
  code = (const float *) layer->codes->data + (gsize) index * dim;
  set_response (layer, code, dim);
  return TRUE;
}

/* Distance of input @index of @data (N×D, or N×C×… reduced by the channel
 * mean as train-som's --codes mean does) to every unit. */
static gboolean
compute_response (FigureLayer *layer, const char *data_path, gint64 index, GError **error)
{
  g_autoptr(SomArray) raw = NULL;
  g_autoptr(SomArray) x = NULL;
  gsize dim, n, per_row, spatial = 1;
  g_autofree float *code = NULL;
  const float *row;

  if (layer->codebook == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: the response view needs the codebook", layer->name);
      return FALSE;
    }
  dim = layer->codebook->shape[2];
  raw = som_array_load_spec (data_path, error);
  if (raw == NULL)
    return FALSE;
  x = som_array_to_f32 (raw);
  if (x == NULL || x->ndim < 2)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: expected N×D rows", data_path);
      return FALSE;
    }
  n = x->shape[0];
  for (guint i = 2; i < x->ndim; i++)
    spatial *= x->shape[i];
  per_row = x->shape[1] * spatial;
  if (x->shape[1] != dim)
    {
      g_autofree char *s = som_array_shape_string (x);

      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: rows have %s features per row (shape %s) but the map has %zu",
                   data_path, x->ndim == 2 ? "a different number of" : "channels that are not the",
                   s, (size_t) dim);
      return FALSE;
    }
  if (index < 0 || (guint64) index >= n)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: --input %" G_GINT64_FORMAT
                   " is out of range (0…%zu)", data_path, index, (size_t) n - 1);
      return FALSE;
    }
  row = (const float *) x->data + (gsize) index * per_row;
  code = g_new (float, dim);
  for (gsize d = 0; d < dim; d++)
    {
      double acc = 0;

      for (gsize s = 0; s < spatial; s++)
        acc += row[d * spatial + s];
      code[d] = acc / spatial;
      if (!isfinite (code[d]))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_NONFINITE,
                       "%s: input %" G_GINT64_FORMAT " has a non-finite value", data_path, index);
          return FALSE;
        }
      if (layer->feature_mean != NULL && layer->feature_std != NULL)
        {
          float sd = ((float *) layer->feature_std->data)[d];

          code[d] = (code[d] - ((float *) layer->feature_mean->data)[d]) / (sd > 0 ? sd : 1);
        }
    }
  set_response (layer, code, dim);
  return TRUE;
}

static void
layer_to_data (const FigureLayer *l, SomMapData *d)
{
  memset (d, 0, sizeof *d);
  d->grid = l->grid;
  d->name = l->name;
  d->umatrix = l->umatrix ? l->umatrix->data : NULL;
  d->codebook = l->codebook ? l->codebook->data : NULL;
  d->dim = l->codebook ? l->codebook->shape[2] : 0;
  d->hits = l->hits ? l->hits->data : NULL;
  d->class_hits = l->class_hits ? l->class_hits->data : NULL;
  d->n_classes = l->class_hits ? l->class_hits->shape[0] : 0;
  d->class_names = (const char * const *) l->class_names;
  d->response = l->response;
  d->response_bmu = l->response_bmu;
}

typedef enum
{
  JOB_MAP,
  JOB_TRAJECTORY,
  JOB_METRIC,
} JobKind;

typedef struct
{
  JobKind           kind;
  SomView           view;
  SomMapData       *data;
  guint             n;
  gboolean          multiples; /* small multiples on one page */
  SomRenderOptions *options;
  /* Trajectory */
  int              *clean_bmus;
  int              *adv_bmus;
  double           *distances;
  int               divergence;
  /* Metric chart */
  char            **names;
  const char       *metric;
  char             *metric_label;
  double           *clean;
  double           *clean_err;
  double           *adv;
  double           *adv_err;
} DrawJob;

static void
draw_job_clear (DrawJob *job)
{
  g_free (job->clean_bmus);
  g_free (job->adv_bmus);
  g_free (job->distances);
  g_strfreev (job->names);
  g_free (job->metric_label);
  g_free (job->clean);
  g_free (job->clean_err);
  g_free (job->adv);
  g_free (job->adv_err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DrawJob, draw_job_clear)

static gboolean
draw_page (cairo_t *cr, double width, double height, guint page, gpointer user_data,
           GError **error)
{
  DrawJob *job = user_data;

  if (job->kind == JOB_TRAJECTORY)
    return som_render_trajectory (cr, width, height, job->data, job->n, job->clean_bmus,
                                  job->adv_bmus, job->distances, job->divergence, job->options,
                                  error);
  if (job->kind == JOB_METRIC)
    return som_render_metric_chart (cr, width, height, job->n, (const char * const *) job->names,
                                    job->metric, job->clean, job->clean_err, job->adv, job->adv_err,
                                    job->options, error);
  if (job->multiples)
    return som_render_multiples (cr, width, height, job->view, job->data, job->n, job->options,
                                 error);
  return som_render_view (cr, width, height, job->view, &job->data[page], job->options, error);
}

/* Trajectory of input @input: both BMUs on every layer, their grid distance,
 * and the divergence layer (the first where they are neither the same nor
 * neighbouring units; contracts.md, issue 4). */
static gboolean
prepare_trajectory (DrawJob *job, GArray *layers, gint64 input, const char *path, GError **error)
{
  guint n = layers->len;

  job->clean_bmus = g_new (int, n);
  job->adv_bmus = g_new (int, n);
  job->distances = g_new (double, n);
  job->divergence = -1;
  for (guint i = 0; i < n; i++)
    {
      FigureLayer *l = &g_array_index (layers, FigureLayer, i);
      guint a, b;

      if (l->bmus == NULL || l->bmus_adversarial == NULL)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: layer %s has no adversarial BMUs: the trajectory view needs a session "
                       "with an attack", path, l->name);
          return FALSE;
        }
      if (input < 0 || (guint64) input >= som_array_n_elements (l->bmus))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: --input %" G_GINT64_FORMAT
                       " is out of range: the session has %zu inputs", path, input,
                       (size_t) som_array_n_elements (l->bmus));
          return FALSE;
        }
      a = ((const gint32 *) l->bmus->data)[input];
      b = ((const gint32 *) l->bmus_adversarial->data)[input];
      job->clean_bmus[i] = a;
      job->adv_bmus[i] = b;
      job->distances[i] = som_grid_distance (l->grid, a, b);
      if (job->divergence < 0 && a != b && !som_grid_are_neighbours (l->grid, a, b))
        job->divergence = i;
    }
  return TRUE;
}

/* A metric's value in a layer's clean/adversarial object: a number (its
 * "_std" twin as the band), or a list (e.g. per class: mean ± std over it). */
static void
metric_value (JsonObject *obj, const char *metric, double *value, double *err)
{
  g_autofree char *std_name = g_strconcat (metric, "_std", NULL);
  JsonNode *node;

  *value = NAN;
  *err = NAN;
  if (obj == NULL || !json_object_has_member (obj, metric))
    return;
  node = json_object_get_member (obj, metric);
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) != G_TYPE_STRING)
    {
      *value = json_node_get_double (node);
      if (json_object_has_member (obj, std_name) &&
          JSON_NODE_HOLDS_VALUE (json_object_get_member (obj, std_name)))
        *err = json_object_get_double_member (obj, std_name);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *arr = json_node_get_array (node);
      guint m = json_array_get_length (arr), k = 0;
      double sum = 0, sum2 = 0;

      for (guint i = 0; i < m; i++)
        {
          JsonNode *e = json_array_get_element (arr, i);

          if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) != G_TYPE_STRING)
            {
              double v = json_node_get_double (e);

              sum += v;
              sum2 += v * v;
              k++;
            }
        }
      if (k > 0)
        {
          *value = sum / k;
          *err = k > 1 ? sqrt (MAX (0, (sum2 - sum * sum / k) / (k - 1))) : NAN;
        }
    }
}

static gboolean
prepare_metric (DrawJob *job, SomSession *session, const char *metric, const char *path,
                GError **error)
{
  JsonNode *root = som_session_get_metrics (session);
  JsonArray *layers;
  guint n;
  gboolean found = FALSE, any_adv = FALSE;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "layers") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (root), "layers")))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: the session has no metrics (run somscope-cli analyze)", path);
      return FALSE;
    }
  layers = json_object_get_array_member (json_node_get_object (root), "layers");
  n = json_array_get_length (layers);
  job->n = n;
  job->names = g_new0 (char *, n + 1);
  job->clean = g_new (double, n);
  job->clean_err = g_new (double, n);
  job->adv = g_new (double, n);
  job->adv_err = g_new (double, n);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *ln = json_array_get_element (layers, i);
      JsonObject *lo = JSON_NODE_HOLDS_OBJECT (ln) ? json_node_get_object (ln) : NULL;
      JsonObject *clean = NULL, *adv = NULL;

      if (lo != NULL && json_object_has_member (lo, "clean") &&
          JSON_NODE_HOLDS_OBJECT (json_object_get_member (lo, "clean")))
        clean = json_object_get_object_member (lo, "clean");
      if (lo != NULL && json_object_has_member (lo, "adversarial") &&
          JSON_NODE_HOLDS_OBJECT (json_object_get_member (lo, "adversarial")))
        adv = json_object_get_object_member (lo, "adversarial");
      job->names[i] = lo ? som_layer_short_name (json_object_get_string_member_with_default (lo, "name", "?"),
                                                 json_object_get_string_member_with_default (lo, "op", NULL))
                         : g_strdup ("?");
      metric_value (clean, metric, &job->clean[i], &job->clean_err[i]);
      metric_value (adv, metric, &job->adv[i], &job->adv_err[i]);
      found |= isfinite (job->clean[i]);
      any_adv |= isfinite (job->adv[i]);
    }
  if (!found)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: no layer has the metric '%s' (see docs/metrics.md for the names)", path, metric);
      return FALSE;
    }
  if (!any_adv)
    g_clear_pointer (&job->adv, g_free);
  /* The axis label: the metric's name in words. */
  job->metric_label = g_strdelimit (g_strdup (metric), "_", ' ');
  job->metric = job->metric_label;
  return TRUE;
}

int
cli_cmd_figure (CliContext *ctx, int argc, char **argv)
{
  g_autofree char *view_name = NULL;
  g_autofree char *layer_name = NULL;
  g_autofree char *metric = NULL;
  g_autofree char *colormap_name = NULL;
  g_autofree char *style = NULL;
  g_autofree char *title = NULL;
  g_autofree char *out = NULL;
  g_autofree char *data_path = NULL;
  g_autofree char *hits_style = NULL;
  g_autofree char *scale = NULL;
  gboolean all_layers = FALSE, shared_scale = FALSE, interstitial = FALSE;
  gint64 feature = 0, input = 0;
  double width = NAN, height = NAN, width_cm = NAN, dpi = NAN;
  const GOptionEntry entries[] = {
    { "view", 0, 0, G_OPTION_ARG_STRING, &view_name,
      "umatrix, hits, classes, class-hits, component, response, trajectory or metric", "VIEW" },
    { "layer", 0, 0, G_OPTION_ARG_STRING, &layer_name, "The layer to draw (sessions)", "NAME" },
    { "all-layers", 0, 0, G_OPTION_ARG_NONE, &all_layers,
      "Every layer: one page each in a PDF, small multiples in PNG/SVG", NULL },
    { "feature", 0, 0, G_OPTION_ARG_INT64, &feature, "Component plane: the feature (default 0)", "K" },
    { "input", 0, 0, G_OPTION_ARG_INT64, &input, "Response/trajectory: the input (default 0)", "I" },
    { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_path,
      "Response view of a SOM.npz: the inputs (X.npy or FILE.npz:member)", "X" },
    { "metric", 0, 0, G_OPTION_ARG_STRING, &metric, "Metric view: the metric", "M" },
    { "colormap", 0, 0, G_OPTION_ARG_STRING, &colormap_name,
      "viridis, magma, cividis or diverging (default viridis; magma for hits)", "MAP" },
    { "shared-scale", 0, 0, G_OPTION_ARG_NONE, &shared_scale,
      "Small multiples: one colour scale for every panel", NULL },
    { "interstitial", 0, 0, G_OPTION_ARG_NONE, &interstitial,
      "U-matrix: draw a cell between every pair of neighbours", NULL },
    { "hits-style", 0, 0, G_OPTION_ARG_STRING, &hits_style,
      "Hit maps: heat or markers (default heat; markers for class hits)", "STYLE" },
    { "scale", 0, 0, G_OPTION_ARG_STRING, &scale,
      "Colour scale: linear (default), sqrt or log (values ≤ 0 drawn empty)", "SCALE" },
    { "style", 0, 0, G_OPTION_ARG_STRING, &style, "light (default) or dark", "STYLE" },
    { "width", 0, 0, G_OPTION_ARG_DOUBLE, &width, "Width: pixels (PNG) or points (SVG, PDF)", "W" },
    { "height", 0, 0, G_OPTION_ARG_DOUBLE, &height,
      "Height: pixels or points (default: the view's natural aspect)", "H" },
    { "width-cm", 0, 0, G_OPTION_ARG_DOUBLE, &width_cm, "Physical width in cm (default 8.5)", "W" },
    { "dpi", 0, 0, G_OPTION_ARG_DOUBLE, &dpi, "PNG resolution (default 300)", "D" },
    { "title", 0, 0, G_OPTION_ARG_STRING, &title, "A title above the figure", "T" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The figure: FILE.png, FILE.svg or FILE.pdf", "FILE" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) layers = g_array_new (FALSE, TRUE, sizeof (FigureLayer));
  g_autofree SomMapData *data = NULL;
  SomRenderOptions options;
  SomFigureFormat format;
  SomView view;
  g_auto(DrawJob) job = { 0 };
  g_autoptr(SomSession) session = NULL;
  const char *input_path;
  double width_pt, height_pt;
  guint n_pages = 1;
  gboolean is_session;
  int status = CLI_EXIT_OK;

  /* GOptionContext rewrites the array it parses; parse a copy so that
   * ctx->argv (the provenance's command line) stays whole. */
  g_autofree char **args = g_new0 (char *, argc + 1);

  memcpy (args, argv, argc * sizeof (char *));
  argv = args;
  g_array_set_clear_func (layers, (GDestroyNotify) figure_layer_clear);
  if (!cli_parse (ctx, &argc, &argv, "INPUT",
                  "Draw a view of a SOM.npz (or a session) as PNG, SVG or PDF.", entries, TRUE))
    return CLI_EXIT_USAGE;
  if (argc != 2)
    return cli_usage_error (ctx, "expected one INPUT (a SOM.npz or a .somscope session)");
  input_path = argv[1];
  if (view_name == NULL)
    return cli_usage_error (ctx, "--view is required");
  if (out == NULL)
    return cli_usage_error (ctx, "--out FILE.png|svg|pdf is required");
  if (!som_figure_format_from_path (out, &format))
    return cli_usage_error (ctx, "%s: unknown figure format: the extension must be .png, .svg or .pdf",
                            out);

  som_render_options_init (&options);
  if (colormap_name != NULL)
    {
      if (!som_colormap_from_name (colormap_name, &options.colormap))
        return cli_usage_error (ctx, "--colormap: unknown colour map '%s' "
                                "(viridis, magma, cividis, diverging)", colormap_name);
      options.colormap_set = TRUE;
    }
  if (style != NULL)
    {
      if (strcmp (style, "light") == 0)
        options.theme = SOM_RENDER_THEME_LIGHT;
      else if (strcmp (style, "dark") == 0)
        options.theme = SOM_RENDER_THEME_DARK;
      else
        return cli_usage_error (ctx, "--style: expected light or dark, not '%s'", style);
    }
  if (scale != NULL && !som_scale_from_string (scale, &options.scale))
    return cli_usage_error (ctx, "--scale: expected linear, sqrt or log, not '%s'", scale);
  if (hits_style != NULL)
    {
      if (strcmp (hits_style, "heat") == 0)
        options.hits_style = SOM_HITS_HEAT;
      else if (strcmp (hits_style, "markers") == 0)
        options.hits_style = SOM_HITS_MARKERS;
      else
        return cli_usage_error (ctx, "--hits-style: expected heat or markers, not '%s'", hits_style);
      options.hits_style_set = TRUE;
    }
  if (feature < 0 || feature > G_MAXUINT)
    return cli_usage_error (ctx, "--feature must be a non-negative index");
  if (input < 0)
    return cli_usage_error (ctx, "--input must be a non-negative index");
  if (!isnan (dpi) && !(dpi >= 10 && dpi <= 10000))
    return cli_usage_error (ctx, "--dpi must be between 10 and 10000");
  if (!isnan (width) && !(width > 0 && width <= 100000))
    return cli_usage_error (ctx, "--width must be positive");
  if (!isnan (height) && !(height > 0 && height <= 100000))
    return cli_usage_error (ctx, "--height must be positive");
  if (!isnan (width_cm) && !(width_cm > 0 && width_cm <= 1000))
    return cli_usage_error (ctx, "--width-cm must be positive");
  if (!isnan (width) && !isnan (width_cm))
    return cli_usage_error (ctx, "give --width or --width-cm, not both");
  options.feature = feature;
  options.shared_scale = shared_scale;
  options.interstitial = interstitial;
  options.title = title;

  is_session = g_str_has_suffix (input_path, ".somscope");
  if (strcmp (view_name, "trajectory") == 0 || strcmp (view_name, "metric") == 0)
    {
      if (!is_session)
        return cli_fail ("%s: the %s view needs a session file (.somscope) with attack "
                         "results; a SOM.npz holds one map", input_path, view_name);
      if (strcmp (view_name, "metric") == 0 && metric == NULL)
        return cli_usage_error (ctx, "the metric view needs --metric M (e.g. class_spread)");
      job.kind = strcmp (view_name, "trajectory") == 0 ? JOB_TRAJECTORY : JOB_METRIC;
      view = SOM_VIEW_UMATRIX;
    }
  else if (!som_view_from_string (view_name, &view))
    return cli_usage_error (ctx, "--view: unknown view '%s' (umatrix, hits, classes, class-hits, "
                            "component, response, trajectory, metric)", view_name);

  if (is_session)
    {
      session = som_session_load (input_path, &error);
      if (session == NULL)
        return cli_fail_error (error);
      if (job.kind == JOB_METRIC)
        {
          if (!prepare_metric (&job, session, metric, input_path, &error))
            return cli_fail_error (error);
        }
      else if (!load_session_layers (session, layer_name, all_layers || job.kind == JOB_TRAJECTORY,
                                     layers, &error))
        return cli_fail_error (error);
      if (job.kind == JOB_TRAJECTORY && !prepare_trajectory (&job, layers, input, input_path, &error))
        return cli_fail_error (error);
    }
  else
    {
      FigureLayer layer = { 0 };

      if (layer_name != NULL)
        return cli_usage_error (ctx, "--layer picks a layer of a session; %s holds one map",
                                input_path);
      g_array_append_val (layers, layer);
      if (!load_som_npz (input_path, &g_array_index (layers, FigureLayer, 0), &error))
        return cli_fail_error (error);
    }

  if (view == SOM_VIEW_RESPONSE && job.kind == JOB_MAP)
    {
      if (data_path == NULL && !is_session)
        return cli_usage_error (ctx, "the response view of a SOM.npz needs --data X.npy "
                                "(the inputs)");
      for (guint i = 0; i < layers->len; i++)
        {
          FigureLayer *l = &g_array_index (layers, FigureLayer, i);

          if (data_path != NULL ? !compute_response (l, data_path, input, &error)
                                : !session_response (l, input, &error))
            return cli_fail ("%s: %s", input_path, error->message);
        }
    }

  data = g_new0 (SomMapData, layers->len);
  for (guint i = 0; i < layers->len; i++)
    {
      layer_to_data (&g_array_index (layers, FigureLayer, i), &data[i]);
      if (job.kind == JOB_MAP && !som_render_check (view, &data[i], &options, &error))
        {
          if (view == SOM_VIEW_CLASSES || view == SOM_VIEW_CLASS_HITS)
            return cli_fail ("%s: the %s view needs labels, but the map has no per-class hit "
                             "counts ('class_hits'): train it with --labels", input_path,
                             view_name);
          return cli_fail ("%s: %s", input_path, error->message);
        }
    }

  /* Sizes: points for the renderer; PNG pixels = round(points × dpi / 72). */
  if (isnan (dpi))
    dpi = 300;
  if (!isnan (width_cm))
    width_pt = width_cm / 2.54 * 72;
  else if (!isnan (width))
    width_pt = format == SOM_FIGURE_PNG ? width * 72 / dpi : width;
  else
    width_pt = 8.5 / 2.54 * 72;
  job.view = view;
  job.data = data;
  if (job.kind != JOB_METRIC)
    job.n = layers->len;
  job.options = &options;
  job.multiples = job.kind == JOB_MAP && all_layers && layers->len > 1 && format != SOM_FIGURE_PDF;
  if (job.kind == JOB_MAP && all_layers && format == SOM_FIGURE_PDF)
    n_pages = layers->len;
  if (!isnan (height))
    height_pt = format == SOM_FIGURE_PNG ? height * 72 / dpi : height;
  else if (job.kind == JOB_TRAJECTORY)
    height_pt = som_render_trajectory_natural_height (job.n, width_pt);
  else if (job.kind == JOB_METRIC)
    height_pt = ceil (width_pt * 0.62);
  else if (job.multiples)
    height_pt = som_render_multiples_natural_height (view, data, layers->len, &options, width_pt);
  else
    {
      height_pt = 0;
      for (guint i = 0; i < layers->len; i++)
        height_pt = MAX (height_pt, som_render_natural_height (view, &data[i], &options, width_pt));
    }

  if (!som_figure_export (out, format, width_pt, height_pt, dpi, n_pages, draw_page, &job, &error))
    status = cli_fail_error (error);
  else if (ctx->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "out");
      json_builder_add_string_value (b, out);
      json_builder_set_member_name (b, "format");
      json_builder_add_string_value (b, som_figure_format_to_string (format));
      json_builder_set_member_name (b, "view");
      json_builder_add_string_value (b, view_name);
      json_builder_set_member_name (b, "width_pt");
      json_builder_add_double_value (b, width_pt);
      json_builder_set_member_name (b, "height_pt");
      json_builder_add_double_value (b, height_pt);
      if (format == SOM_FIGURE_PNG)
        {
          json_builder_set_member_name (b, "width_px");
          json_builder_add_int_value (b, som_figure_pixels (width_pt, dpi));
          json_builder_set_member_name (b, "height_px");
          json_builder_add_int_value (b, som_figure_pixels (height_pt, dpi));
          json_builder_set_member_name (b, "dpi");
          json_builder_add_double_value (b, dpi);
        }
      json_builder_set_member_name (b, "pages");
      json_builder_add_int_value (b, n_pages);
      if (job.kind == JOB_TRAJECTORY)
        {
          /* What the figure shows, for scripts and checks. */
          json_builder_set_member_name (b, "trajectory");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "input");
          json_builder_add_int_value (b, input);
          json_builder_set_member_name (b, "layers");
          json_builder_begin_array (b);
          for (guint i = 0; i < job.n; i++)
            json_builder_add_string_value (b, data[i].name);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "clean_bmus");
          json_builder_begin_array (b);
          for (guint i = 0; i < job.n; i++)
            json_builder_add_int_value (b, job.clean_bmus[i]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "adversarial_bmus");
          json_builder_begin_array (b);
          for (guint i = 0; i < job.n; i++)
            json_builder_add_int_value (b, job.adv_bmus[i]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "grid_distances");
          json_builder_begin_array (b);
          for (guint i = 0; i < job.n; i++)
            json_builder_add_double_value (b, job.distances[i]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "divergence_layer");
          if (job.divergence >= 0)
            json_builder_add_int_value (b, job.divergence);
          else
            json_builder_add_null_value (b);
          json_builder_end_object (b);
        }
      cli_add_provenance (ctx, b);
      json_builder_end_object (b);
      cli_print_json (b);
    }
  return status;
}
