/* somscope-export.h: figures of the maps as PNG, SVG or PDF, drawn by the core renderer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "som-figure.h"

#include "somscope-trajectory-view.h"
#include "somscope-types.h"

G_BEGIN_DECLS

typedef struct
{
  SomscopeView    view;
  SomFigureFormat format;
  double          width_cm;    /* physical width; the height follows the view */
  double          dpi;         /* PNG only */
  gboolean        dark;
  guint           feature;     /* component view */
  int             klass;       /* hit map: the hits of this class, -1 all */
} SomscopeExportOptions;

void     somscope_export_options_init (SomscopeExportOptions *options);

/* Writes @layers' maps (SomscopeLayer items; those without a map are left
 * out) to @path in a worker thread: one layer gives one view; several give
 * small multiples in a PNG or SVG, one page per layer in a PDF.  The maps
 * are taken as they are now; the file is written atomically. */
void     somscope_export_async        (GListModel                  *layers,
                                       const SomscopeExportOptions *options,
                                       const char                  *path,
                                       GCancellable                *cancellable,
                                       GAsyncReadyCallback          callback,
                                       gpointer                     user_data);
/* The trajectory figure of @view's input, as `somscope-cli figure --view
 * trajectory` draws it, titled @title; finished by somscope_export_finish(). */
void     somscope_export_trajectory_async (SomscopeTrajectoryView      *view,
                                           const SomscopeExportOptions *options,
                                           const char                  *title,
                                           const char                  *path,
                                           GCancellable                *cancellable,
                                           GAsyncReadyCallback          callback,
                                           gpointer                     user_data);
gboolean somscope_export_finish       (GAsyncResult                *result,
                                       GError                     **error);

G_END_DECLS
