/* test-conv-fast.c: the fast convolution kernels (Winograd F(4×4, 3×3))
 * against a direct convolution in double precision, on sizes that are not
 * multiples of the tile, with and without padding
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "som.h"
#include "som-conv-winograd.h"

typedef struct
{
  gint64 n, c, m, h, w, pt, pl, pb, pr;
} Case;

static void
check_case (const Case *k)
{
  gint64 OH = k->h + k->pt + k->pb - 2, OW = k->w + k->pl + k->pr - 2;
  g_autofree float *x = g_new (float, k->n * k->c * k->h * k->w);
  g_autofree float *wt = g_new (float, k->m * k->c * 9);
  g_autofree float *bias = g_new (float, k->m);
  g_autofree float *y = g_new (float, k->n * k->m * OH * OW);
  g_autofree float *u = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (k->c * 1000 + k->h);
  double worst = 0;

  for (gint64 i = 0; i < k->n * k->c * k->h * k->w; i++)
    x[i] = g_rand_double_range (rand, -1, 1);
  for (gint64 i = 0; i < k->m * k->c * 9; i++)
    wt[i] = g_rand_double_range (rand, -1, 1);
  for (gint64 i = 0; i < k->m; i++)
    bias[i] = g_rand_double_range (rand, -1, 1);
  u = _som_winograd_kernel (wt, k->m, k->c);
  g_assert_nonnull (u);
  g_assert_true (_som_winograd_conv (x, u, bias, y, k->n, k->c, k->h, k->w, k->m, OH, OW, k->pt, k->pl));
  for (gint64 n = 0; n < k->n; n++)
    for (gint64 m = 0; m < k->m; m++)
      for (gint64 oy = 0; oy < OH; oy++)
        for (gint64 ox = 0; ox < OW; ox++)
          {
            double acc = bias[m], mag = fabs (bias[m]), got, err;
            for (gint64 c = 0; c < k->c; c++)
              for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                  {
                    gint64 iy = oy - k->pt + i, ix = ox - k->pl + j;
                    double t;
                    if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w)
                      continue;
                    t = (double) x[((n * k->c + c) * k->h + iy) * k->w + ix] * wt[((m * k->c + c) * 3 + i) * 3 + j];
                    acc += t;
                    mag += fabs (t);
                  }
            got = y[((n * k->m + m) * OH + oy) * OW + ox];
            /* Winograd's rounding error grows with the terms' magnitudes,
             * not with the result */
            err = fabs (got - acc) / (mag + 1e-30);
            worst = MAX (worst, err);
            if (err > 5e-6)
              g_error ("n %" G_GINT64_FORMAT " m %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                       "): %.9g, direct %.9g", n, m, oy, ox, got, acc);
          }
  g_test_message ("largest error relative to the sum of |terms|: %.3g", worst);
}

static void
test_winograd_sizes (void)
{
  static const Case cases[] = {
    { 2, 16, 20, 7, 7, 1, 1, 1, 1 },     /* ResNet's last stage: 2×2 tiles, overhanging */
    { 3, 17, 16, 9, 13, 1, 1, 1, 1 },    /* odd channel counts, 3×4 tiles */
    { 1, 16, 16, 8, 8, 0, 0, 0, 0 },     /* no padding: 6×6 output */
    { 2, 24, 32, 14, 14, 1, 1, 1, 1 },
    { 1, 16, 17, 5, 6, 2, 0, 1, 2 },     /* asymmetric padding */
    { 1, 16, 16, 1, 1, 1, 1, 1, 1 },     /* a single pixel */
    { 1, 32, 16, 33, 31, 1, 1, 1, 1 },   /* many tiles per row */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_case (&cases[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conv-fast/winograd-sizes", test_winograd_sizes);
  return g_test_run ();
}
