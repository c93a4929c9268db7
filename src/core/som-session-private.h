/* som-session-private.h: what the session's source files share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-session.h"

G_BEGIN_DECLS

/* SessionLayer indices name members (layer_NNN); keep them short and sane. */
#define SOM_SESSION_MAX_LAYER_INDEX 999999999

typedef struct
{
  gint64    index;
  char     *name;
  char     *op;
  JsonNode *shape;  /* array */
  JsonNode *som;    /* object, or NULL while unmapped */
  SomArray *arrays[SOM_LAYER_N_ARRAYS];
} SessionLayer;

typedef struct
{
  char              *path;    /* absolute */
  char              *sha256;  /* lowercase hex, or NULL */
  SomSessionRefState state;
} SessionRef;

struct _SomSession
{
  GObject    parent_instance;

  char      *path;
  char      *created;
  JsonNode  *provenance;
  JsonNode  *attack;
  gint64     seed;
  SessionRef        refs[SOM_SESSION_N_REFS];
  JsonNode  *preprocessing;
  gint64     count;  /* -1 when there is no dataset */
  gint64     selection[3];
  SomArray  *arrays[SOM_SESSION_N_ARRAYS];
  GPtrArray *layers;
  JsonNode  *metrics;
  gboolean   modified;
  guint64    generation;  /* bumped by every change */
};

const char *_som_session_ref_key     (SomSessionRef ref);
SomDType    _som_session_array_dtype (SomSessionArray which);
SomDType    _som_session_layer_array_dtype (SomLayerArray which);
/* Checks shapes, dtypes and ranges; messages start with @file. */
gboolean    _som_session_validate_for (SomSession  *self,
                                       const char  *file,
                                       GError     **error);
char       *_som_session_manifest_json (SomSession *self,
                                        const char *session_path);
SomSessionRefState _som_session_check_ref_state (const SessionRef *ref);
/* Writes layer @position's map as SOM_PAK .cod to @path (som-map-file's writer). */
gboolean    _som_session_save_layer_cod (SomSession  *self,
                                         guint        position,
                                         const char  *path,
                                         GError     **error);

G_END_DECLS
