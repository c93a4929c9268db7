/* fuzz-map.h: uses a SomMap a harness loaded, as the app and `figure` would
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "fuzz-common.h"

static void
fuzz_use_map (SomMap *map)
{
  guint k = som_map_get_n_units (map);
  guint dim = som_map_get_dim (map);
  g_autofree gint32 *bmus = NULL;
  g_autofree gint32 *bmus2 = NULL;
  g_autofree float *dist = NULL;
  g_autofree float *resp = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_assert (k > 0 && dim > 0);
  g_assert (som_grid_get_n_units (som_map_get_grid (map)) == k);
  for (SomUMatrixStat s = SOM_UMATRIX_MEAN; s <= SOM_UMATRIX_MAX; s++)
    {
      g_autoptr(SomArray) u = som_map_umatrix (map, s);
      g_assert (u != NULL);
    }
  {
    g_autoptr(SomArray) plane = som_map_component_plane (map, dim - 1, &error);
    fuzz_check_error (plane != NULL, error);
    g_clear_error (&error);
  }
  if ((guint64) k * dim > 1 << 20)
    return;
  bmus = g_new (gint32, k);
  bmus2 = g_new (gint32, k);
  dist = g_new (float, k);
  resp = g_new (float, k);
  ok = som_map_find_bmus (map, som_map_get_codebook (map), k, dim, bmus, bmus2, dist, NULL, &error);
  fuzz_check_error (ok, error);
  if (!ok)
    return;
  som_map_response (map, som_map_get_codebook (map), resp);
  som_map_topographic_error (map, bmus, bmus2, k);
  {
    g_autoptr(SomArray) hits = som_map_hits (map, bmus, k);
    g_autoptr(SomArray) class_hits = som_map_class_hits (map, bmus, bmus, k, k);
    g_autoptr(SomArray) majority = NULL;
    g_autoptr(SomArray) purity = NULL;

    g_assert (hits != NULL && class_hits != NULL);
    som_map_class_map (map, class_hits, &majority, &purity);
  }
  {
    g_autofree const char **names = som_map_list_arrays (map);
    for (guint i = 0; names[i] != NULL; i++)
      g_assert (som_map_get_array (map, names[i]) != NULL);
  }
}
