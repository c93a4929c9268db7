/* test-conv-fast.c: the fast convolution kernels (Winograd F(4×4, 3×3),
 * the direct kernels for few channels and their input gradient) against a
 * plain convolution in double precision, on sizes that are not multiples
 * of the tile or the vector, with and without padding, strides 1 and 2
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "som.h"
#include "som-conv-direct.h"
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

/* ---- direct kernels ------------------------------------------------------------ */

typedef struct
{
  gint64 n, c, m, h, w, kh, kw, sy, sx, pt, pl, pb, pr;
  gint64 groups;                /* 0: one group */
} DCase;

static void
direct_geom (const DCase *k, SomConvGeom *g)
{
  *g = (SomConvGeom) { k->n, k->c, k->h, k->w, k->m, k->kh, k->kw, k->sy, k->sx, k->pt, k->pl,
                       (k->h + k->pt + k->pb - k->kh) / k->sy + 1, (k->w + k->pl + k->pr - k->kw) / k->sx + 1,
                       k->groups };
}

/* the input pixel output (oy, ox) reads through tap (i, j), or −1 in the padding */
static gint64
tap_pixel (const DCase *k, const SomConvGeom *g, gint64 oy, gint64 ox, gint64 i, gint64 j)
{
  gint64 iy = oy * g->sy - g->pt + i, ix = ox * g->sx - g->pl + j;

  return iy < 0 || iy >= k->h || ix < 0 || ix >= k->w ? -1 : iy * k->w + ix;
}

static void
check_direct_forward (const DCase *k)
{
  SomConvGeom g;
  g_autofree float *x = NULL, *wt = NULL, *bias = NULL, *y = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (k->c * 1000 + k->m * 10 + k->h);
  gint64 T = k->kh * k->kw, OHW, G = MAX (k->groups, 1), Cg = k->c / G, Mg = k->m / G;
  double worst = 0;

  direct_geom (k, &g);
  OHW = g.OH * g.OW;
  g_assert_true (_som_direct_conv_fits (&g));
  x = g_new (float, k->n * k->c * k->h * k->w);
  wt = g_new (float, k->m * Cg * T);
  bias = g_new (float, k->m);
  y = g_new (float, k->n * k->m * OHW);
  for (gint64 i = 0; i < k->n * k->c * k->h * k->w; i++)
    x[i] = g_rand_double_range (rand, -1, 1);
  for (gint64 i = 0; i < k->m * Cg * T; i++)
    wt[i] = g_rand_double_range (rand, -1, 1);
  for (gint64 i = 0; i < k->m; i++)
    bias[i] = g_rand_double_range (rand, -1, 1);
  g_assert_true (_som_direct_conv (&g, x, wt, bias, y, NULL));
  {
    /* the weights prepared once, kept and used again: the same results */
    g_autofree float *y2 = g_new (float, k->n * k->m * OHW);
    gpointer cache = NULL;
    for (int round = 0; round < 2; round++)
      {
        g_assert_true (_som_direct_conv (&g, x, wt, bias, y2, &cache));
        g_assert_nonnull (cache);
        g_assert_cmpmem (y, sizeof (float) * k->n * k->m * OHW, y2, sizeof (float) * k->n * k->m * OHW);
      }
    g_free (cache);
  }
  for (gint64 n = 0; n < k->n; n++)
    for (gint64 m = 0; m < k->m; m++)
      for (gint64 oy = 0; oy < g.OH; oy++)
        for (gint64 ox = 0; ox < g.OW; ox++)
          {
            double acc = bias[m], mag = fabs (bias[m]), err;
            float got = y[(n * k->m + m) * OHW + oy * g.OW + ox];
            /* the input channels of m's group */
            for (gint64 c = 0; c < Cg; c++)
              for (gint64 i = 0; i < k->kh; i++)
                for (gint64 j = 0; j < k->kw; j++)
                  {
                    gint64 px = tap_pixel (k, &g, oy, ox, i, j);
                    double t;
                    if (px < 0)
                      continue;
                    t = (double) x[(n * k->c + (m / Mg) * Cg + c) * k->h * k->w + px]
                        * wt[(m * Cg + c) * T + i * k->kw + j];
                    acc += t;
                    mag += fabs (t);
                  }
            err = fabs (got - acc) / (mag + 1e-30);
            worst = MAX (worst, err);
            if (err > 1e-6)
              g_error ("forward n %" G_GINT64_FORMAT " m %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT ", %"
                       G_GINT64_FORMAT "): %.9g, reference %.9g", n, m, oy, ox, got, acc);
          }
  g_test_message ("forward: largest error relative to the sum of |terms|: %.3g", worst);
}

