/* som-grad-private.h: what the gradient tables say about an operator, for
 * the test that keeps them in step with the executor's operator table
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SOM_GRAD_UNKNOWN,   /* in neither table: a model through it is refused */
  SOM_GRAD_DEFINED,   /* has a gradient function */
  SOM_GRAD_NONE,      /* carries no gradient (integer or piecewise constant) */
} SomGradKind;

SomGradKind _som_grad_op_kind (const char *op);

G_END_DECLS
