/* som-session.h: a saved analysis (.somscope), and how it moves to numpy and other tools
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "som-array.h"
#include "som-map.h"

G_BEGIN_DECLS

/* The file format is documented in docs/formats.md; contracts.md section 4. */
#define SOM_SESSION_FORMAT  "somscope-session"
#define SOM_SESSION_VERSION 1

/* The arrays that cover all N inputs, in dataset order.  Setters convert to
 * the canonical dtype given here. */
typedef enum
{
  SOM_SESSION_LABELS,                  /* N int32 */
  SOM_SESSION_PREDICTIONS,             /* N int32 */
  SOM_SESSION_ADVERSARIAL_PREDICTIONS, /* N int32 */
  SOM_SESSION_SPLIT,                   /* N uint8: 0 train part, 1 held-out (seed 0) */
  SOM_SESSION_N_ARRAYS
} SomSessionArray;

/* The arrays of one mapped layer (seed 0's map), stored as layer_NNN/<name>. */
typedef enum
{
  SOM_LAYER_CODEBOOK,          /* R×C×D float32 (required once the layer has a map) */
  SOM_LAYER_BMUS,              /* N int32, unit k = r·C + c (required once mapped) */
  SOM_LAYER_BMUS_ADVERSARIAL,  /* N int32 */
  SOM_LAYER_HITS,              /* R×C int32 (required once mapped) */
  SOM_LAYER_UMATRIX,           /* R×C float32 (required once mapped) */
  SOM_LAYER_QE_PER_EPOCH,      /* E float32 */
  SOM_LAYER_TE_PER_EPOCH,      /* E float32 */
  SOM_LAYER_CODES,             /* N×D float32 */
  SOM_LAYER_CODES_ADVERSARIAL, /* N×D float32 */
  SOM_LAYER_N_ARRAYS
} SomLayerArray;

/* The files a session refers to. */
typedef enum
{
  SOM_SESSION_REF_MODEL,
  SOM_SESSION_REF_DATASET,
  SOM_SESSION_REF_ACTIVATIONS,
  SOM_SESSION_N_REFS
} SomSessionRef;

/* What som_session_load() found at a referenced path.  A session is usable
 * (every view) whatever the state; only work that needs the file (inference,
 * attacks) must not go ahead unless the state is OK. */
typedef enum
{
  SOM_SESSION_REF_NONE,      /* the session has no such reference */
  SOM_SESSION_REF_OK,        /* the file is there and its SHA-256 matches */
  SOM_SESSION_REF_MISSING,   /* the file moved or was deleted: ask the user for it */
  SOM_SESSION_REF_CHANGED,   /* the file is there but its SHA-256 differs: report it */
  SOM_SESSION_REF_UNCHECKED, /* no hash was recorded (e.g. a folder dataset) */
} SomSessionRefState;

#define SOM_TYPE_SESSION (som_session_get_type ())
G_DECLARE_FINAL_TYPE (SomSession, som_session, SOM, SESSION, GObject)

/* A new, empty session; "created" is now. */
SomSession   *som_session_new               (void);

/* Loads and validates a .somscope file: refuses unknown formats, versions
 * newer than SOM_SESSION_VERSION, members that escape the archive, declared
 * sizes beyond the file or the memory budget, and arrays whose shapes disagree
 * with the manifest (SOM_ERROR_CORRUPT, _UNSUPPORTED or _TOO_LARGE).  Then
 * checks the referenced files: see som_session_get_ref_state(). */
SomSession   *som_session_load              (const char   *path,
                                             GError      **error);
/* Writes atomically (temporary file, fsync, rename): a crash during a save
 * leaves the previous file intact.  Validates first, as load does. */
gboolean      som_session_save              (SomSession   *session,
                                             const char   *path,
                                             GError      **error);
/* The same in a worker thread (GTask).  save_async serializes the session
 * before it returns, so the session may change meanwhile; "modified" turns
 * FALSE in _finish only if nothing changed since the call.  A cancelled save
 * leaves the previous file as it was. */
