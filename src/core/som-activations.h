/* som-activations.h: "bring your own" activations, a .npz of per-layer arrays
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "som-array.h"

G_BEGIN_DECLS

/* A .npz whose .npy members are layers (N×D or N×C×H×W), except `labels`
 * (N integers) and `adversarial/<layer>` (the same shape as <layer>); an
 * optional `layers.json` ([{"member","index","name","op","shape"}…], as
 * `somscope-cli activations` writes) names them and gives their order.
 * Without it the layers come in archive order, named after their members.
 * Opening validates the headers (shapes, dtypes, a common N) without reading
 * the data; the layers are read one at a time. */
#define SOM_TYPE_ACTIVATIONS (som_activations_get_type ())
G_DECLARE_FINAL_TYPE (SomActivations, som_activations, SOM, ACTIVATIONS, GObject)

SomActivations *som_activations_open              (const char     *path,
                                                   GError        **error);
const char     *som_activations_get_path          (SomActivations *self);
/* N, the number of inputs. */
gsize           som_activations_get_n_inputs      (SomActivations *self);
/* Labels as int32, or NULL when the file has none. */
const SomArray *som_activations_get_labels        (SomActivations *self);

guint           som_activations_get_n_layers      (SomActivations *self);
/* The member's array name (e.g. "layer_007" or "fc1"). */
const char     *som_activations_get_layer_member  (SomActivations *self,
                                                   guint           position);
/* From layers.json, else the member name. */
const char     *som_activations_get_layer_name    (SomActivations *self,
                                                   guint           position);
/* From layers.json, else NNN of a "layer_NNN" member, else the position. */
gint64          som_activations_get_layer_index   (SomActivations *self,
                                                   guint           position);
/* From layers.json, else "". */
const char     *som_activations_get_layer_op      (SomActivations *self,
                                                   guint           position);
/* The stored shape (N first); returns ndim. */
guint           som_activations_get_layer_shape   (SomActivations *self,
                                                   guint           position,
                                                   gsize           shape[SOM_ARRAY_MAX_DIMS]);
gboolean        som_activations_has_adversarial   (SomActivations *self,
                                                   guint           position);
/* The layer's values as float32 (converted from any numeric dtype). */
SomArray       *som_activations_read_layer        (SomActivations *self,
                                                   guint           position,
                                                   GError        **error);
SomArray       *som_activations_read_adversarial  (SomActivations *self,
                                                   guint           position,
                                                   GError        **error);

G_END_DECLS