static void
check_direct_grad (const DCase *k, gboolean add)
{
  SomConvGeom g;
  g_autofree float *dy = NULL, *wt = NULL, *dx = NULL, *before = NULL;
  g_autofree double *ref = NULL, *mag = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (k->c * 1000 + k->m * 10 + k->w);
  gint64 T = k->kh * k->kw, OHW, HW = k->h * k->w;
  double worst = 0;

  direct_geom (k, &g);
  OHW = g.OH * g.OW;
  g_assert_true (_som_direct_conv_fits (&g));
  dy = g_new (float, k->n * k->m * OHW);
  wt = g_new (float, k->m * k->c * T);
  dx = g_new (float, k->n * k->c * HW);
  before = g_new (float, k->n * k->c * HW);
  ref = g_new0 (double, k->n * k->c * HW);
  mag = g_new0 (double, k->n * k->c * HW);
  for (gint64 i = 0; i < k->n * k->m * OHW; i++)
    dy[i] = g_rand_double_range (rand, -1, 1);
  for (gint64 i = 0; i < k->m * k->c * T; i++)
    wt[i] = g_rand_double_range (rand, -1, 1);
  /* what is there before: added to, or overwritten (NaN would show) */
  for (gint64 i = 0; i < k->n * k->c * HW; i++)
    before[i] = dx[i] = add ? g_rand_double_range (rand, -1, 1) : NAN;
  {
    /* with the prepared weights kept (made on the first call, used on the second) */
    gpointer cache = NULL;
    g_autofree float *kept = g_memdup2 (dx, sizeof (float) * k->n * k->c * HW);
    g_assert_true (_som_direct_conv_grad_input (&g, dy, wt, dx, add, NULL));
    for (int round = 0; round < 2; round++)
      {
        g_autofree float *again = g_memdup2 (kept, sizeof (float) * k->n * k->c * HW);
        g_assert_true (_som_direct_conv_grad_input (&g, dy, wt, again, add, &cache));
        g_assert_nonnull (cache);
        g_assert_cmpmem (dx, sizeof (float) * k->n * k->c * HW, again, sizeof (float) * k->n * k->c * HW);
      }
    g_free (cache);
  }
  for (gint64 n = 0; n < k->n; n++)
    for (gint64 m = 0; m < k->m; m++)
      for (gint64 oy = 0; oy < g.OH; oy++)
        for (gint64 ox = 0; ox < g.OW; ox++)
          for (gint64 c = 0; c < k->c; c++)
            for (gint64 i = 0; i < k->kh; i++)
              for (gint64 j = 0; j < k->kw; j++)
                {
                  gint64 px = tap_pixel (k, &g, oy, ox, i, j);
                  double t;
                  if (px < 0)
                    continue;
                  t = (double) dy[(n * k->m + m) * OHW + oy * g.OW + ox] * wt[(m * k->c + c) * T + i * k->kw + j];
                  ref[(n * k->c + c) * HW + px] += t;
                  mag[(n * k->c + c) * HW + px] += fabs (t);
                }
  for (gint64 i = 0; i < k->n * k->c * HW; i++)
    {
      double want = ref[i] + (add ? before[i] : 0.0), err;
      err = fabs (dx[i] - want) / (mag[i] + (add ? fabs (before[i]) : 0.0) + 1e-30);
      worst = MAX (worst, err);
      if (!(err <= 1e-6))
        g_error ("input gradient at %" G_GINT64_FORMAT ": %.9g, reference %.9g", i, dx[i], want);
    }
  g_test_message ("input gradient: largest error relative to the sum of |terms|: %.3g", worst);
}

