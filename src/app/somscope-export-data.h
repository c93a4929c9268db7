/* somscope-export-data.h: the session's data (codes, codebooks, BMUs, metrics) as .npy, .csv and SOM_PAK .cod
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "som-session.h"

#include "somscope-document.h"

G_BEGIN_DECLS

typedef enum
{
  SOMSCOPE_EXPORT_DATA_ACTIVATIONS = 1 << 0,  /* the N×D codes of every mapped layer */
  SOMSCOPE_EXPORT_DATA_CODEBOOKS   = 1 << 1,
  SOMSCOPE_EXPORT_DATA_BMUS        = 1 << 2,
  SOMSCOPE_EXPORT_DATA_METRICS     = 1 << 3,  /* one row per layer */
  SOMSCOPE_EXPORT_DATA_COD         = 1 << 4,  /* the maps also as SOM_PAK .cod */
} SomscopeExportDataFlags;

/* Writes what @what names from @document, as it is now, into @dir (created
 * if needed) in a worker thread, through the core's writers (each file
 * atomic; names as in docs/formats.md "Exports").  @format is
 * SOM_EXPORT_NPY or SOM_EXPORT_CSV.  Metrics are the session's metrics.json
 * when it came with one, otherwise computed from the maps over every input
 * (docs/formats.md). */
void     somscope_export_data_async  (SomscopeDocument        *document,
                                      SomscopeExportDataFlags  what,
                                      SomExportFormat          format,
                                      const char              *dir,
                                      GCancellable            *cancellable,
                                      GAsyncReadyCallback      callback,
                                      gpointer                 user_data);
/* The paths written (g_strfreev), or NULL with an error naming the file. */
char   **somscope_export_data_finish (GAsyncResult            *result,
                                      GError                 **error);

/* metrics.json ({"format":"somscope-metrics",…}) computed from @session's
 * maps over all its inputs: the metrics that need no train/held-out split. */
JsonNode *somscope_export_data_metrics (SomSession             *session,
                                        GError                **error);

G_END_DECLS
