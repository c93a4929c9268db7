/* fuzz-dataset.h: opens a dataset written by a harness and reads it all
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "fuzz-common.h"

static void
fuzz_read_dataset (const char *path, const SomDatasetOptions *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = som_dataset_open (path, options, NULL, &error);
  guint c, h, w;
  gsize n;

  fuzz_check_error (ds != NULL, error);
  if (ds == NULL)
    return;
  n = som_dataset_get_count (ds);
  som_dataset_get_image_shape (ds, &c, &h, &w);
  g_assert (n > 0);
  if (som_dataset_has_labels (ds))
    {
      const gint32 *labels = som_dataset_get_labels (ds);
      guint k = som_dataset_get_n_classes (ds);
      const char * const *names = som_dataset_get_class_names (ds);

      for (gsize i = 0; i < n; i++)
        g_assert (labels[i] >= 0 && (guint) labels[i] < k);
      for (guint i = 0; i < k; i++)
        g_assert (names[i] != NULL);
    }
  else
    {
      g_autoptr(GError) local = NULL;
      g_assert (!som_dataset_require_labels (ds, &local));
      fuzz_check_error (FALSE, local);
    }
  for (gsize start = 0; start < MIN (n, 64); start += 16)
    {
      g_autoptr(GError) local = NULL;
      gsize k = MIN (16, n - start);
      g_autoptr(SomArray) batch = som_dataset_read_batch (ds, start, k, &local);

      fuzz_check_error (batch != NULL, local);
      if (batch != NULL)
        {
          const float *f = batch->data;
          /* A sample: a big image is legitimate work, not a slow unit. */
          for (gsize i = 0; i < MIN (som_array_n_elements (batch), 65536); i++)
            g_assert (f[i] >= 0.f && f[i] <= 1.f);
        }
    }
  if (n > 0)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(SomArray) last = som_dataset_read_image (ds, n - 1, &local);
      fuzz_check_error (last != NULL, local);
    }
}
