/* som-session.c: the .somscope session file
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "som-io.h"
#include "som-map-file.h"
#include "som-session.h"
#include "som-session-private.h"
#include "som-types.h"

/* Members below this size are deflated, larger ones stored (contracts.md 3). */
#define COMPRESS_BELOW (1 << 20)

G_DEFINE_FINAL_TYPE (SomSession, som_session, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_PATH,
  PROP_MODIFIED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const struct
{
  const char *name;
  SomDType    dtype;
} session_arrays[SOM_SESSION_N_ARRAYS] = {
  [SOM_SESSION_LABELS]                  = { "labels", SOM_DTYPE_I32 },
  [SOM_SESSION_PREDICTIONS]             = { "predictions", SOM_DTYPE_I32 },
  [SOM_SESSION_ADVERSARIAL_PREDICTIONS] = { "adversarial_predictions", SOM_DTYPE_I32 },
  [SOM_SESSION_SPLIT]                   = { "split", SOM_DTYPE_U8 },
};

static const struct
{
  const char *name;
  SomDType    dtype;
} layer_arrays[SOM_LAYER_N_ARRAYS] = {
  [SOM_LAYER_CODEBOOK]          = { "codebook", SOM_DTYPE_F32 },
  [SOM_LAYER_BMUS]              = { "bmus", SOM_DTYPE_I32 },
  [SOM_LAYER_BMUS_ADVERSARIAL]  = { "bmus_adversarial", SOM_DTYPE_I32 },
  [SOM_LAYER_HITS]              = { "hits", SOM_DTYPE_I32 },
  [SOM_LAYER_UMATRIX]           = { "umatrix", SOM_DTYPE_F32 },
  [SOM_LAYER_QE_PER_EPOCH]      = { "qe_per_epoch", SOM_DTYPE_F32 },
  [SOM_LAYER_TE_PER_EPOCH]      = { "te_per_epoch", SOM_DTYPE_F32 },
  [SOM_LAYER_CODES]             = { "codes", SOM_DTYPE_F32 },
  [SOM_LAYER_CODES_ADVERSARIAL] = { "codes_adversarial", SOM_DTYPE_F32 },
};

static const char *ref_keys[SOM_SESSION_N_REFS] = { "model", "dataset", "activations" };

/* --- object ---------------------------------------------------------- */

static void
layer_free (SessionLayer *layer)
{
  g_free (layer->name);
  g_free (layer->op);
  g_clear_pointer (&layer->shape, json_node_unref);
  g_clear_pointer (&layer->som, json_node_unref);
  for (guint i = 0; i < SOM_LAYER_N_ARRAYS; i++)
    g_clear_pointer (&layer->arrays[i], som_array_free);
  g_free (layer);
}

static void
som_session_finalize (GObject *object)
{
  SomSession *self = SOM_SESSION (object);

  g_free (self->path);
  g_free (self->created);
  g_clear_pointer (&self->provenance, json_node_unref);
  g_clear_pointer (&self->attack, json_node_unref);
  g_clear_pointer (&self->preprocessing, json_node_unref);
  g_clear_pointer (&self->metrics, json_node_unref);
  for (guint i = 0; i < SOM_SESSION_N_REFS; i++)
    {
      g_free (self->refs[i].path);
      g_free (self->refs[i].sha256);
    }
  for (guint i = 0; i < SOM_SESSION_N_ARRAYS; i++)
    g_clear_pointer (&self->arrays[i], som_array_free);
  g_ptr_array_unref (self->layers);

  G_OBJECT_CLASS (som_session_parent_class)->finalize (object);
}

static void
som_session_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SomSession *self = SOM_SESSION (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_MODIFIED:
      g_value_set_boolean (value, self->modified);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
som_session_class_init (SomSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = som_session_finalize;
  object_class->get_property = som_session_get_property;

  /* The file it was loaded from or last saved to. */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Changed since the last load or save (the app's "unsaved work"). */
  properties[PROP_MODIFIED] =
    g_param_spec_boolean ("modified", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
som_session_init (SomSession *self)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  self->created = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  self->count = -1;
  self->selection[0] = self->selection[1] = self->selection[2] = -1;
  self->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) layer_free);
}

SomSession *
som_session_new (void)
{
  return g_object_new (SOM_TYPE_SESSION, NULL);
}

const char *
som_session_get_path (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), NULL);
  return self->path;
}

gboolean
som_session_get_modified (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), FALSE);
  return self->modified;
}

static void
set_modified (SomSession *self, gboolean modified)
{
  if (self->modified == modified)
    return;
  self->modified = modified;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
}

/* Every change goes through here: the generation tells an asynchronous save
 * whether the session changed while it was writing. */
static void
touch (SomSession *self)
{
  self->generation++;
  set_modified (self, TRUE);
}

static void
set_path (SomSession *self, const char *path)
{
  if (g_strcmp0 (self->path, path) == 0)
    return;
  g_free (self->path);
  self->path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATH]);
}

/* --- simple fields ---------------------------------------------------- */

const char *
som_session_get_created (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), NULL);
  return self->created;
}

static void
replace_node (JsonNode **slot, JsonNode *node)
{
  JsonNode *copy = node != NULL && !JSON_NODE_HOLDS_NULL (node) ? json_node_copy (node) : NULL;

  g_clear_pointer (slot, json_node_unref);
  *slot = copy;
}

JsonNode *
som_session_get_provenance (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), NULL);
  return self->provenance;
}

void
som_session_set_provenance (SomSession *self, JsonNode *object)
{
  g_return_if_fail (SOM_IS_SESSION (self));
  g_return_if_fail (object == NULL || JSON_NODE_HOLDS_OBJECT (object) || JSON_NODE_HOLDS_NULL (object));
  replace_node (&self->provenance, object);
  touch (self);
}

