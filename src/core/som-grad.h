/* som-grad.h: the input gradient of a classifier's loss (reverse mode)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "som-model.h"

G_BEGIN_DECLS

/* Checks that graph output 0 depends differentiably on the image input:
 * every node on a path from the input to the output must have a gradient.
 * The error names the first node that has none, or says there is no path. */
gboolean  som_model_check_differentiable (SomModel       *model,
                                          GError        **error);

/* Cross-entropy on the logits (graph output 0), summed over the batch, and
 * its gradient with respect to the image input.  A model whose output node
 * is Softmax (or LogSoftmax) is handled as the negative log-likelihood of
 * its log, i.e. the cross-entropy of the Softmax's input.
 * @images: the model's input (N×C×H×W float32, as for som_model_run_images).
 * @labels: N class indices in [0, K).
 * @grad: (out): d loss / d images, the shape of @images.
 * @logits: (out) (optional): graph output 0 (N×K).
 * @loss: (out) (optional): the summed loss.
 * The forward pass keeps every intermediate; the backward pass runs the
 * operators' gradients in reverse graph order, with the same threads as the
 * forward pass (convolutions through sgemm and col2im). */
gboolean  som_model_input_gradient       (SomModel       *model,
                                          const SomArray *images,
                                          const gint32   *labels,
                                          SomArray      **grad,
                                          SomArray      **logits,
                                          double         *loss,
                                          GCancellable   *cancellable,
                                          GError        **error);

G_END_DECLS