static const DCase direct_cases[] = {
  /* n   c   m   h   w  kh kw sy sx pt pl pb pr */
  { 2, 16, 16, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1 },   /* the demo's first block */
  { 3, 16, 32, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1 },   /* its stride-2 convolution */
  { 2, 16, 32, 28, 28, 1, 1, 2, 2, 0, 0, 0, 0 },   /* its 1×1 shortcut */
  { 1, 64, 64, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1 },     /* batch 1, 7×7 */
  { 2, 1, 16, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1 },    /* one input channel */
  { 1, 5, 12, 13, 11, 3, 3, 1, 1, 1, 1, 1, 1 },    /* channels not a multiple of 8, odd planes */
  { 2, 7, 9, 9, 10, 3, 3, 2, 2, 1, 1, 1, 1 },      /* stride 2 on odd sizes */
  { 1, 8, 3, 15, 17, 5, 5, 1, 1, 2, 2, 2, 2 },     /* 5×5, three output channels */
  { 1, 6, 10, 12, 9, 2, 3, 1, 2, 0, 1, 1, 0 },     /* uneven kernel, strides and padding */
  { 1, 9, 17, 11, 14, 3, 3, 2, 1, 0, 2, 2, 0 },    /* asymmetric padding */
  { 2, 4, 8, 1, 20, 1, 3, 1, 2, 0, 1, 0, 1 },      /* a 1-D convolution as H = 1 */
  { 1, 3, 33, 5, 5, 3, 3, 1, 1, 0, 0, 0, 0 },      /* no padding */
  { 1, 2, 8, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1 },       /* a single pixel */
  { 2, 128, 32, 30, 30, 3, 3, 1, 1, 1, 1, 1, 1 },  /* DenseNet's 128 → 32 on a larger plane */
  { 1, 200, 12, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1 },   /* many inputs, few outputs, stride 2 */
};

/* Grouped convolutions (forward only), on planes too large for the
 * ungrouped kernel too */
static const DCase grouped_cases[] = {
  /* n    c    m   h   w  kh kw sy sx pt pl pb pr groups */
  { 2, 128, 128, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1, 32 },   /* ResNeXt-50's first stage: 4 per group */
  { 1, 48, 48, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 6 },    /* RegNetY-400MF: 8 per group, stride 2 */
  { 2, 24, 40, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 8 },       /* 3 in, 5 out per group, odd planes */
  { 1, 36, 18, 10, 7, 3, 3, 2, 1, 0, 1, 1, 0, 2 },       /* 18 in, 9 out per group, uneven stride */
  { 2, 64, 64, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 2 },        /* 32 per group, 7×7 */
  { 1, 12, 24, 8, 8, 1, 1, 1, 1, 0, 0, 0, 0, 3 },        /* grouped 1×1 */
};

/* Each test runs with the kernels its data names (every set this CPU runs,
 * so that a machine without AVX-512 still checks the AVX2 and generic ones) */
static void
use_kernels (gconstpointer data)
{
  g_assert_true (_som_direct_conv_use (data));
  g_assert_cmpstr (_som_direct_conv_kernels (), ==, data);
}

static void
test_direct_forward (gconstpointer data)
{
  use_kernels (data);
  for (guint i = 0; i < G_N_ELEMENTS (direct_cases); i++)
    check_direct_forward (&direct_cases[i]);
}

static void
test_direct_grouped (gconstpointer data)
{
  use_kernels (data);
  for (guint i = 0; i < G_N_ELEMENTS (grouped_cases); i++)
    check_direct_forward (&grouped_cases[i]);
}

static void
test_direct_grad (gconstpointer data)
{
  use_kernels (data);
  for (guint i = 0; i < G_N_ELEMENTS (direct_cases); i++)
    {
      check_direct_grad (&direct_cases[i], FALSE);
      check_direct_grad (&direct_cases[i], TRUE);
    }
}