JsonNode *
som_session_get_attack (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), NULL);
  return self->attack;
}

void
som_session_set_attack (SomSession *self, JsonNode *object)
{
  g_return_if_fail (SOM_IS_SESSION (self));
  g_return_if_fail (object == NULL || JSON_NODE_HOLDS_OBJECT (object) || JSON_NODE_HOLDS_NULL (object));
  replace_node (&self->attack, object);
  touch (self);
}

gint64
som_session_get_seed (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), 0);
  return self->seed;
}

void
som_session_set_seed (SomSession *self, gint64 seed)
{
  g_return_if_fail (SOM_IS_SESSION (self));
  self->seed = seed;
  touch (self);
}

void
som_session_set_selection (SomSession *self, gint64 layer, gint64 input, gint64 unit)
{
  g_return_if_fail (SOM_IS_SESSION (self));
  if (self->selection[0] == MAX (layer, -1) && self->selection[1] == MAX (input, -1) &&
      self->selection[2] == MAX (unit, -1))
    return;
  self->selection[0] = MAX (layer, -1);
  self->selection[1] = MAX (input, -1);
  self->selection[2] = MAX (unit, -1);
  touch (self);
}

void
som_session_get_selection (SomSession *self, gint64 *layer, gint64 *input, gint64 *unit)
{
  g_return_if_fail (SOM_IS_SESSION (self));
  if (layer)
    *layer = self->selection[0];
  if (input)
    *input = self->selection[1];
  if (unit)
    *unit = self->selection[2];
}

JsonNode *
som_session_get_metrics (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), NULL);
  return self->metrics;
}

void
som_session_set_metrics (SomSession *self, JsonNode *metrics)
{
  g_return_if_fail (SOM_IS_SESSION (self));
  replace_node (&self->metrics, metrics);
  touch (self);
}

/* --- references ------------------------------------------------------- */

char *
som_file_sha256 (const char *path, GError **error)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (1 << 20);
  FILE *f = g_fopen (path, "rb");
  size_t n;

  if (f == NULL)
    {
      int saved = errno;
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", path,
                   saved == ENOENT ? "no such file" : g_strerror (saved));
      return NULL;
    }
  while ((n = fread (buf, 1, 1 << 20, f)) > 0)
    g_checksum_update (sum, buf, n);
  if (ferror (f))
    {
      fclose (f);
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot read", path);
      return NULL;
    }
  fclose (f);
  return g_strdup (g_checksum_get_string (sum));
}

static gboolean
is_sha256_hex (const char *s)
{
  if (s == NULL || strlen (s) != 64)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

/* A dataset may be named "FOLDER:train" (contracts.md section 3): the file
 * to look for is FOLDER.  Returns the path to test (owned). */
static char *
file_part (const char *path)
{
  const char *colon = strrchr (path, ':');

  if (colon != NULL && colon[1] != '\0' && strchr (colon, G_DIR_SEPARATOR) == NULL &&
      !g_file_test (path, G_FILE_TEST_EXISTS))
    return g_strndup (path, colon - path);
  return g_strdup (path);
}

SomSessionRefState
_som_session_check_ref_state (const SessionRef *ref)
{
  g_autofree char *sum = NULL;
  g_autofree char *file = NULL;

  if (ref->path == NULL)
    return SOM_SESSION_REF_NONE;
  file = file_part (ref->path);
  if (!g_file_test (file, G_FILE_TEST_EXISTS))
    return SOM_SESSION_REF_MISSING;
  if (ref->sha256 == NULL)
    return SOM_SESSION_REF_UNCHECKED;
  /* Hash only regular files: a hostile path to a device or a FIFO must not
   * make a reader hang. */
  if (!g_file_test (file, G_FILE_TEST_IS_REGULAR))
    return SOM_SESSION_REF_CHANGED;
  sum = som_file_sha256 (file, NULL);
  if (sum == NULL)
    return SOM_SESSION_REF_MISSING;
  return g_str_equal (sum, ref->sha256) ? SOM_SESSION_REF_OK : SOM_SESSION_REF_CHANGED;
}

static gboolean
set_ref (SomSession *self, SomSessionRef which, const char *path, const char *sha256, GError **error)
{
  SessionRef *ref = &self->refs[which];
  g_autofree char *abs = NULL;
  g_autofree char *file = NULL;
  g_autofree char *sum = NULL;

  if (path == NULL)
    {
      g_clear_pointer (&ref->path, g_free);
      g_clear_pointer (&ref->sha256, g_free);
      ref->state = SOM_SESSION_REF_NONE;
      touch (self);
      return TRUE;
    }
  abs = g_canonicalize_filename (path, NULL);
  file = file_part (abs);
  if (sha256 != NULL)
    {
      if (!is_sha256_hex (sha256))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: \"%s\" is not a SHA-256 in lowercase hex", path, sha256);
          return FALSE;
        }
      sum = g_strdup (sha256);
    }
  else if (g_file_test (file, G_FILE_TEST_IS_REGULAR))
    {
      sum = som_file_sha256 (file, error);
      if (sum == NULL)
        return FALSE;
    }
  else if (!g_file_test (file, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: no such file", path);
      return FALSE;
    }
  g_free (ref->path);
  ref->path = g_steal_pointer (&abs);
  g_free (ref->sha256);
  ref->sha256 = g_steal_pointer (&sum);
  ref->state = ref->sha256 ? SOM_SESSION_REF_OK : SOM_SESSION_REF_UNCHECKED;
  touch (self);
  return TRUE;
}

gboolean
som_session_set_model (SomSession *self, const char *path, const char *sha256, GError **error)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), FALSE);
  return set_ref (self, SOM_SESSION_REF_MODEL, path, sha256, error);
}

