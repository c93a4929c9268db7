/* somscope-upload-pool.h: keeps the X server upload memory of GTK's cairo renderer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

cairo_surface_t *somscope_upload_pool_keep (GtkWidget *window);

G_END_DECLS
