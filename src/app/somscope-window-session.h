/* somscope-window-session.h: the window's session commands: data export, a moved model, the attack
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-session.h"

#include "somscope-export-data.h"
#include "somscope-window.h"

G_BEGIN_DECLS

/* Exports the document's data into @dir (what the Export Data dialog does
 * after its folder chooser); the outcome goes to a toast, an error also to
 * somscope_window_get_last_error(). */
void     somscope_window_export_data      (SomscopeWindow          *self,
                                           SomscopeExportDataFlags  what,
                                           SomExportFormat          format,
                                           const char              *dir);
/* Saves the session to @path, reporting the outcome as Ctrl+S does (an
 * error in a toast and somscope_window_get_last_error()); a failed save
 * leaves the file that was there and the document as they were. */
void     somscope_window_save_to          (SomscopeWindow          *self,
                                           const char              *path);
/* The user's answer to "where is the model?" (what the file chooser of
 * win.locate-model gives): checked against the session's SHA-256, then
 * loaded; the outcome goes to a toast. */
void     somscope_window_locate_model     (SomscopeWindow          *self,
                                           GFile                   *file);
/* After a session opened: a moved model is asked for, a changed one
 * reported (a toast naming the file, with a Locate button). */
void     somscope_window_check_references (SomscopeWindow          *self);
/* Exports, saves and model look-ups still running (for tests). */
guint    somscope_window_get_n_session_jobs (SomscopeWindow        *self);
/* Nothing loading, no job of the document, no session job. */
gboolean somscope_window_is_idle          (SomscopeWindow          *self);

G_END_DECLS