gboolean
som_session_set_dataset (SomSession *self,
                         const char *path,
                         const char *sha256,
                         JsonNode   *preprocessing,
                         gint64      count,
                         GError    **error)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), FALSE);
  g_return_val_if_fail (preprocessing == NULL || JSON_NODE_HOLDS_OBJECT (preprocessing), FALSE);
  if (!set_ref (self, SOM_SESSION_REF_DATASET, path, sha256, error))
    return FALSE;
  if (path == NULL)
    {
      g_clear_pointer (&self->preprocessing, json_node_unref);
      self->count = -1;
      return TRUE;
    }
  replace_node (&self->preprocessing, preprocessing);
  self->count = MAX (count, 0);
  return TRUE;
}

gboolean
som_session_set_activations (SomSession *self, const char *path, const char *sha256, GError **error)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), FALSE);
  return set_ref (self, SOM_SESSION_REF_ACTIVATIONS, path, sha256, error);
}

const char *
som_session_get_ref_path (SomSession *self, SomSessionRef ref)
{
  g_return_val_if_fail (SOM_IS_SESSION (self) && ref < SOM_SESSION_N_REFS, NULL);
  return self->refs[ref].path;
}

const char *
som_session_get_ref_sha256 (SomSession *self, SomSessionRef ref)
{
  g_return_val_if_fail (SOM_IS_SESSION (self) && ref < SOM_SESSION_N_REFS, NULL);
  return self->refs[ref].sha256;
}

JsonNode *
som_session_get_dataset_preprocessing (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), NULL);
  return self->preprocessing;
}

gint64
som_session_get_dataset_count (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), -1);
  return self->count;
}

SomSessionRefState
som_session_get_ref_state (SomSession *self, SomSessionRef ref)
{
  g_return_val_if_fail (SOM_IS_SESSION (self) && ref < SOM_SESSION_N_REFS, SOM_SESSION_REF_NONE);
  return self->refs[ref].state;
}

static const char *
ref_label (SomSessionRef ref)
{
  return ref == SOM_SESSION_REF_MODEL ? "model" : ref == SOM_SESSION_REF_DATASET ? "dataset" : "activations file";
}

gboolean
som_session_check_ref (SomSession *self, SomSessionRef ref, GError **error)
{
  SessionRef *r;

  g_return_val_if_fail (SOM_IS_SESSION (self) && ref < SOM_SESSION_N_REFS, FALSE);
  r = &self->refs[ref];
  r->state = _som_session_check_ref_state (r);
  switch (r->state)
    {
    case SOM_SESSION_REF_MISSING:
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO,
                   "%s: the session's %s was moved or deleted", r->path, ref_label (ref));
      return FALSE;
    case SOM_SESSION_REF_CHANGED:
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: the %s changed since the session was saved (its SHA-256 differs)",
                   r->path, ref_label (ref));
      return FALSE;
    case SOM_SESSION_REF_NONE:
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the session has no %s",
                   self->path ? self->path : "session", ref_label (ref));
      return FALSE;
    case SOM_SESSION_REF_OK:
    case SOM_SESSION_REF_UNCHECKED:
    default:
      return TRUE;
    }
}

gboolean
som_session_relocate_ref (SomSession *self, SomSessionRef ref, const char *new_path, GError **error)
{
  SessionRef *r;
  g_autofree char *abs = NULL;
  g_autofree char *sum = NULL;

  g_return_val_if_fail (SOM_IS_SESSION (self) && ref < SOM_SESSION_N_REFS, FALSE);
  g_return_val_if_fail (new_path != NULL, FALSE);
  r = &self->refs[ref];
  if (r->path == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the session has no %s to relocate",
                   new_path, ref_label (ref));
      return FALSE;
    }
  abs = g_canonicalize_filename (new_path, NULL);
  if (!g_file_test (abs, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: no such file", new_path);
      return FALSE;
    }
  if (r->sha256 != NULL)
    {
      if (!g_file_test (abs, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a regular file", new_path);
          return FALSE;
        }
      sum = som_file_sha256 (abs, error);
      if (sum == NULL)
        return FALSE;
      if (!g_str_equal (sum, r->sha256))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                       "%s: not the %s the session was made with (its SHA-256 differs)",
                       new_path, ref_label (ref));
          return FALSE;
        }
    }
  g_free (r->path);
  r->path = g_steal_pointer (&abs);
  r->state = r->sha256 ? SOM_SESSION_REF_OK : SOM_SESSION_REF_UNCHECKED;
  touch (self);
  return TRUE;
}

/* --- arrays ----------------------------------------------------------- */

const char *
som_session_array_name (SomSessionArray which)
{
  g_return_val_if_fail (which < SOM_SESSION_N_ARRAYS, NULL);
  return session_arrays[which].name;
}

const char *
som_session_layer_array_name (SomLayerArray which)
{
  g_return_val_if_fail (which < SOM_LAYER_N_ARRAYS, NULL);
  return layer_arrays[which].name;
}

