/* somscope-input.h: one input image of the document, an item of the gallery
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gdk/gdk.h>

#include "somscope-types.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_INPUT (somscope_input_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeInput, somscope_input, SOMSCOPE, INPUT, GObject)

/* @label and @prediction are class indices, or -1 when unknown; the names are
 * interned by the caller's class list (pass NULL when unknown). */
SomscopeInput *somscope_input_new                        (guint          index,
                                                          GdkTexture    *thumbnail,
                                                          int            label,
                                                          const char    *label_name,
                                                          int            prediction,
                                                          const char    *prediction_name);
guint          somscope_input_get_index                  (SomscopeInput *self);
int            somscope_input_get_label                  (SomscopeInput *self);
int            somscope_input_get_prediction             (SomscopeInput *self);
int            somscope_input_get_adversarial_prediction (SomscopeInput *self);
void           somscope_input_set_adversarial_prediction (SomscopeInput *self,
                                                          int            prediction,
                                                          const char    *prediction_name);
gboolean       somscope_input_get_misclassified          (SomscopeInput *self);
void           somscope_input_set_foreign_classes        (SomscopeInput *self,
                                                          gboolean       foreign);
GdkTexture    *somscope_input_get_thumbnail              (SomscopeInput *self);

G_END_DECLS