/* The widest kernels are the default; a set this CPU lacks is refused */
static void
test_direct_kernels (void)
{
  const char *widest;

  g_assert_true (_som_direct_conv_use (NULL));
  widest = _som_direct_conv_kernels ();
  g_assert_true (g_str_equal (widest, "avx512f") || g_str_equal (widest, "avx2") || g_str_equal (widest, "generic"));
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  g_assert_cmpstr (widest, ==, __builtin_cpu_supports ("avx512f") ? "avx512f"
                   : __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma") ? "avx2" : "generic");
  if (!__builtin_cpu_supports ("avx512f"))
    {
      g_assert_false (_som_direct_conv_use ("avx512f"));
      g_assert_cmpstr (_som_direct_conv_kernels (), ==, widest);
    }
#endif
  g_assert_false (_som_direct_conv_use ("mmx"));
  g_assert_true (_som_direct_conv_use ("generic"));
  g_assert_cmpstr (_som_direct_conv_kernels (), ==, "generic");
  g_assert_true (_som_direct_conv_use (NULL));
  g_assert_cmpstr (_som_direct_conv_kernels (), ==, widest);
}

static void
test_direct_fits (void)
{
  SomConvGeom small = { 64, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 28, 28 };
  SomConvGeom wide = { 1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 14, 14 };
  SomConvGeom big = { 1, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 112, 112 };
  SomConvGeom stride3 = { 1, 16, 28, 28, 16, 3, 3, 3, 3, 1, 1, 10, 10 };

  g_assert_true (_som_direct_conv_fits (&small));
  /* many channels or large planes: sgemm and Winograd do better */
  g_assert_false (_som_direct_conv_fits (&wide));
  g_assert_false (_som_direct_conv_fits (&big));
  g_assert_false (_som_direct_conv_fits (&stride3));
  /* a group's few channels: large planes too */
  big.groups = 1;
  g_assert_false (_som_direct_conv_fits (&big));
  {
    SomConvGeom resnext = { 4, 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 56, 56, 32 };
    SomConvGeom uneven = { 4, 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 56, 56, 3 };
    SomConvGeom fat = { 1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 14, 14, 2 };
    g_assert_true (_som_direct_conv_fits (&resnext));
    g_assert_false (_som_direct_conv_fits (&uneven));
    g_assert_false (_som_direct_conv_fits (&fat));
  }
  {
    /* few outputs from many inputs: planes up to 64×64 */
    SomConvGeom dense = { 4, 128, 56, 56, 32, 3, 3, 1, 1, 1, 1, 56, 56 };
    SomConvGeom dense_big = { 4, 128, 112, 112, 32, 3, 3, 1, 1, 1, 1, 112, 112 };
    SomConvGeom dense_1x1 = { 4, 128, 56, 56, 32, 1, 1, 1, 1, 0, 0, 56, 56 };
    g_assert_true (_som_direct_conv_fits (&dense));
    g_assert_false (_som_direct_conv_fits (&dense_big));
    g_assert_false (_som_direct_conv_fits (&dense_1x1));
  }
}

static const char *const kernel_sets[] = { "avx512f", "avx2", "generic" };

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conv-fast/winograd-sizes", test_winograd_sizes);
  for (guint i = 0; i < G_N_ELEMENTS (kernel_sets); i++)
    {
      g_autofree char *fwd = g_strdup_printf ("/conv-fast/direct-forward/%s", kernel_sets[i]);
      g_autofree char *grouped = g_strdup_printf ("/conv-fast/direct-grouped/%s", kernel_sets[i]);
      g_autofree char *grad = g_strdup_printf ("/conv-fast/direct-input-gradient/%s", kernel_sets[i]);

      if (!_som_direct_conv_use (kernel_sets[i]))
        {
          g_test_message ("this CPU does not run the %s kernels", kernel_sets[i]);
          continue;
        }
      g_test_add_data_func (fwd, kernel_sets[i], test_direct_forward);
      g_test_add_data_func (grouped, kernel_sets[i], test_direct_grouped);
      g_test_add_data_func (grad, kernel_sets[i], test_direct_grad);
    }
  _som_direct_conv_use (NULL);
  g_test_add_func ("/conv-fast/direct-kernels", test_direct_kernels);
  g_test_add_func ("/conv-fast/direct-fits", test_direct_fits);
  return g_test_run ();
}