/* Converts @array (owned) to @dtype; returns the result (owned) or NULL. */
static SomArray *
to_dtype (SomArray *array, SomDType dtype, const char *label, GError **error)
{
  SomArray *out;

  if (array->dtype == dtype)
    return array;
  switch (dtype)
    {
    case SOM_DTYPE_F32:
      out = som_array_to_f32 (array);
      break;
    case SOM_DTYPE_I32:
      if (array->dtype == SOM_DTYPE_F32 || array->dtype == SOM_DTYPE_F64 || array->dtype == SOM_DTYPE_F16)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s where integers are expected",
                       label, som_dtype_name (array->dtype));
          out = NULL;
          break;
        }
      out = som_array_to_i32 (array, error);
      if (out == NULL)
        g_prefix_error (error, "%s: ", label);
      break;
    case SOM_DTYPE_U8:
      {
        g_autoptr(SomArray) i32 = NULL;
        gsize n = som_array_n_elements (array);

        out = NULL;
        if (array->dtype != SOM_DTYPE_BOOL && array->dtype != SOM_DTYPE_F32 && array->dtype != SOM_DTYPE_F64 &&
            array->dtype != SOM_DTYPE_F16)
          i32 = som_array_to_i32 (array, NULL);
        if (i32 == NULL)
          {
            g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s where small integers are expected",
                         label, som_dtype_name (array->dtype));
            break;
          }
        out = som_array_new (SOM_DTYPE_U8, array->ndim, array->shape, error);
        if (out == NULL)
          break;
        for (gsize i = 0; i < n; i++)
          {
            gint32 v = ((gint32 *) i32->data)[i];
            if (v < 0 || v > 255)
              {
                g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: value %d does not fit uint8", label, v);
                g_clear_pointer (&out, som_array_free);
                break;
              }
            ((guint8 *) out->data)[i] = v;
          }
      }
      break;
    default:
      g_assert_not_reached ();
    }
  som_array_free (array);
  return out;
}

const SomArray *
som_session_get_array (SomSession *self, SomSessionArray which)
{
  g_return_val_if_fail (SOM_IS_SESSION (self) && which < SOM_SESSION_N_ARRAYS, NULL);
  return self->arrays[which];
}

gboolean
som_session_take_array (SomSession *self, SomSessionArray which, SomArray *array, GError **error)
{
  g_return_val_if_fail (SOM_IS_SESSION (self) && which < SOM_SESSION_N_ARRAYS, FALSE);
  if (array != NULL)
    {
      array = to_dtype (array, session_arrays[which].dtype, session_arrays[which].name, error);
      if (array == NULL)
        return FALSE;
    }
  g_clear_pointer (&self->arrays[which], som_array_free);
  self->arrays[which] = array;
  touch (self);
  return TRUE;
}

gboolean
som_session_set_array (SomSession *self, SomSessionArray which, const SomArray *array, GError **error)
{
  return som_session_take_array (self, which, array ? som_array_copy (array) : NULL, error);
}

/* --- layers ----------------------------------------------------------- */

char *
som_session_layer_member_prefix (gint64 index)
{
  return g_strdup_printf ("layer_%03" G_GINT64_FORMAT, index);
}

static SessionLayer *
get_layer (SomSession *self, guint position)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), NULL);
  g_return_val_if_fail (position < self->layers->len, NULL);
  return g_ptr_array_index (self->layers, position);
}

int
som_session_find_layer (SomSession *self, gint64 index)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), -1);
  for (guint i = 0; i < self->layers->len; i++)
    if (((SessionLayer *) g_ptr_array_index (self->layers, i))->index == index)
      return i;
  return -1;
}

int
som_session_add_layer (SomSession *self,
                       gint64      index,
                       const char *name,
                       const char *op,
                       JsonNode   *shape,
                       JsonNode   *som_meta,
                       GError    **error)
{
  SessionLayer *layer;

  g_return_val_if_fail (SOM_IS_SESSION (self), -1);
  if (index < 0 || index > SOM_SESSION_MAX_LAYER_INDEX)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "layer index %" G_GINT64_FORMAT " is out of range",
                   index);
      return -1;
    }
  if (som_session_find_layer (self, index) >= 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "layer %" G_GINT64_FORMAT " is already in the session",
                   index);
      return -1;
    }
  if (shape != NULL && !JSON_NODE_HOLDS_ARRAY (shape))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "layer %" G_GINT64_FORMAT ": its shape must be a JSON array",
                   index);
      return -1;
    }
  if (som_meta != NULL && !JSON_NODE_HOLDS_OBJECT (som_meta) && !JSON_NODE_HOLDS_NULL (som_meta))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "layer %" G_GINT64_FORMAT ": its SOM meta must be a JSON object",
                   index);
      return -1;
    }
  layer = g_new0 (SessionLayer, 1);
  layer->index = index;
  layer->name = g_strdup (name ? name : "");
  layer->op = g_strdup (op ? op : "");
  if (shape != NULL)
    layer->shape = json_node_copy (shape);
  else
    {
      layer->shape = json_node_new (JSON_NODE_ARRAY);
      json_node_take_array (layer->shape, json_array_new ());
    }
  replace_node (&layer->som, som_meta);
  g_ptr_array_add (self->layers, layer);
  touch (self);
  return self->layers->len - 1;
}

guint
som_session_get_n_layers (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), 0);
  return self->layers->len;
}

gint64
som_session_get_layer_index (SomSession *self, guint position)
{
  SessionLayer *l = get_layer (self, position);
  return l ? l->index : -1;
}

const char *
som_session_get_layer_name (SomSession *self, guint position)
{
  SessionLayer *l = get_layer (self, position);
  return l ? l->name : NULL;
}

const char *
som_session_get_layer_op (SomSession *self, guint position)
{
  SessionLayer *l = get_layer (self, position);
  return l ? l->op : NULL;
}

JsonNode *
som_session_get_layer_shape (SomSession *self, guint position)
{
  SessionLayer *l = get_layer (self, position);
  return l ? l->shape : NULL;
}

JsonNode *
som_session_get_layer_som (SomSession *self, guint position)
{
  SessionLayer *l = get_layer (self, position);
  return l ? l->som : NULL;
}

void
som_session_set_layer_som (SomSession *self, guint position, JsonNode *som_meta)
{
  SessionLayer *l = get_layer (self, position);

  g_return_if_fail (l != NULL);
  g_return_if_fail (som_meta == NULL || JSON_NODE_HOLDS_OBJECT (som_meta) || JSON_NODE_HOLDS_NULL (som_meta));
  replace_node (&l->som, som_meta);
  touch (self);
}

