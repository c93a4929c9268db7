/* somscope-preferences-window.h: SOM and attack parameters, bound to GSettings
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_PREFERENCES_WINDOW (somscope_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (SomscopePreferencesWindow, somscope_preferences_window,
                      SOMSCOPE, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *somscope_preferences_window_new (GSettings *settings);

G_END_DECLS
