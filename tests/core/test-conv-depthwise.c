/* test-conv-depthwise.c: the depthwise convolution kernel against a plain
 * loop over the window in double precision, on random 1-, 2- and 3-D
 * geometries (strides, dilations, uneven padding, windows wider than the
 * input, rows that are not multiples of the vector width)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "som.h"
#include "som-conv-depthwise.h"

static double
check_plane (const SomWindow *w,
             GRand           *rand)
{
  gint64 n = w->in[0] * w->in[1] * w->in[2], m = w->out[0] * w->out[1] * w->out[2];
  gint64 kv = w->k[0] * w->k[1] * w->k[2];
  g_autofree float *src = g_new (float, n);
  g_autofree float *k = g_new (float, kv);
  /* one guard element on each side of the output */
  g_autofree float *dst = g_new (float, m + 2);
  float bias = g_rand_double_range (rand, -1, 1);
  double worst = 0;

  for (gint64 i = 0; i < n; i++)
    src[i] = g_rand_double_range (rand, -1, 1);
  for (gint64 i = 0; i < kv; i++)
    k[i] = g_rand_double_range (rand, -1, 1);
  dst[0] = dst[m + 1] = 1234.5f;
  _som_depthwise_plane (src, k, bias, dst + 1, w);
  g_assert_cmpfloat (dst[0], ==, 1234.5f);
  g_assert_cmpfloat (dst[m + 1], ==, 1234.5f);

  for (gint64 od = 0; od < w->out[0]; od++)
    for (gint64 oh = 0; oh < w->out[1]; oh++)
      for (gint64 ow = 0; ow < w->out[2]; ow++)
        {
          double acc = bias, mag = fabs (bias);
          for (gint64 a = 0; a < w->k[0]; a++)
            for (gint64 i = 0; i < w->k[1]; i++)
              for (gint64 j = 0; j < w->k[2]; j++)
                {
                  gint64 id = od * w->s[0] - w->pb[0] + a * w->d[0];
                  gint64 ih = oh * w->s[1] - w->pb[1] + i * w->d[1];
                  gint64 iw = ow * w->s[2] - w->pb[2] + j * w->d[2];
                  double t;
                  if (id < 0 || id >= w->in[0] || ih < 0 || ih >= w->in[1] || iw < 0 || iw >= w->in[2])
                    continue;
                  t = (double) src[(id * w->in[1] + ih) * w->in[2] + iw] * k[(a * w->k[1] + i) * w->k[2] + j];
                  acc += t;
                  mag += fabs (t);
                }
          worst = MAX (worst, fabs (dst[1 + (od * w->out[1] + oh) * w->out[2] + ow] - acc) / MAX (mag, 1e-30));
        }
  return worst;
}

static void
test_random_geometries (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261126);
  double worst = 0;
  guint tested = 0;

  for (guint trial = 0; trial < 3000; trial++)
    {
      SomWindow w = { 0 };
      gboolean ok = TRUE;

      w.nsp = 1 + trial % 3;
      for (guint d = 0; d < 3; d++)
        {
          gint64 ek, span;
          if (d < 3 - w.nsp)
            {
              w.in[d] = w.k[d] = w.s[d] = w.d[d] = w.out[d] = 1;
              continue;
            }
          w.in[d] = g_rand_int_range (rand, 1, d == 2 ? 40 : 9);
          w.k[d] = g_rand_int_range (rand, 1, 6);
          w.s[d] = g_rand_int_range (rand, 1, 4);
          w.d[d] = g_rand_int_range (rand, 1, 3);
          w.pb[d] = g_rand_int_range (rand, 0, 4);
          w.pe[d] = g_rand_int_range (rand, 0, 4);
          /* half the rows: the 3- and 5-tap, stride-1 cases that have their own path */
          if (d == 2 && g_rand_boolean (rand))
            w.k[d] = g_rand_boolean (rand) ? 3 : 5, w.s[d] = 1, w.d[d] = 1;
          ek = (w.k[d] - 1) * w.d[d] + 1;
          span = w.in[d] + w.pb[d] + w.pe[d];
          if (span < ek)
            ok = FALSE;
          else
            w.out[d] = (span - ek) / w.s[d] + 1;
        }
      if (!ok)
        continue;
      worst = MAX (worst, check_plane (&w, rand));
      tested++;
    }
  g_test_message ("%u geometries, worst error relative to the terms' magnitude %g", tested, worst);
  g_assert_cmpuint (tested, >, 1000);
  g_assert_cmpfloat (worst, <=, 1e-6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conv-depthwise/random-geometries", test_random_geometries);
  return g_test_run ();
}