static gboolean
json_int_member (JsonObject *o, const char *key, gint64 *out)
{
  JsonNode *n;

  if (o == NULL || (n = json_object_get_member (o, key)) == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

static guint
layer_meta_uint (SessionLayer *l, const char *key)
{
  gint64 v;

  if (l == NULL || l->som == NULL || !json_int_member (json_node_get_object (l->som), key, &v) || v < 0 ||
      v > G_MAXUINT)
    return 0;
  return v;
}

guint
som_session_get_layer_rows (SomSession *self, guint position)
{
  return layer_meta_uint (get_layer (self, position), "rows");
}

guint
som_session_get_layer_cols (SomSession *self, guint position)
{
  return layer_meta_uint (get_layer (self, position), "cols");
}

guint
som_session_get_layer_dim (SomSession *self, guint position)
{
  return layer_meta_uint (get_layer (self, position), "dim");
}

const SomArray *
som_session_get_layer_array (SomSession *self, guint position, SomLayerArray which)
{
  SessionLayer *l = get_layer (self, position);

  g_return_val_if_fail (which < SOM_LAYER_N_ARRAYS, NULL);
  return l ? l->arrays[which] : NULL;
}

gboolean
som_session_take_layer_array (SomSession   *self,
                              guint         position,
                              SomLayerArray which,
                              SomArray     *array,
                              GError      **error)
{
  SessionLayer *l = get_layer (self, position);

  g_return_val_if_fail (l != NULL && which < SOM_LAYER_N_ARRAYS, FALSE);
  if (array != NULL)
    {
      g_autofree char *prefix = som_session_layer_member_prefix (l->index);
      g_autofree char *label = g_strdup_printf ("%s/%s", prefix, layer_arrays[which].name);

      array = to_dtype (array, layer_arrays[which].dtype, label, error);
      if (array == NULL)
        return FALSE;
    }
  g_clear_pointer (&l->arrays[which], som_array_free);
  l->arrays[which] = array;
  touch (self);
  return TRUE;
}

gboolean
som_session_set_layer_array (SomSession     *self,
                             guint           position,
                             SomLayerArray   which,
                             const SomArray *array,
                             GError        **error)
{
  return som_session_take_layer_array (self, position, which, array ? som_array_copy (array) : NULL, error);
}

/* --- validation ------------------------------------------------------- */

gsize
som_session_get_n_inputs (SomSession *self)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), 0);
  if (self->count >= 0)
    return self->count;
  for (guint i = 0; i < SOM_SESSION_N_ARRAYS; i++)
    if (self->arrays[i] != NULL && self->arrays[i]->ndim >= 1)
      return self->arrays[i]->shape[0];
  for (guint i = 0; i < self->layers->len; i++)
    {
      SessionLayer *l = g_ptr_array_index (self->layers, i);
      if (l->arrays[SOM_LAYER_BMUS] != NULL && l->arrays[SOM_LAYER_BMUS]->ndim >= 1)
        return l->arrays[SOM_LAYER_BMUS]->shape[0];
      if (l->arrays[SOM_LAYER_CODES] != NULL && l->arrays[SOM_LAYER_CODES]->ndim >= 1)
        return l->arrays[SOM_LAYER_CODES]->shape[0];
    }
  return 0;
}

static gboolean
check_shape (const SomArray *a, const char *file, const char *label, guint ndim, const gsize *shape,
             const char *source, GError **error)
{
  gboolean ok = a->ndim == ndim;

  for (guint i = 0; ok && i < ndim; i++)
    ok = a->shape[i] == shape[i];
  if (!ok)
    {
      g_autofree char *got = som_array_shape_string (a);
      GString *want = g_string_new (NULL);

      for (guint i = 0; i < ndim; i++)
        g_string_append_printf (want, "%s%" G_GSIZE_FORMAT, i ? "×" : "", shape[i]);
      if (ndim == 0)
        g_string_append (want, "()");
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s has shape %s, %s %s", file, label,
                   got, source, want->str);
      g_string_free (want, TRUE);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_range_i32 (const SomArray *a, const char *file, const char *label, gint64 lo, gint64 hi, GError **error)
{
  gsize n = som_array_n_elements (a);
  const gint32 *v = a->data;

  for (gsize i = 0; i < n; i++)
    if (v[i] < lo || v[i] >= hi)
      {
        g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                     "%s: %s[%" G_GSIZE_FORMAT "] = %d is outside [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")",
                     file, label, i, v[i], lo, hi);
        return FALSE;
      }
  return TRUE;
}

/* A map's codebook and U-matrix are drawn: NaN or Inf there is damage. */
static gboolean
check_finite_f32 (const SomArray *a, const char *file, const char *label, GError **error)
{
  const float *f = a->data;

  for (gsize i = 0; i < som_array_n_elements (a); i++)
    if (!isfinite (f[i]))
      {
        g_set_error (error, SOM_ERROR, SOM_ERROR_NONFINITE, "%s: %s holds a non-finite value (element %"
                     G_GSIZE_FORMAT ")", file, label, i);
        return FALSE;
      }
  return TRUE;
}

