/* somscope-settings.h: the app's GSettings, with a fallback when the schema is not installed
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Never NULL and never aborts.  Looks the schema up in the default source
 * (installed, or GSETTINGS_SCHEMA_DIR), then in the build tree; when neither
 * has it, uses the schema compiled into the app's resources with a memory
 * backend, so every key reads its default and nothing is persisted.
 * @persistent (optional) says which case applied. */
GSettings *somscope_settings_new (gboolean *persistent);

G_END_DECLS
