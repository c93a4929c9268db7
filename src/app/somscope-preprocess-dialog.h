/* somscope-preprocess-dialog.h: proposes pad/resize/mean/std when the images do not fit the model
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "som-preprocess.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_PREPROCESS_DIALOG (somscope_preprocess_dialog_get_type ())

G_DECLARE_FINAL_TYPE (SomscopePreprocessDialog, somscope_preprocess_dialog, SOMSCOPE, PREPROCESS_DIALOG,
                      AdwMessageDialog)

/* A dialog over @parent saying @message (why loading failed), its fields
 * prefilled with @suggestion. */
GtkWidget *somscope_preprocess_dialog_new         (GtkWindow                  *parent,
                                                   const SomPreprocessOptions *suggestion,
                                                   const char                 *message);
/* The options as the user left them; FALSE with an error naming the field
 * when one does not parse. */
gboolean   somscope_preprocess_dialog_get_options (SomscopePreprocessDialog   *self,
                                                   SomPreprocessOptions       *options,
                                                   GError                    **error);

G_END_DECLS