gboolean
_som_session_validate_for (SomSession *self, const char *file, GError **error)
{
  gsize n = som_session_get_n_inputs (self);
  /* Where N comes from, for messages: the dataset's count, or the first array. */
  const char *n_says = self->count >= 0 ? "the manifest says" : "other arrays say";
  const char *says = "the manifest says";

  for (guint i = 0; i < SOM_SESSION_N_ARRAYS; i++)
    {
      const SomArray *a = self->arrays[i];
      gsize shape[1] = { n };

      if (a == NULL)
        continue;
      if (a->dtype != session_arrays[i].dtype)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s is %s, expected %s", file,
                       session_arrays[i].name, som_dtype_name (a->dtype),
                       som_dtype_name (session_arrays[i].dtype));
          return FALSE;
        }
      if (!check_shape (a, file, session_arrays[i].name, 1, shape, n_says, error))
        return FALSE;
    }
  if (self->arrays[SOM_SESSION_SPLIT] != NULL)
    for (gsize i = 0; i < n; i++)
      if (((guint8 *) self->arrays[SOM_SESSION_SPLIT]->data)[i] > 1)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: split[%" G_GSIZE_FORMAT "] is neither 0 nor 1",
                       file, i);
          return FALSE;
        }

  for (guint p = 0; p < self->layers->len; p++)
    {
      SessionLayer *l = g_ptr_array_index (self->layers, p);
      g_autofree char *prefix = som_session_layer_member_prefix (l->index);
      gint64 rows = 0, cols = 0, dim = 0;

      for (guint i = 0; i < SOM_LAYER_N_ARRAYS; i++)
        if (l->arrays[i] != NULL && l->arrays[i]->dtype != layer_arrays[i].dtype)
          {
            g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s/%s is %s, expected %s", file, prefix,
                         layer_arrays[i].name, som_dtype_name (l->arrays[i]->dtype),
                         som_dtype_name (layer_arrays[i].dtype));
            return FALSE;
          }

      if (l->som != NULL)
        {
          JsonObject *meta = json_node_get_object (l->som);

          if (!json_int_member (meta, "rows", &rows) || !json_int_member (meta, "cols", &cols) ||
              !json_int_member (meta, "dim", &dim) || rows < 1 || cols < 1 || dim < 1 ||
              rows * cols < 2 || rows > 1000 || cols > 1000 || dim > G_MAXINT32)
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                           "%s: %s: the SOM needs integer rows, cols (1…1000, at least 2 units) and dim",
                           file, prefix);
              return FALSE;
            }
          for (SomLayerArray req = SOM_LAYER_CODEBOOK; req <= SOM_LAYER_UMATRIX; req++)
            if (req != SOM_LAYER_BMUS_ADVERSARIAL && l->arrays[req] == NULL)
              {
                g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s has a map but no %s", file, prefix,
                             layer_arrays[req].name);
                return FALSE;
              }
        }
      else
        {
          for (guint i = 0; i < SOM_LAYER_N_ARRAYS; i++)
            if (l->arrays[i] != NULL && i != SOM_LAYER_CODES && i != SOM_LAYER_CODES_ADVERSARIAL)
              {
                g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s has %s but no SOM in the manifest",
                             file, prefix, layer_arrays[i].name);
                return FALSE;
              }
        }

      for (guint i = 0; i < SOM_LAYER_N_ARRAYS; i++)
        {
          const SomArray *a = l->arrays[i];
          g_autofree char *label = g_strdup_printf ("%s/%s", prefix, layer_arrays[i].name);

          if (a == NULL)
            continue;
          switch ((SomLayerArray) i)
            {
            case SOM_LAYER_CODEBOOK:
              {
                gsize s[3] = { rows, cols, dim };
                if (!check_shape (a, file, label, 3, s, says, error) ||
                    !check_finite_f32 (a, file, label, error))
                  return FALSE;
              }
              break;
            case SOM_LAYER_HITS:
            case SOM_LAYER_UMATRIX:
              {
                gsize s[2] = { rows, cols };
                if (!check_shape (a, file, label, 2, s, says, error) ||
                    (i == SOM_LAYER_UMATRIX && !check_finite_f32 (a, file, label, error)))
                  return FALSE;
              }
              break;
            case SOM_LAYER_BMUS:
            case SOM_LAYER_BMUS_ADVERSARIAL:
              {
                gsize s[1] = { n };
                if (!check_shape (a, file, label, 1, s, n_says, error) ||
                    !check_range_i32 (a, file, label, 0, rows * cols, error))
                  return FALSE;
              }
              break;
            case SOM_LAYER_QE_PER_EPOCH:
            case SOM_LAYER_TE_PER_EPOCH:
              if (a->ndim != 1)
                {
                  g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s must be one-dimensional", file, label);
                  return FALSE;
                }
              break;
            case SOM_LAYER_CODES:
            case SOM_LAYER_CODES_ADVERSARIAL:
              if (dim > 0)
                {
                  gsize s[2] = { n, dim };
                  if (!check_shape (a, file, label, 2, s, "N and the map's dim say", error))
                    return FALSE;
                }
              else if (a->ndim != 2 || a->shape[0] != n)
                {
                  g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: %s must be N×D with N = %" G_GSIZE_FORMAT,
                               file, label, n);
                  return FALSE;
                }
              break;
            case SOM_LAYER_N_ARRAYS:
            default:
              g_assert_not_reached ();
            }
        }
    }
  return TRUE;
}

gboolean
som_session_validate (SomSession *self, GError **error)
{
  g_return_val_if_fail (SOM_IS_SESSION (self), FALSE);
  return _som_session_validate_for (self, self->path ? self->path : "session", error);
}

/* --- save ------------------------------------------------------------- */

/* @path relative to @base_dir when beneath it, else as is (absolute). */
static char *
relative_to (const char *path, const char *base_dir)
{
  gsize bl = strlen (base_dir);

  if (g_str_has_prefix (path, base_dir) && bl > 0 &&
      (base_dir[bl - 1] == G_DIR_SEPARATOR ? path[bl] != '\0' : path[bl] == G_DIR_SEPARATOR && path[bl + 1] != '\0'))
    return g_strdup (path + bl + (base_dir[bl - 1] == G_DIR_SEPARATOR ? 0 : 1));
  return g_strdup (path);
}

