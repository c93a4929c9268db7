/* bench-attack.c: FGSM throughput (forward + backward + step) of libsomscope
 * on one model, images per second; tools/bench-attack runs it beside PyTorch.
 *
 *   bench-attack MODEL [--batch B] [--threads T] [--seconds S] [--kernels avx512f|avx2|generic]
 *
 * --kernels runs the direct convolutions with that instruction set's kernels
 * instead of the widest this CPU has.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <cblas.h>
#include <sys/resource.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "som.h"
#include "som-conv-direct.h"

static double
cpu_seconds (void)
{
  struct rusage u;
  getrusage (RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(SomArray) x = NULL;
  g_autoptr(GRand) r = g_rand_new_with_seed (1);
  g_autofree gint32 *labels = NULL;
  int batch = 64, threads = 2;
  double seconds = 2.0, t;
  guint c, h, w, K;
  gsize n = 0;
  SomPixelTransform tf;
  gint64 t0;
  double c0 = 0, cpu;

  for (int i = 2; i + 1 < argc; i += 2)
    {
      if (strcmp (argv[i], "--batch") == 0)
        batch = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--threads") == 0)
        threads = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--seconds") == 0)
        seconds = g_ascii_strtod (argv[i + 1], NULL);
      else if (strcmp (argv[i], "--kernels") == 0 && !_som_direct_conv_use (argv[i + 1]))
        {
          fprintf (stderr, "bench-attack: this CPU does not run the %s kernels\n", argv[i + 1]);
          return 1;
        }
    }
  if (argc < 2)
    {
      fprintf (stderr, "usage: bench-attack MODEL [--batch B] [--threads T] [--seconds S] [--kernels avx512f|avx2|generic]\n");
      return 2;
    }
  openblas_set_num_threads (threads);
  model = som_model_load (argv[1], &error);
  if (model == NULL || !som_model_get_image_shape (model, &c, &h, &w, NULL, &error))
    {
      fprintf (stderr, "bench-attack: %s\n", error->message);
      return 1;
    }
  K = som_model_get_output (model, 0)->shape[1];
  {
    gsize shape[4] = { batch, c, h, w };
    x = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  }
  for (gsize i = 0; i < som_array_n_elements (x); i++)
    ((float *) x->data)[i] = (float) g_rand_double (r);
  labels = g_new (gint32, batch);
  for (int i = 0; i < batch; i++)
    labels[i] = g_rand_int_range (r, 0, K);
  som_pixel_transform_init_identity (&tf, c);

  t0 = g_get_monotonic_time ();
  for (int warm = 0; ; warm++)
    {
      g_autoptr(SomArray) g = NULL;
      g_autoptr(SomArray) adv = NULL;
      if (!som_attack_pixel_gradient (model, &tf, x, labels, &g, NULL, NULL, &error))
        {
          fprintf (stderr, "bench-attack: %s\n", error->message);
          return 1;
        }
      adv = som_array_copy (x);
      for (gsize i = 0; i < som_array_n_elements (x); i++)
        {
          float gi = ((float *) g->data)[i], v = ((float *) x->data)[i] + 0.1f * (gi > 0 ? 1.0f : gi < 0 ? -1.0f : 0.0f);
          ((float *) adv->data)[i] = fminf (fmaxf (v, 0.0f), 1.0f);
        }
      if (warm == 1)
        {
          t0 = g_get_monotonic_time ();
          c0 = cpu_seconds ();
          n = 0;
        }
      else if (warm > 1)
        n += batch;
      t = (g_get_monotonic_time () - t0) / 1e6;
      if (warm > 1 && t >= seconds && n >= 3 * (gsize) batch)
        break;
    }
  cpu = cpu_seconds () - c0;
  /* CPU seconds (user + system, all threads) per image: less sensitive to
   * other processes than the wall clock on a shared machine */
  printf ("{\"images_per_second\": %.3f, \"images_per_cpu_second\": %.3f, \"batch\": %d, \"threads\": %d, "
          "\"seconds\": %.3f}\n", n / t, n / MAX (cpu, 1e-9), batch, threads, t);
  return 0;
}
