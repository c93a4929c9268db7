/* som-types.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdlib.h>

#include "som-types.h"

G_DEFINE_QUARK (som-error-quark, som_error)

const char *
som_version (void)
{
  return PACKAGE_VERSION;
}

guint64
som_memory_budget (void)
{
  const char *env = g_getenv ("SOMSCOPE_MEMORY_BUDGET");

  if (env != NULL && *env != '\0')
    {
      guint64 v = g_ascii_strtoull (env, NULL, 10);
      if (v > 0)
        return v;
    }
  return G_GUINT64_CONSTANT (4) << 30;
}