static void
add_nullable_int (JsonBuilder *b, const char *key, gint64 v)
{
  json_builder_set_member_name (b, key);
  if (v < 0)
    json_builder_add_null_value (b);
  else
    json_builder_add_int_value (b, v);
}

static void
add_ref (JsonBuilder *b, const SessionRef *ref, const char *base_dir)
{
  g_autofree char *rel = relative_to (ref->path, base_dir);

  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, rel);
  json_builder_set_member_name (b, "sha256");
  if (ref->sha256)
    json_builder_add_string_value (b, ref->sha256);
  else
    json_builder_add_null_value (b);
}

char *
_som_session_manifest_json (SomSession *self, const char *session_path)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *abs = g_canonicalize_filename (session_path, NULL);
  g_autofree char *base_dir = g_path_get_dirname (abs);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, SOM_SESSION_FORMAT);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, SOM_SESSION_VERSION);
  json_builder_set_member_name (b, "created");
  json_builder_add_string_value (b, self->created);
  json_builder_set_member_name (b, "provenance");
  if (self->provenance)
    json_builder_add_value (b, json_node_copy (self->provenance));
  else
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "version");
      json_builder_add_string_value (b, som_version ());
      json_builder_end_object (b);
    }

  for (guint i = 0; i < SOM_SESSION_N_REFS; i++)
    {
      json_builder_set_member_name (b, ref_keys[i]);
      if (self->refs[i].path == NULL)
        {
          json_builder_add_null_value (b);
          continue;
        }
      json_builder_begin_object (b);
      add_ref (b, &self->refs[i], base_dir);
      if (i == SOM_SESSION_REF_DATASET)
        {
          json_builder_set_member_name (b, "preprocessing");
          if (self->preprocessing)
            json_builder_add_value (b, json_node_copy (self->preprocessing));
          else
            {
              json_builder_begin_object (b);
              json_builder_end_object (b);
            }
          json_builder_set_member_name (b, "count");
          json_builder_add_int_value (b, self->count);
        }
      json_builder_end_object (b);
    }

  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (guint p = 0; p < self->layers->len; p++)
    {
      SessionLayer *l = g_ptr_array_index (self->layers, p);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, l->index);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, l->name);
      json_builder_set_member_name (b, "op");
      json_builder_add_string_value (b, l->op);
      json_builder_set_member_name (b, "shape");
      json_builder_add_value (b, json_node_copy (l->shape));
      json_builder_set_member_name (b, "som");
      if (l->som)
        json_builder_add_value (b, json_node_copy (l->som));
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "attack");
  if (self->attack)
    json_builder_add_value (b, json_node_copy (self->attack));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, self->seed);
  json_builder_set_member_name (b, "selection");
  json_builder_begin_object (b);
  add_nullable_int (b, "layer", self->selection[0]);
  add_nullable_int (b, "input", self->selection[1]);
  add_nullable_int (b, "unit", self->selection[2]);
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

/* What a save writes, serialized from the session up front so that the
 * writing (deflate, disk) can run in a worker while the session lives on. */
typedef struct
{
  char      *path;
  GPtrArray *members;  /* char* */
  GPtrArray *bytes;    /* GBytes* */
  guint64    generation;
} SaveJob;

static void
save_job_free (SaveJob *job)
{
  g_free (job->path);
  g_ptr_array_unref (job->members);
  g_ptr_array_unref (job->bytes);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SaveJob, save_job_free)

static void
save_job_add (SaveJob *job, char *member, GBytes *bytes)
{
  g_ptr_array_add (job->members, member);
  g_ptr_array_add (job->bytes, bytes);
}

static SaveJob *
save_job_new (SomSession *self, const char *path, GError **error)
{
  g_autoptr(SaveJob) job = NULL;
  char *manifest;

  if (!_som_session_validate_for (self, path, error))
    return NULL;
  job = g_new0 (SaveJob, 1);
  job->path = g_strdup (path);
  job->members = g_ptr_array_new_with_free_func (g_free);
  job->bytes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  job->generation = self->generation;

  manifest = _som_session_manifest_json (self, path);
  save_job_add (job, g_strdup ("manifest.json"), g_bytes_new_take (manifest, strlen (manifest)));
  for (guint i = 0; i < SOM_SESSION_N_ARRAYS; i++)
    if (self->arrays[i] != NULL)
      save_job_add (job, g_strconcat (session_arrays[i].name, ".npy", NULL), som_npy_serialize (self->arrays[i]));
  for (guint p = 0; p < self->layers->len; p++)
    {
      SessionLayer *l = g_ptr_array_index (self->layers, p);
      g_autofree char *prefix = som_session_layer_member_prefix (l->index);

      for (guint i = 0; i < SOM_LAYER_N_ARRAYS; i++)
        if (l->arrays[i] != NULL)
          save_job_add (job, g_strdup_printf ("%s/%s.npy", prefix, layer_arrays[i].name),
                        som_npy_serialize (l->arrays[i]));
    }
  if (self->metrics != NULL)
    {
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      char *text;

      json_generator_set_root (gen, self->metrics);
      json_generator_set_pretty (gen, TRUE);
      text = json_generator_to_data (gen, NULL);
      save_job_add (job, g_strdup ("metrics.json"), g_bytes_new_take (text, strlen (text)));
    }
  return g_steal_pointer (&job);
}

