/* somscope-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "somscope-application.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_WINDOW (somscope_window_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeWindow, somscope_window, SOMSCOPE, WINDOW, AdwApplicationWindow)

SomscopeWindow *somscope_window_new (SomscopeApplication *app);

G_END_DECLS
