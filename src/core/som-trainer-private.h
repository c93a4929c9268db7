/* som-trainer-private.h: the trainer's initialisation, for tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-trainer.h"

G_BEGIN_DECLS

/* Fills @codebook (units × dim) as training would before its first epoch. */
gboolean _som_trainer_initialize (const SomTrainParams *params,
                                  SomChunkSource       *source,
                                  float                *codebook,
                                  GError              **error);

G_END_DECLS
