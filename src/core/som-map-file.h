/* som-map-file.h: SOM.npz and SOM_PAK .cod files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-map.h"

G_BEGIN_DECLS

#define SOM_MAP_FORMAT_VERSION 1

/* Loads a map by extension: ".cod" is SOM_PAK, anything else SOM.npz. */
SomMap    *som_map_load          (const char  *path,
                                  GError     **error);
/* Saves by extension (".cod" or ".npz"), atomically. */
gboolean   som_map_save          (SomMap      *map,
                                  const char  *path,
                                  gboolean     compress,
                                  GError     **error);

gboolean   som_map_save_npz      (SomMap      *map,
                                  const char  *path,
                                  gboolean     compress,
                                  GError     **error);
SomMap    *som_map_load_npz      (const char  *path,
                                  GError     **error);
gboolean   som_map_save_cod      (SomMap      *map,
                                  const char  *path,
                                  GError     **error);
SomMap    *som_map_load_cod      (const char  *path,
                                  GError     **error);
/* Parses .cod text; @name is used in error messages. */
SomMap    *som_map_parse_cod     (const char  *text,
                                  gsize        len,
                                  const char  *name,
                                  GError     **error);

/* A map from the meta.json keys of contracts.md section 3 (as a session's
 * manifest holds them; "format"/"version" optional) and its R×C×D codebook
 * (any float dtype).  @name is used in messages. */
SomMap    *som_map_new_from_meta (JsonNode       *meta,
                                  const SomArray *codebook,
                                  const char     *name,
                                  GError        **error);

/* The meta.json object of contracts.md section 3. */
JsonNode  *som_map_meta_to_json  (SomMap      *map);

G_END_DECLS
