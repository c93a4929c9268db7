/* bench-datasets.c: how fast datasets open and preprocess (a benchmark, not a test)
 *
 *   build/tools/bench-datasets [IMAGES.gz]   (meson test -C build --benchmark bench-datasets)
 *
 * Prints, for Fashion-MNIST's 60,000 training images: the time to open
 * (gunzip + labels), then images/s through the pixel pipeline for three
 * settings (plain [0,1]; grey→3 + pad 2 + mean/std; bilinear resize to
 * 3×32×32), in batches of 64.  tools/bench-datasets-torch.py measures the
 * same with numpy/torchvision so the two can be run side by side.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>

#include "som.h"

static double
run_pipeline (SomDataset *ds, const SomPreprocessOptions *opts, guint c, guint h, guint w, gsize *n_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomPreprocess) pp = som_preprocess_new (ds, opts, c, h, w, FALSE, &error);
  g_autoptr(GTimer) timer = g_timer_new ();
  gsize n = som_dataset_get_count (ds);
  double checksum = 0;

  if (pp == NULL)
    g_error ("%s", error->message);
  for (gsize start = 0; start < n; start += 64)
    {
      g_autoptr(SomArray) b = som_preprocess_read_model_input (pp, start, MIN (64, n - start), &error);
      if (b == NULL)
        g_error ("%s", error->message);
      checksum += ((float *) b->data)[som_array_n_elements (b) / 2];
    }
  *n_out = n;
  g_assert_true (checksum == checksum);
  return g_timer_elapsed (timer, NULL);
}

int
main (int argc, char **argv)
{
  const char *path = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(GTimer) timer = g_timer_new ();
  SomPreprocessOptions plain = { 0 };
  SomPreprocessOptions padded = { .pad = 2, .n_mean = 1, .mean = { 0.286f }, .n_std = 1, .std = { 0.353f } };
  SomPreprocessOptions resized = { .resize_height = 32, .resize_width = 32 };
  double open_s, s;
  gsize n;

  ds = som_dataset_open (path, NULL, NULL, &error);
  if (ds == NULL)
    {
      g_printerr ("bench-datasets: %s\n", error->message);
      return 1;
    }
  open_s = g_timer_elapsed (timer, NULL);
  printf ("open %s: %" G_GSIZE_FORMAT " images in %.3f s (%.0f images/s)\n", path,
          som_dataset_get_count (ds), open_s, som_dataset_get_count (ds) / open_s);

  s = run_pipeline (ds, &plain, 1, 28, 28, &n);
  printf ("pixels 1x28x28 ([0,1]):               %8.0f images/s\n", n / s);
  s = run_pipeline (ds, &padded, 3, 32, 32, &n);
  printf ("grey->3, pad 2, mean/std -> 3x32x32:  %8.0f images/s\n", n / s);
  s = run_pipeline (ds, &resized, 3, 32, 32, &n);
  printf ("grey->3, bilinear resize -> 3x32x32:  %8.0f images/s\n", n / s);
  return 0;
}
