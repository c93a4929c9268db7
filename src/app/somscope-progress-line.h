/* somscope-progress-line.h: a thin progress line that only redraws
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_PROGRESS_LINE (somscope_progress_line_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeProgressLine, somscope_progress_line, SOMSCOPE, PROGRESS_LINE, GtkWidget)

GtkWidget *somscope_progress_line_new          (void);
double     somscope_progress_line_get_fraction (SomscopeProgressLine *self);
void       somscope_progress_line_set_fraction (SomscopeProgressLine *self,
                                                double                fraction);

G_END_DECLS
