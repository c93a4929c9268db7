/* bench-memory.c: the executor's peak live tensor bytes for one batch of an
 * image model, without taps, with raw taps and with taps reduced to channel
 * means inside the pass (docs/onnx.md, "Memory")
 *
 *   build/tools/bench-memory MODEL.onnx [BATCH]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "som.h"
#include "som-model-private.h"

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(SomArray) x = NULL;
  g_autoptr(GArray) taps = NULL;
  guint c, h, w, batch = argc > 2 ? (guint) atoi (argv[2]) : 16;
  const char *modes[] = { "no taps", "raw taps", "channel means in the pass" };

  if (argc < 2)
    {
      fprintf (stderr, "usage: bench-memory MODEL.onnx [BATCH]\n");
      return 2;
    }
  model = som_model_load (argv[1], &error);
  if (model == NULL || !som_model_get_image_shape (model, &c, &h, &w, NULL, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  x = som_array_new (SOM_DTYPE_F32, 4, (gsize[]) { batch, c, h, w }, &error);
  if (x == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  for (gsize i = 0; i < som_array_n_elements (x); i++)
    ((float *) x->data)[i] = (float) (i % 97) / 97.0f;
  taps = som_model_get_default_taps (model);
  printf ("%s, batch %u, %u default taps; weights and constants %.1f MB\n", argv[1], batch, taps->len,
          _som_buffer_live_bytes () / 1e6);
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      g_autoptr(GPtrArray) tv = NULL;
      g_autoptr(SomArray) out = NULL;
      gsize base = _som_buffer_live_bytes ();

      _som_buffer_peak_reset ();
      if (m == 0)
        out = som_model_run_images (model, x, NULL, 0, NULL, NULL, &error);
      else if (m == 1)
        out = som_model_run_images (model, x, (const guint *) taps->data, taps->len, &tv, NULL, &error);
      else
        out = som_model_run_images_means (model, x, (const guint *) taps->data, taps->len, &tv, NULL, &error);
      if (out == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      printf ("%-26s peak live %8.1f MB (%.1f MB an image)\n", modes[m], (_som_buffer_peak_bytes () - base) / 1e6,
              (_som_buffer_peak_bytes () - base) / 1e6 / batch);
    }
  return 0;
}