void          som_session_save_async        (SomSession         *session,
                                             const char         *path,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
gboolean      som_session_save_finish       (SomSession         *session,
                                             GAsyncResult       *result,
                                             GError            **error);
void          som_session_load_async        (const char         *path,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
SomSession   *som_session_load_finish       (GAsyncResult       *result,
                                             GError            **error);

/* The file this session was loaded from or last saved to, or NULL
 * (property "path", notified). */
const char   *som_session_get_path          (SomSession   *session);

/* Checks the whole session (shapes, dtypes, BMU ranges) as save and load do. */
gboolean      som_session_validate          (SomSession   *session,
                                             GError      **error);

/* -- manifest */

/* ISO 8601 UTC, e.g. "2026-11-26T10:44:28Z" */
const char   *som_session_get_created       (SomSession   *session);
/* Opaque JSON objects (e.g. from cli_provenance_node()); the session keeps a copy. */
JsonNode     *som_session_get_provenance    (SomSession   *session);
void          som_session_set_provenance    (SomSession   *session,
                                             JsonNode     *object);
/* The attack flags ({"method","norm","eps",…}) or NULL for none. */
JsonNode     *som_session_get_attack        (SomSession   *session);
void          som_session_set_attack        (SomSession   *session,
                                             JsonNode     *object_or_null);
gint64        som_session_get_seed          (SomSession   *session);
void          som_session_set_seed          (SomSession   *session,
                                             gint64        seed);

/* References.  Paths are absolute in memory (made relative to the session
 * file on save when beneath its folder).  @sha256 is lowercase hex; NULL
 * computes it from the file now (a folder gets no hash).  A NULL @path
 * clears the reference. */
gboolean      som_session_set_model         (SomSession   *session,
                                             const char   *path,
                                             const char   *sha256,
                                             GError      **error);
/* @preprocessing: {"pad","resize","mean","std"} (copied); @count: N. */
gboolean      som_session_set_dataset       (SomSession   *session,
                                             const char   *path,
                                             const char   *sha256,
                                             JsonNode     *preprocessing,
                                             gint64        count,
                                             GError      **error);
gboolean      som_session_set_activations   (SomSession   *session,
                                             const char   *path,
                                             const char   *sha256,
                                             GError      **error);
/* NULL when there is no such reference. */
const char   *som_session_get_ref_path      (SomSession   *session,
                                             SomSessionRef ref);
const char   *som_session_get_ref_sha256    (SomSession   *session,
                                             SomSessionRef ref);
JsonNode     *som_session_get_dataset_preprocessing (SomSession *session);
gint64        som_session_get_dataset_count (SomSession   *session);
SomSessionRefState som_session_get_ref_state (SomSession  *session,
                                             SomSessionRef ref);
/* Rechecks a reference; FALSE with SOM_ERROR_IO ("moved or deleted") or
 * SOM_ERROR_CORRUPT ("changed since the session was saved") otherwise. */
gboolean      som_session_check_ref         (SomSession   *session,
                                             SomSessionRef ref,
                                             GError      **error);
/* The user found a moved file: accepted only when its SHA-256 matches the
 * recorded one (else SOM_ERROR_CORRUPT and nothing changes). */
gboolean      som_session_relocate_ref      (SomSession   *session,
                                             SomSessionRef ref,
                                             const char   *new_path,
                                             GError      **error);

/* The UI's selection: a layer (its ONNX index), an input and a unit; -1 = none. */
void          som_session_set_selection     (SomSession   *session,
                                             gint64        layer,
                                             gint64        input,
                                             gint64        unit);
void          som_session_get_selection     (SomSession   *session,
                                             gint64       *layer,
                                             gint64       *input,
                                             gint64       *unit);

/* -- per-input arrays (N = the dataset's count, or the length of these) */

/* Borrowed; NULL when absent. */
const SomArray *som_session_get_array       (SomSession   *session,
                                             SomSessionArray which);
/* Takes ownership (converting to the canonical dtype); NULL removes. */
gboolean      som_session_take_array        (SomSession   *session,
                                             SomSessionArray which,
                                             SomArray     *array,
                                             GError      **error);
gboolean      som_session_set_array         (SomSession   *session,
                                             SomSessionArray which,
                                             const SomArray *array,
                                             GError      **error);
/* The number of inputs, or 0 when nothing says. */
gsize         som_session_get_n_inputs      (SomSession   *session);

/* -- layers, in depth order; addressed by position 0…n−1 */

/* @index: the ONNX layer index (0-based over node outputs) that names the
 * members (layer_007); unique.  @shape: a JSON array (batch dim null).
 * @som_meta: the meta.json keys of the layer's SOM ({"rows","cols","dim",
 * "topology","toroidal",…}), or NULL while the layer is not mapped yet.
 * Returns the new position, or -1 with an error (duplicate/negative index). */
int           som_session_add_layer         (SomSession   *session,
                                             gint64        index,
                                             const char   *name,
                                             const char   *op,
                                             JsonNode     *shape,
                                             JsonNode     *som_meta,
                                             GError      **error);
guint         som_session_get_n_layers      (SomSession   *session);
/* Position of the layer with ONNX index @index, or -1. */
int           som_session_find_layer        (SomSession   *session,
                                             gint64        index);
gint64        som_session_get_layer_index   (SomSession   *session,
                                             guint         position);
const char   *som_session_get_layer_name    (SomSession   *session,
                                             guint         position);
const char   *som_session_get_layer_op      (SomSession   *session,
                                             guint         position);
JsonNode     *som_session_get_layer_shape   (SomSession   *session,
                                             guint         position);
/* NULL while the layer is not mapped. */
JsonNode     *som_session_get_layer_som     (SomSession   *session,
                                             guint         position);
void          som_session_set_layer_som     (SomSession   *session,
                                             guint         position,
                                             JsonNode     *som_meta);
/* Convenience readers of the SOM meta: 0 / NULL when unmapped. */
guint         som_session_get_layer_rows    (SomSession   *session,
                                             guint         position);
guint         som_session_get_layer_cols    (SomSession   *session,
                                             guint         position);
guint         som_session_get_layer_dim     (SomSession   *session,
                                             guint         position);
/* "layer_007": the member prefix, built from the index only. */
char         *som_session_layer_member_prefix (gint64      index);

const SomArray *som_session_get_layer_array (SomSession   *session,
                                             guint         position,
                                             SomLayerArray which);
gboolean      som_session_take_layer_array  (SomSession   *session,
                                             guint         position,
                                             SomLayerArray which,
                                             SomArray     *array,
                                             GError      **error);
gboolean      som_session_set_layer_array   (SomSession   *session,
                                             guint         position,
                                             SomLayerArray which,
                                             const SomArray *array,
                                             GError      **error);
/* Stores @map in layer @position: its settings (som_map_meta_to_json) as the
 * layer's "som", its codebook, and the arrays it holds among hits, umatrix,
 * qe_per_epoch and te_per_epoch.  Not its BMUs: a map's BMUs are those of the
 * rows it was trained on, while a session's cover all N inputs (set them with
 * som_session_take_layer_array). */
gboolean      som_session_set_layer_map     (SomSession   *session,
                                             guint         position,
                                             SomMap       *map,
                                             GError      **error);
/* Layer @position's map as a SomMap (codebook, settings, and the arrays it
 * knows: bmus, hits, umatrix, qe/te_per_epoch, labels and class_hits when
 * the session has labels), for the renderers and the .cod writer.  NULL with
 * an error while the layer is not mapped. */
SomMap       *som_session_get_layer_map     (SomSession   *session,
                                             guint         position,
                                             GError      **error);
const char   *som_session_array_name        (SomSessionArray which);
const char   *som_session_layer_array_name  (SomLayerArray which);

/* -- metrics.json ({"format":"somscope-metrics",…}), opaque; NULL when none */
JsonNode     *som_session_get_metrics       (SomSession   *session);
void          som_session_set_metrics       (SomSession   *session,
                                             JsonNode     *metrics);

/* Did anything change since the last load or save? (the app's "unsaved work";
 * property "modified", notified).  A SomSession is not thread-safe: use it
 * from one thread at a time. */
gboolean      som_session_get_modified      (SomSession   *session);

/* -- export (som-session-export.c) */

typedef enum
{
  SOM_EXPORT_CODEBOOKS,
  SOM_EXPORT_BMUS,
  SOM_EXPORT_METRICS,
  SOM_EXPORT_ACTIVATIONS,
} SomExportWhat;

typedef enum
{
  SOM_EXPORT_NPY,
  SOM_EXPORT_CSV,
  SOM_EXPORT_COD, /* codebooks only */
} SomExportFormat;

/* Writes files into @dir (created if needed), each atomically; returns the
 * paths written (NULL-terminated, g_strfreev), or NULL with an error.  File
 * names: docs/formats.md "Export". */
char        **som_session_export            (SomSession     *session,
                                             SomExportWhat   what,
                                             SomExportFormat format,
                                             const char     *dir,
                                             GError        **error);
/* metrics.json (as analyze writes it) as CSV text, one row per layer:
 * index,name,op,depth,dim, then clean_<M>, adversarial_<M>, trajectory_<T>
 * for every scalar metric. */
char         *som_metrics_to_csv            (JsonNode       *metrics,
                                             GError        **error);

/* SHA-256 of a file's contents, lowercase hex. */
char         *som_file_sha256               (const char     *path,
                                             GError        **error);

G_END_DECLS
