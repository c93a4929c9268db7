/* somscope-window-private.h: what the window's files share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "somscope-progress-line.h"
#include "somscope-trajectory-view.h"
#include "somscope-window.h"

G_BEGIN_DECLS

struct _SomscopeWindow
{
  AdwApplicationWindow parent_instance;

  /* Template widgets */
  AdwToastOverlay     *toast_overlay;
  AdwWindowTitle      *window_title;
  GtkMenuButton       *primary_menu_button;
  GtkWidget           *sidebar_button;
  SomscopeProgressLine *progress_bar;     /* along the header bar's bottom edge */
  GtkWidget           *stop_button;
  GtkLabel            *attack_label;
  GtkStack            *main_stack;
  AdwStatusPage       *loading_page;
  GtkSpinner          *loading_spinner;
  AdwStatusPage       *empty_page;
  GtkWidget           *sidebar;
  GtkListView         *layer_list;
  GtkSearchEntry      *layer_search;
  GtkLabel            *dataset_label;
  GtkDropDown         *class_dropdown;
  GtkStringList       *class_names;
  GtkLabel            *layer_title;
  GtkWidget           *feature_box;
  GtkAdjustment       *feature_adjustment;
  GtkWidget           *feature_spin;
  GtkWidget           *gallery_empty_label;
  GtkFilter           *mapped_filter;
  GtkLabel            *feature_count_label;
  AdwViewStack        *view_stack;
  SomscopeMapView     *umatrix_view;
  SomscopeMapView     *hits_view;
  SomscopeMapView     *classes_view;
  SomscopeMapView     *component_view;
  SomscopeMapView     *response_view;
  GtkListView         *multiples_list;
  GtkGridView         *gallery;
  GtkLabel            *gallery_count;
  GtkLabel            *unit_mix_label;
  GtkToggleButton     *unit_filter_button;
  GtkToggleButton     *wrong_filter_button;
  GtkStack            *trajectory_stack;
  GtkPicture          *input_picture;
  GtkLabel            *input_label;
  GtkWidget           *adversarial_box;
  GtkPicture          *adversarial_picture;
  GtkPicture          *perturbation_picture;
  SomscopeTrajectoryView *trajectory_view;
  GMenu               *recent_section;
  GtkListBox          *recent_list;
  GtkWidget           *recent_clamp;

  /* Template objects */
  GtkFilterListModel  *mapped_layers;
  GtkSingleSelection  *layer_selection;
  GtkSingleSelection  *multiple_selection;
  GtkFilterListModel  *filtered_inputs;
  GtkCustomFilter     *input_filter;
  GtkSliceListModel   *gallery_slice;     /* what the gallery shows of filtered_inputs */
  GtkSingleSelection  *input_selection;

  /* Owned */
  SomscopeDocument    *document;
  SomscopeDocument    *pending;           /* loading; replaces document on success */
  GFile               *pending_model;     /* what the user opened, for the recent files */
  GFile               *pending_dataset;
  GCancellable        *pending_cancellable;
  GSignalGroup        *document_signals;
  GBindingGroup       *document_bindings;
  char                *last_error;
  GtkWidget           *preprocess_dialog;   /* borrowed, while it shows */

  GtkTreeListModel    *layer_tree;        /* the sidebar's layers by module */
  GSignalGroup        *layers_signals;    /* the document's layer list */
  GSignalGroup        *selected_layer_signals;
  SomMap              *unit_filter_map;   /* the map the unit filter last read */
  guint                gallery_grow_id;   /* tick callback growing gallery_slice */
  guint                gallery_fit_id;    /* idle fitting the gallery's columns to its width */
  guint                release_jobs_id;   /* tick callback starting a new document's jobs */
  guint                release_jobs_frames; /* frames painted since the document came */
  gboolean             release_jobs_layout; /* the last of them had a layout phase */
  GdkFrameClock       *release_jobs_clock;  /* watched for layouts while the jobs wait */
  gulong               release_jobs_layout_id;
  cairo_surface_t     *upload_pool;       /* keeps the X server upload memory (X11, cairo renderer) */
  gboolean             syncing_selection;
  gboolean             close_after_save;
  gboolean             close_confirmed;
};

void somscope_window_install_actions (SomscopeWindowClass *klass);
void somscope_window_update_actions  (SomscopeWindow      *self);
/* somscope-window-session.c */
void somscope_window_install_session_actions (SomscopeWindowClass *klass);
void somscope_window_update_session_actions  (SomscopeWindow      *self);

void somscope_window_recent_class_init (SomscopeWindowClass *klass);
void somscope_window_recent_init     (SomscopeWindow      *self);
void somscope_window_remember        (SomscopeWindow      *self,
                                      GFile               *model,
                                      GFile               *dataset);

G_END_DECLS
