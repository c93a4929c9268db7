/* somscope-document.h: a session: model, dataset, layers, maps, selection, and the jobs behind them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gdk/gdk.h>

#include "som-preprocess.h"
#include "som-session.h"

#include "somscope-input.h"
#include "somscope-layer.h"
#include "somscope-types.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_DOCUMENT (somscope_document_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeDocument, somscope_document, SOMSCOPE, DOCUMENT, GObject)

SomscopeDocument     *somscope_document_new                (GSettings            *settings);

/* Opens @model and (optionally) @dataset, runs the model on the dataset's
 * images in a worker thread and starts training the default layers' maps.
 * The document is filled only when loading succeeded, so a failed load
 * leaves it as it was.  Training goes on after the callback. */
void                  somscope_document_load_async         (SomscopeDocument     *self,
                                                            GFile                *model,
                                                            GFile                *dataset,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
gboolean              somscope_document_load_finish        (SomscopeDocument     *self,
                                                            GAsyncResult         *result,
                                                            GError              **error);

/* Pad, resize, mean and std for the images (before loading). */
void                  somscope_document_set_preprocessing  (SomscopeDocument     *self,
                                                            const SomPreprocessOptions *options);
const SomPreprocessOptions *somscope_document_get_preprocessing (SomscopeDocument *self);
/* After a load failed because the images do not fit the model's input:
 * the likely fix (TRUE), to propose to the user. */
gboolean              somscope_document_get_suggested_preprocessing (SomscopeDocument *self,
                                                            SomPreprocessOptions *options);

SomscopeDocumentState somscope_document_get_state          (SomscopeDocument     *self);
const char           *somscope_document_get_title          (SomscopeDocument     *self);
const char           *somscope_document_get_summary        (SomscopeDocument     *self);
GFile                *somscope_document_get_model_file     (SomscopeDocument     *self);
GFile                *somscope_document_get_dataset_file   (SomscopeDocument     *self);
GListModel           *somscope_document_get_layers         (SomscopeDocument     *self);
GListModel           *somscope_document_get_inputs         (SomscopeDocument     *self);
const char * const   *somscope_document_get_class_names    (SomscopeDocument     *self);

gboolean              somscope_document_get_busy           (SomscopeDocument     *self);
/* The running jobs' time left, from their progress so far ("about 40 s
 * left"), or NULL while too early to tell (the "estimate" property). */
const char           *somscope_document_get_estimate       (SomscopeDocument     *self);
/* Seconds left when @fraction of the work is done, @elapsed_us after it
 * stood at @start_fraction (linear); −1 while too early to tell. */
double                somscope_estimate_remaining          (gint64                elapsed_us,
                                                            double                start_fraction,
                                                            double                fraction);
char                 *somscope_format_remaining            (double                seconds);
double                somscope_document_get_progress       (SomscopeDocument     *self);
const char           *somscope_document_get_message        (SomscopeDocument     *self);

/* Saves a .somscope session (contracts.md section 4) in a worker thread:
 * the model and dataset references, labels, predictions and, for every
 * mapped layer with a map, its SOM, BMUs, hits, U-matrix and codes. */
void                  somscope_document_save_async         (SomscopeDocument     *self,
                                                            const char           *path,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
gboolean              somscope_document_save_finish        (SomscopeDocument     *self,
                                                            GAsyncResult         *result,
                                                            GError              **error);
/* Maps were trained since the last save. */
gboolean              somscope_document_get_modified       (SomscopeDocument     *self);
/* $XDG_STATE_HOME/somscope/autosave.somscope: written after training jobs. */
char                 *somscope_document_autosave_path      (void);

/* (Re)trains every mapped layer with the current settings. */
void                  somscope_document_train              (SomscopeDocument     *self);
/* (Re)runs the attack with the current settings (also done when they
 * change); one still running is cancelled.  The last finished attack's
 * results stay until the new one finishes; a cancelled one changes nothing. */
void                  somscope_document_attack             (SomscopeDocument     *self);
/* An attack job is in flight. */
gboolean              somscope_document_get_attacking      (SomscopeDocument     *self);
/* The running attack's own progress (its share of the job line, from 0;
 * above 0 once the core has reported a step), -1 when none runs. */
double                somscope_document_get_attack_progress (SomscopeDocument    *self);
/* The last finished attack in a line (method, ε, predictions changed), or
 * why it failed; NULL before any. */
const char           *somscope_document_get_attack_summary (SomscopeDocument     *self);
/* Stops every running job; finished maps stay. */
void                  somscope_document_cancel             (SomscopeDocument     *self);
/* Before loading: the jobs a load starts (training the maps, the attack)
 * wait for somscope_document_release_jobs(), so a window can paint the
 * loaded document before they compete with it for the cores. */
void                  somscope_document_hold_jobs          (SomscopeDocument     *self);
void                  somscope_document_release_jobs       (SomscopeDocument     *self);

SomscopeLayer        *somscope_document_get_selected_layer (SomscopeDocument     *self);
void                  somscope_document_set_selected_layer (SomscopeDocument     *self,
                                                            SomscopeLayer        *layer);
int                   somscope_document_get_selected_input (SomscopeDocument     *self);
void                  somscope_document_set_selected_input (SomscopeDocument     *self,
                                                            int                   input);
int                   somscope_document_get_selected_unit  (SomscopeDocument     *self);
void                  somscope_document_set_selected_unit  (SomscopeDocument     *self,
                                                            int                   unit);

/* After an attack: the adversarial image of @input and the perturbation,
 * amplified, in a diverging colour map.  FALSE before. */
gboolean              somscope_document_get_adversarial_images (SomscopeDocument *self,
                                                            guint                 input,
                                                            GdkTexture          **adversarial,
                                                            GdkTexture          **perturbation);

/* The best-matching unit of @input on @layer's map, or -1 if not trained. */
int                   somscope_document_get_bmu            (SomscopeDocument     *self,
                                                            SomscopeLayer        *layer,
                                                            guint                 input);

/* The model a session refers to: SOM_SESSION_REF_OK when loaded, _MISSING
 * when the file moved or was deleted, _CHANGED when its SHA-256 differs
 * (then it is not used), _NONE without one.  The maps show in every case. */
SomSessionRefState    somscope_document_get_model_state    (SomscopeDocument     *self);
/* The path the session gave for a model that is not loaded, or NULL. */
const char           *somscope_document_get_model_ref_path (SomscopeDocument     *self);
/* The user found the session's model at @file: accepted when its SHA-256 is
 * the one the session recorded; then it is loaded and the document is
 * modified (a save records the new place).  Nothing changes on failure. */
void                  somscope_document_locate_model_async (SomscopeDocument     *self,
                                                            GFile                *file,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
gboolean              somscope_document_locate_model_finish (SomscopeDocument    *self,
                                                            GAsyncResult         *result,
                                                            GError              **error);

/* The document as a session, for workers (exports): taken in the main
 * thread, turned into a SomSession in any thread. */
typedef struct _SomscopeSnapshot SomscopeSnapshot;
SomscopeSnapshot     *somscope_document_snapshot           (SomscopeDocument     *self);
SomSession           *somscope_snapshot_to_session         (SomscopeSnapshot     *snapshot,
                                                            GError              **error);
void                  somscope_snapshot_free               (SomscopeSnapshot     *snapshot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomscopeSnapshot, somscope_snapshot_free)

/* Every worker thread of the app counts itself in and out; the application
 * waits for them (after cancelling) before it exits. */
void                  somscope_worker_enter                (void);
void                  somscope_worker_leave                (void);
/* A render thread's drawing, waited for as the workers' jobs (never hurried). */
void                  somscope_render_enter                (void);
void                  somscope_render_leave                (void);
gboolean              somscope_wait_for_workers            (guint                 timeout_ms);

/* The name of the model's class @k (its number when the images' classes
 * are not the model's) */
const char *somscope_document_get_model_class_name (SomscopeDocument *self,
                                                    int               k);

G_END_DECLS
