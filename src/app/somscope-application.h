/* somscope-application.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_APPLICATION (somscope_application_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeApplication, somscope_application, SOMSCOPE, APPLICATION, AdwApplication)

SomscopeApplication *somscope_application_new          (void);
/* Never NULL; see somscope_settings_new(). */
GSettings           *somscope_application_get_settings (SomscopeApplication *self);

G_END_DECLS
