/* somscope-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "somscope-application.h"
#include "somscope-document.h"
#include "somscope-map-view.h"
#include "somscope-trajectory-view.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_WINDOW (somscope_window_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeWindow, somscope_window, SOMSCOPE, WINDOW, AdwApplicationWindow)

SomscopeWindow   *somscope_window_new             (SomscopeApplication *app);
SomscopeDocument *somscope_window_get_document    (SomscopeWindow      *self);

/* Opens a model (and a dataset) in a new document; the current one stays
 * until the new one has loaded, and stays for good if loading fails. */
void              somscope_window_open            (SomscopeWindow      *self,
                                                   GFile               *model,
                                                   GFile               *dataset);
void              somscope_window_open_with_preprocessing (SomscopeWindow *self,
                                                   GFile               *model,
                                                   GFile               *dataset,
                                                   const SomPreprocessOptions *options);
/* The dialog proposing pad/resize/mean/std, while it shows. */
GtkWidget        *somscope_window_get_preprocess_dialog (SomscopeWindow *self);
void              somscope_window_open_demo       (SomscopeWindow      *self);
void              somscope_window_offer_recovery  (SomscopeWindow      *self);
void              somscope_window_restore         (SomscopeWindow      *self);
/* Stops the jobs of the document and of one still loading (Stop, close,
 * quit); their worker threads return within a batch. */
void              somscope_window_cancel_jobs     (SomscopeWindow      *self);
void              somscope_window_show_error      (SomscopeWindow      *self,
                                                   const char          *message);
void              somscope_window_show_message    (SomscopeWindow      *self,
                                                   const char          *message);
/* The last error shown, for tests and the accessibility tree. */
const char       *somscope_window_get_last_error  (SomscopeWindow      *self);
/* The map view of the page the view switcher shows. */
SomscopeMapView  *somscope_window_get_map_view    (SomscopeWindow      *self);
/* The gallery's filtered model (items: SomscopeInput). */
GListModel       *somscope_window_get_gallery     (SomscopeWindow      *self);
/* The class mix of the inputs the selected unit wins, as shown under the
 * gallery's header (plain text), or NULL when not shown. */
const char       *somscope_window_get_unit_mix    (SomscopeWindow      *self);
/* The multiples' model (items: SomscopeLayer, the mapped ones). */
GListModel       *somscope_window_get_mapped_layers (SomscopeWindow    *self);
/* The sidebar's layer rows (items: GtkTreeListRow of SomscopeLayerGroup or
 * SomscopeLayer) and its search entry. */
GListModel       *somscope_window_get_layer_rows  (SomscopeWindow      *self);
GtkEditable      *somscope_window_get_layer_search (SomscopeWindow     *self);

/* The trajectory panel's chart (the selected input on every mapped layer). */
SomscopeTrajectoryView *somscope_window_get_trajectory_view (SomscopeWindow *self);

/* The recent files: the Open menu's section and the start page's list
 * (items activate win.open-recent with a (model, dataset) URI pair). */
GMenuModel       *somscope_window_get_recent_menu (SomscopeWindow      *self);
GtkListBox       *somscope_window_get_recent_list (SomscopeWindow      *self);

/* Where the demo model and images are: the source tree when run from the
 * build tree, else the installed data folder.  NULL when missing. */
gboolean          somscope_find_demo              (GFile              **model,
                                                   GFile              **dataset);

G_END_DECLS
