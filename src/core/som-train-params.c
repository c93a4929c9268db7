/* som-train-params.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "som-train-params.h"

void
som_train_params_init (SomTrainParams *params)
{
  *params = (SomTrainParams) {
    .rows = 10,
    .cols = 10,
    .topology = SOM_TOPOLOGY_HEX,
    .toroidal = FALSE,
    .epochs = 10,
    .mode = SOM_MODE_BATCH,
    .init = SOM_INIT_PCA,
    .neighborhood = SOM_NEIGHBORHOOD_GAUSSIAN,
    .radius0 = 0,
    .radius1 = 1,
    .cooling = SOM_COOLING_LINEAR,
    .alpha0 = 0.5,
    .distance = SOM_DISTANCE_EUCLIDEAN,
    .nonfinite = SOM_NONFINITE_ERROR,
    .seed = 0,
    .chunk_rows = 0,
    .epoch_func = NULL,
    .epoch_data = NULL,
  };
}

double
som_train_params_get_radius0 (const SomTrainParams *params)
{
  if (params->radius0 > 0)
    return params->radius0;
  return MAX (params->rows, params->cols) / 2.0;
}

double
som_neighborhood_weight (SomNeighborhood neighborhood, double d2, double sigma)
{
  double s2 = sigma * sigma;

  switch (neighborhood)
    {
    case SOM_NEIGHBORHOOD_BUBBLE:
      return d2 <= s2 ? 1.0 : 0.0;
    case SOM_NEIGHBORHOOD_CUT_GAUSSIAN:
      return d2 <= s2 ? exp (-d2 / (2 * s2)) : 0.0;
    case SOM_NEIGHBORHOOD_EPANECHNIKOV:
      return MAX (0.0, 1.0 - d2 / s2);
    case SOM_NEIGHBORHOOD_GAUSSIAN:
    default:
      return exp (-d2 / (2 * s2));
    }
}

double
som_cooling_value (SomCooling cooling, double start, double end, double t)
{
  t = CLAMP (t, 0.0, 1.0);
  switch (cooling)
    {
    case SOM_COOLING_EXPONENTIAL:
      if (start > 0 && end > 0)
        return start * pow (end / start, t);
      return start + (end - start) * t;
    case SOM_COOLING_INVERSE:
      /* start / (1 + k·t) with k chosen so that t = 1 gives end */
      if (start > 0 && end > 0)
        return start / (1.0 + t * (start / end - 1.0));
      return start + (end - start) * t;
    case SOM_COOLING_LINEAR:
    default:
      return start + (end - start) * t;
    }
}

#define ENUM_STRINGS(type, prefix, ...)                                     \
  static const char *const prefix##_names[] = { __VA_ARGS__ };             \
  const char *                                                              \
  som_##prefix##_to_string (type value)                                     \
  {                                                                         \
    if ((guint) value < G_N_ELEMENTS (prefix##_names))                      \
      return prefix##_names[value];                                         \
    return "unknown";                                                       \
  }                                                                         \
  gboolean                                                                  \
  som_##prefix##_from_string (const char *text, type *value)                \
  {                                                                         \
    for (guint i = 0; i < G_N_ELEMENTS (prefix##_names); i++)               \
      if (g_strcmp0 (text, prefix##_names[i]) == 0)                         \
        {                                                                   \
          *value = (type) i;                                                \
          return TRUE;                                                      \
        }                                                                   \
    return FALSE;                                                           \
  }

ENUM_STRINGS (SomMode, mode, "batch", "online")
ENUM_STRINGS (SomInit, init, "pca", "random")
ENUM_STRINGS (SomNeighborhood, neighborhood, "gaussian", "bubble", "cut-gaussian", "epanechnikov")
ENUM_STRINGS (SomCooling, cooling, "linear", "exponential", "inverse")
ENUM_STRINGS (SomDistance, distance, "euclidean", "cosine")
ENUM_STRINGS (SomNonfinite, nonfinite, "error", "skip")
