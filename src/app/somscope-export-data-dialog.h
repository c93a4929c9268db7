/* somscope-export-data-dialog.h: the Export Data dialog (codes, codebooks, BMUs, metrics; .npy or .csv; SOM_PAK .cod)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "somscope-export-data.h"
#include "somscope-window.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_EXPORT_DATA_DIALOG (somscope_export_data_dialog_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeExportDataDialog, somscope_export_data_dialog, SOMSCOPE, EXPORT_DATA_DIALOG, AdwWindow)

/* The result goes to @parent as a toast. */
GtkWidget              *somscope_export_data_dialog_new      (SomscopeWindow *parent);
/* What the switches and the format row say. */
SomscopeExportDataFlags somscope_export_data_dialog_get_what (SomscopeExportDataDialog *self);
SomExportFormat         somscope_export_data_dialog_get_format (SomscopeExportDataDialog *self);
/* Exports into @dir (the folder chooser's answer) and closes the dialog. */
void                    somscope_export_data_dialog_export_to (SomscopeExportDataDialog *self,
                                                               GFile                    *dir);

G_END_DECLS