static gboolean
save_job_run (SaveJob *job, GCancellable *cancellable, GError **error)
{
  g_autoptr(SomNpzWriter) w = som_npz_writer_new (job->path, TRUE, error);

  if (w == NULL)
    return FALSE;
  /* Level 1: four times faster than the default on float data, and the
   * small members that get deflated (BMUs, labels, JSON) shrink about as much. */
  som_npz_writer_set_compression_level (w, 1);
  for (guint i = 0; i < job->members->len; i++)
    {
      GBytes *bytes = g_ptr_array_index (job->bytes, i);

      som_npz_writer_set_compress (w, g_bytes_get_size (bytes) < COMPRESS_BELOW);
      if (!som_npz_writer_add_bytes (w, g_ptr_array_index (job->members, i), bytes, error))
        return FALSE;
    }
  /* Freeing the writer unclosed removes its temporary file. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  return som_npz_writer_close (w, error);
}

static void
save_job_done (SomSession *self, SaveJob *job)
{
  set_path (self, job->path);
  if (self->generation == job->generation)
    set_modified (self, FALSE);
}

gboolean
som_session_save (SomSession *self, const char *path, GError **error)
{
  g_autoptr(SaveJob) job = NULL;

  g_return_val_if_fail (SOM_IS_SESSION (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  job = save_job_new (self, path, error);
  if (job == NULL || !save_job_run (job, NULL, error))
    return FALSE;
  save_job_done (self, job);
  return TRUE;
}

static void
save_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (save_job_run (task_data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
som_session_save_async (SomSession         *self,
                        const char         *path,
                        GCancellable       *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer            user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  SaveJob *job;

  g_return_if_fail (SOM_IS_SESSION (self));
  g_return_if_fail (path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, som_session_save_async);
  job = save_job_new (self, path, &error);
  if (job == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_set_task_data (task, job, (GDestroyNotify) save_job_free);
  g_task_run_in_thread (task, save_thread);
}

gboolean
som_session_save_finish (SomSession *self, GAsyncResult *result, GError **error)
{
  GTask *task = G_TASK (result);

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  if (!g_task_propagate_boolean (task, error))
    return FALSE;
  save_job_done (self, g_task_get_task_data (task));
  return TRUE;
}

static void
load_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  SomSession *session = som_session_load (task_data, &error);

  if (session == NULL)
    g_task_return_error (task, error);
  else if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      g_object_unref (session);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, session, g_object_unref);
}

void
som_session_load_async (const char         *path,
                        GCancellable       *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_return_if_fail (path != NULL);
  g_task_set_source_tag (task, som_session_load_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, load_thread);
}

SomSession *
som_session_load_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
_som_session_ref_key (SomSessionRef ref)
{
  return ref_keys[ref];
}

SomDType
_som_session_array_dtype (SomSessionArray which)
{
  return session_arrays[which].dtype;
}

SomDType
_som_session_layer_array_dtype (SomLayerArray which)
{
  return layer_arrays[which].dtype;
}

SomMap *
som_session_get_layer_map (SomSession *self, guint position, GError **error)
{
  SessionLayer *l = get_layer (self, position);
  g_autofree char *prefix = NULL;
  g_autofree char *name = NULL;
  g_autoptr(SomMap) map = NULL;
  static const SomLayerArray kinds[] = { SOM_LAYER_BMUS, SOM_LAYER_HITS, SOM_LAYER_UMATRIX,
                                         SOM_LAYER_QE_PER_EPOCH, SOM_LAYER_TE_PER_EPOCH };
  const SomArray *labels = self->arrays[SOM_SESSION_LABELS];
  const SomArray *bmus;

  g_return_val_if_fail (l != NULL, NULL);
  prefix = som_session_layer_member_prefix (l->index);
  name = g_strdup_printf ("%s: %s", self->path ? self->path : "session", prefix);
  if (l->som == NULL || l->arrays[SOM_LAYER_CODEBOOK] == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s has no map yet", name);
      return NULL;
    }
  map = som_map_new_from_meta (l->som, l->arrays[SOM_LAYER_CODEBOOK], name, error);
  if (map == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (l->arrays[kinds[i]] != NULL)
      som_map_take_array (map, layer_arrays[kinds[i]].name, som_array_copy (l->arrays[kinds[i]]));
  bmus = l->arrays[SOM_LAYER_BMUS];
  if (labels != NULL && bmus != NULL && labels->shape[0] == bmus->shape[0])
    {
      const char * const *names = som_map_get_class_names (map);
      gint32 max = -1;
      guint n_classes;

      for (gsize i = 0; i < labels->shape[0]; i++)
        max = MAX (max, ((gint32 *) labels->data)[i]);
      n_classes = MAX ((guint) (max + 1), names ? g_strv_length ((char **) names) : 0);
      som_map_take_array (map, "labels", som_array_copy (labels));
      if (n_classes > 0)
        som_map_take_array (map, "class_hits",
                            som_map_class_hits (map, bmus->data, labels->data, labels->shape[0], n_classes));
    }
  return g_steal_pointer (&map);
}

gboolean
som_session_set_layer_map (SomSession *self, guint position, SomMap *map, GError **error)
{
  SessionLayer *l = get_layer (self, position);
  static const SomLayerArray kinds[] = { SOM_LAYER_HITS, SOM_LAYER_UMATRIX, SOM_LAYER_QE_PER_EPOCH,
                                         SOM_LAYER_TE_PER_EPOCH };
  g_autoptr(JsonNode) meta = NULL;

  g_return_val_if_fail (l != NULL, FALSE);
  g_return_val_if_fail (SOM_IS_MAP (map), FALSE);
  meta = som_map_meta_to_json (map);
  if (!som_session_set_layer_array (self, position, SOM_LAYER_CODEBOOK, som_map_get_codebook_array (map), error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      const SomArray *a = som_map_get_array (map, layer_arrays[kinds[i]].name);
      if (a != NULL && !som_session_set_layer_array (self, position, kinds[i], a, error))
        return FALSE;
    }
  som_session_set_layer_som (self, position, meta);
  return TRUE;
}
