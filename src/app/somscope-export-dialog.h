/* somscope-export-dialog.h: the export dialog (current view or all layers, PNG/SVG/PDF, size, style)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "somscope-layer.h"
#include "somscope-trajectory-view.h"
#include "somscope-types.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_EXPORT_DIALOG (somscope_export_dialog_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeExportDialog, somscope_export_dialog, SOMSCOPE, EXPORT_DIALOG, AdwWindow)

/* @layer: the selected layer; @mapped_layers: every mapped layer; @view,
 * @feature and @klass: what the map view shows (see SomscopeExportOptions);
 * @trajectory: the trajectory panel, offered with its title when it shows
 * an input.  The result goes to @parent as a toast. */
GtkWidget *somscope_export_dialog_new (SomscopeWindow *parent,
                                       SomscopeLayer  *layer,
                                       GListModel     *mapped_layers,
                                       SomscopeView    view,
                                       guint           feature,
                                       int             klass,
                                       SomscopeTrajectoryView *trajectory,
                                       const char     *trajectory_title);

G_END_DECLS
