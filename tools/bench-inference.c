/* bench-inference.c: images/s of an ONNX image model in libsomscope, and bare
 * OpenBLAS sgemm GFLOP/s; driven by tools/bench-inference.
 *
 *   bench-inference MODEL --batch B [--threads T] [--seconds S]
 *   bench-inference --sgemm N [--threads T] [--seconds S]
 *
 * Prints one JSON object on stdout.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "som.h"

int
main (int argc, char **argv)
{
  int batch = 64, threads = 2, sgemm = 0;
  double seconds = 2.0;
  const char *model_path = NULL;
  gint64 t0;
  int iters = 0;

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--batch") && i + 1 < argc)
        batch = atoi (argv[++i]);
      else if (g_str_equal (argv[i], "--threads") && i + 1 < argc)
        threads = atoi (argv[++i]);
      else if (g_str_equal (argv[i], "--seconds") && i + 1 < argc)
        seconds = g_ascii_strtod (argv[++i], NULL);
      else if (g_str_equal (argv[i], "--sgemm") && i + 1 < argc)
        sgemm = atoi (argv[++i]);
      else
        model_path = argv[i];
    }
  openblas_set_num_threads (threads);

  if (sgemm > 0)
    {
      gsize n = sgemm;
      float *a = g_new (float, n * n), *b = g_new (float, n * n), *c = g_new0 (float, n * n);
      for (gsize i = 0; i < n * n; i++)
        {
          a[i] = (float) (i % 17) / 17.0f;
          b[i] = (float) (i % 13) / 13.0f;
        }
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
      t0 = g_get_monotonic_time ();
      do
        {
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
          iters++;
        }
      while (g_get_monotonic_time () - t0 < seconds * 1e6 || iters < 3);
      printf ("{\"sgemm_n\": %d, \"threads\": %d, \"gflops\": %.2f}\n", sgemm, threads,
              2.0 * n * n * n * iters / ((g_get_monotonic_time () - t0) / 1e6) / 1e9);
      g_free (a);
      g_free (b);
      g_free (c);
      return 0;
    }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SomModel) model = NULL;
    g_autoptr(SomArray) x = NULL;
    guint c, h, w;
    gboolean cl;
    gsize shape[4];
    double elapsed, cpu;
    struct rusage ru0, ru1;

    if (model_path == NULL)
      {
        g_printerr ("usage: bench-inference MODEL --batch B [--threads T] [--seconds S] | --sgemm N\n");
        return 2;
      }
    model = som_model_load (model_path, &error);
    if (model == NULL || !som_model_get_image_shape (model, &c, &h, &w, &cl, &error))
      {
        g_printerr ("%s\n", error->message);
        return 1;
      }
    shape[0] = batch;
    shape[1] = cl ? h : c;
    shape[2] = cl ? w : h;
    shape[3] = cl ? c : w;
    x = som_array_new (SOM_DTYPE_F32, 4, shape, &error);
    for (gsize i = 0; i < som_array_n_elements (x); i++)
      ((float *) x->data)[i] = (float) ((i * 2654435761u) % 1000) / 1000.0f;
    for (int k = 0; k < 2; k++)
      {
        g_autoptr(SomArray) y = som_model_run_images (model, x, NULL, 0, NULL, NULL, &error);
        if (y == NULL)
          {
            g_printerr ("%s\n", error->message);
            return 1;
          }
      }
    getrusage (RUSAGE_SELF, &ru0);
    t0 = g_get_monotonic_time ();
    do
      {
        g_autoptr(SomArray) y = som_model_run_images (model, x, NULL, 0, NULL, NULL, NULL);
        iters++;
      }
    while (g_get_monotonic_time () - t0 < seconds * 1e6 || iters < 3);
    elapsed = (g_get_monotonic_time () - t0) / 1e6;
    getrusage (RUSAGE_SELF, &ru1);
    cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec)
          + ((ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) / 1e6;
    printf ("{\"batch\": %d, \"threads\": %d, \"images_per_second\": %.2f, \"gflops\": %.2f, "
            "\"cpu_seconds_per_image\": %.4f}\n", batch, threads, batch * iters / elapsed,
            som_model_get_flops_per_image (model) * (double) batch * iters / elapsed / 1e9, cpu / (batch * iters));
  }
  return 0;
}
