/* som-conv-direct.c: direct 2-D convolutions for few channels on small planes
 *
 * With 16–64 channels on 28×28 and smaller planes, im2col + sgemm spends
 * more time copying and packing than multiplying, and Winograd's transforms
 * outweigh its products.  These kernels read the input where it lies.
 *
 * One kernel does the work: for input planes q (one per channel, rows QW
 * floats long), a list of tap offsets and weights w[c][t][m],
 *   o[m][p] = Σ_c Σ_t w[c][t][m] · q[c][p + off[t]],
 * for 8 output channels × 48 consecutive positions (or 8 × 32, 4 × 64; with
 * AVX2 or SSE 4 × 24, 4 × 16, 2 × 32 or 4 × 12, 4 × 8, 2 × 16) at a time in
 * vector registers (positions along the vectors, weights broadcast).  Position
 * p = y·QW + x; the columns x past the output's width are computed and
 * dropped, which costs less than tests.
 *
 * Forward.  Each input channel is laid out as sy·sx phase planes (the
 * padded input's rows and columns of one residue modulo the stride), so
 * that every tap of a strided convolution reads one phase plane at a
 * constant offset.
 *
 * Input gradient.  Input pixel (s·u + a, s·v + b) of the padded input (a,
 * b < s) receives from output pixel (u − k', v − l') through tap
 * (s·k' + a, s·l' + b): each phase (a, b) of dX is a stride-1 correlation of
 * the zero-padded dY with that phase's taps, the same kernel with the
 * channels' roles swapped; the phases are interleaved into dX.
 *
 * The sums run in another order than the im2col path: results agree to
 * rounding (tests/core/test-conv-fast.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#pragma GCC optimize ("tree-vectorize")

#include <string.h>

#include "som-conv-direct.h"

#define VL_MAX 16       /* floats in the widest vectors: planes are aligned to it */
#define MB_PAD 8        /* weights are padded to a multiple of this many output channels */
#define STEP 192        /* positions are computed in multiples of this (of every kernel's blocks) */
#define MAX_TAPS 49
#define SLACK 64        /* zeros after each plane: blocks run past the last position */

/* The vectors never cross a call that is not inlined: no ABI to keep. */
#pragma GCC diagnostic ignored "-Wpsabi"

/* How row_out() may treat the floats after a row, up to VL − 1 of them */
typedef enum
{
  ROW_MINE,     /* the caller writes them later: stored over with anything */
  ROW_KEEP,     /* the caller owns them: their values are kept */
  ROW_LAST,     /* not the caller's (fewer than VL floats are left in the
                 * image): not touched, a scalar tail */
} RowEnd;

static inline gint64
round_up (gint64 n, gint64 k)
{
  return (n + k - 1) / k * k;
}

/* One past the last phase column v of residue @b with v·s + b − pl < W */
static inline gint64
col_end (gint64 W, gint64 pl, gint64 b, gint64 s)
{
  gint64 last = W - 1 + pl - b;

  return last < 0 ? 0 : last / s + 1;
}

static inline gint64
n_groups (const SomConvGeom *g)
{
  return MAX (g->groups, 1);
}

gboolean
_som_direct_conv_fits (const SomConvGeom *g)
{
  gint64 G = n_groups (g);

  if (!(g->sy >= 1 && g->sy <= 2 && g->sx >= 1 && g->sx <= 2 && g->KH >= 1 && g->KW >= 1
        && g->KH * g->KW <= MAX_TAPS && g->C >= 1 && g->M >= 1 && g->C % G == 0 && g->M % G == 0
        && g->OH >= 1 && g->OW >= 1 && g->pt >= 0 && g->pl >= 0 && g->pt < g->KH && g->pl < g->KW))
    return FALSE;
  /* Few output channels from many (DenseNet's 3×3, 128 → 32): Winograd
   * would spend its time transforming the input */
  if (G == 1 && g->M <= 32 && g->C <= 256 && g->KH * g->KW > 1)
    return g->H * g->W <= 4096 && g->OH * g->OW <= 4096;
  if (g->C / G > 64 || g->M / G > 64)
    return FALSE;
  if (G == 1)
    return g->OH * g->OW <= 1024 && g->H * g->W <= 4096;
  /* A group's few channels keep its planes in L2 at 56×56 and beyond; the
   * bound keeps the per-thread buffers (every channel's phase planes, every
   * output channel's rows) near 10 MB. */
  return g->C * g->H * g->W <= (1 << 21) && g->M * g->OH * g->OW <= (1 << 21);
}

/* ---- the kernel ------------------------------------------------------------------ */

typedef struct
{
  const float *q;               /* input planes, @cs floats apart */
  gint64       cs, C, T;
  const gint64 *off;            /* T tap offsets */
  const float *w;               /* [(c·T + t)·Mp + m], zero for m ≥ M */
  gint64       M, Mp;           /* Mp: M rounded up to MB_PAD */
  float       *o;               /* [m][os] */
  gint64       os, L;           /* positions [0, L) are needed */
} Planes;

typedef struct
{
  const SomConvGeom *g;
  const float *x, *wp, *bias;   /* wp: per group, [c][t][Mp] */
  float       *y;
  gint64       G, Cg, Mg;       /* groups, input and output channels per group */
  gint64       Mp, T, QH, QW, qplane, cstride, L, os;
  gint64       off[MAX_TAPS];
} Fwd;

typedef struct
{
  const SomConvGeom *g;
  const float *dy, *wp;         /* wp: per phase, [m][t'][Cp] */
  float       *dx;
  gint64       Cp, KHm, KWm, U, V, R, RW, plane, L, os;
  gint64       T[4], woff[4];   /* per phase: taps, offset of its weights in wp */
  gint64       off[4][MAX_TAPS];
  gboolean     add;
} Bwd;

/* ---- the kernels, one per instruction set -------------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86_KERNELS 1

/* AVX-512: 32 registers of 16 floats, 24 accumulators */
#define VL 16
#define MB 8
#define PV 3
#define LANES { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }
#define KERNEL __attribute__ ((target ("avx512f")))
#define SUFFIX _avx512
#include "som-conv-direct-kernel.h"

/* AVX2 with FMA: 16 registers of 8 floats, 12 accumulators */
#define VL 8
#define MB 4
#define PV 3
#define LANES { 0, 1, 2, 3, 4, 5, 6, 7 }
#define KERNEL __attribute__ ((target ("avx2,fma")))
#define SUFFIX _avx2
#include "som-conv-direct-kernel.h"
#endif

/* Any machine (SSE2 on x86-64, NEON on arm64): 16 registers of 4 floats */
#define VL 4
#define MB 4
#define PV 3
#define LANES { 0, 1, 2, 3 }
#define KERNEL
#define SUFFIX _generic
#include "som-conv-direct-kernel.h"

typedef struct
{
  const char *name;
  void (*fwd) (const Fwd *f, const float *x, float *y, float *q, float *o);
  void (*bwd) (const Bwd *b, const float *dy, float *dx, float *q, float *o);
} Kernels;

static const Kernels all_kernels[] = {
#ifdef HAVE_X86_KERNELS
  { "avx512f", fwd_image_avx512, bwd_image_avx512 },
  { "avx2", fwd_image_avx2, bwd_image_avx2 },
#endif
  { "generic", fwd_image_generic, bwd_image_generic },
};

static const Kernels *chosen_kernels;

static gboolean
kernels_run_here (const Kernels *k)
{
#ifdef HAVE_X86_KERNELS
  __builtin_cpu_init ();
  if (k->fwd == fwd_image_avx512)
    return __builtin_cpu_supports ("avx512f");
  if (k->fwd == fwd_image_avx2)
    return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
#endif
  return TRUE;
}

/* The widest kernels this CPU runs, unless _som_direct_conv_use() chose */
static const Kernels *
kernels (void)
{
  const Kernels *k = g_atomic_pointer_get (&chosen_kernels);

  if (k == NULL)
    {
      for (k = all_kernels; !kernels_run_here (k); k++)
        ;
      g_atomic_pointer_set (&chosen_kernels, k);
    }
  return k;
}

const char *
_som_direct_conv_kernels (void)
{
  return kernels ()->name;
}

gboolean
_som_direct_conv_use (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_kernels); i++)
    if (name == NULL || strcmp (all_kernels[i].name, name) == 0)
      {
        if (!kernels_run_here (&all_kernels[i]))
          {
            if (name == NULL)
              continue;
            return FALSE;
          }
        g_atomic_pointer_set (&chosen_kernels, &all_kernels[i]);
        return TRUE;
      }
  return FALSE;
}

/* ---- forward ----------------------------------------------------------------- */

static void
fwd_range (gsize begin, gsize end, gpointer data)
{
  Fwd *f = data;
  const SomConvGeom *g = f->g;
  float *q = _som_buffer_alloc (sizeof (float) * g->C * f->cstride);
  float *o = _som_buffer_alloc (sizeof (float) * (f->G * f->Mp * f->os + VL_MAX));

  memset (q, 0, sizeof (float) * g->C * f->cstride);
  for (gsize n = begin; n < end; n++)
    kernels ()->fwd (f, f->x + n * g->C * g->H * g->W, f->y + n * g->M * g->OH * g->OW, q, o);
  _som_buffer_free (q);
  _som_buffer_free (o);
}

/* The weights prepared by @pack (@n floats): from *@cache, or made and
 * kept there (atomically: two threads may both make them, the first one
 * kept wins); without a cache, in a scratch buffer (release with
 * release_weights()). */
static float *
prepared_weights (gpointer *cache, gsize n, void (*pack) (gconstpointer data, float *wp), gconstpointer data)
{
  float *wp;

  if (cache == NULL)
    {
      wp = _som_buffer_alloc (sizeof (float) * n);
      if (wp != NULL)
        pack (data, wp);
      return wp;
    }
  wp = g_atomic_pointer_get (cache);
  if (wp != NULL)
    return wp;
  wp = g_try_malloc (sizeof (float) * n);
  if (wp == NULL)
    return NULL;
  pack (data, wp);
  if (!g_atomic_pointer_compare_and_exchange (cache, NULL, wp))
    {
      g_free (wp);
      wp = g_atomic_pointer_get (cache);
    }
  return wp;
}

static void
release_weights (gpointer *cache, float *wp)
{
  if (cache == NULL)
    _som_buffer_free (wp);
}

typedef struct
{
  const SomConvGeom *g;
  const float *wt;
  gint64       T, Mp;
} Pack;

/* Per group, [c][t][Mp] (c and m within the group) */
static void
pack_forward (gconstpointer data, float *wp)
{
  const Pack *k = data;
  const SomConvGeom *g = k->g;
  gint64 G = n_groups (g), Cg = g->C / G, Mg = g->M / G;

  memset (wp, 0, sizeof (float) * G * Cg * k->T * k->Mp);
  for (gint64 gi = 0; gi < G; gi++)
    for (gint64 m = 0; m < Mg; m++)
      for (gint64 c = 0; c < Cg; c++)
        for (gint64 t = 0; t < k->T; t++)
          wp[((gi * Cg + c) * k->T + t) * k->Mp + m] = k->wt[((gi * Mg + m) * Cg + c) * k->T + t];
}

gboolean
_som_direct_conv (const SomConvGeom *g, const float *x, const float *wt, const float *bias, float *y,
                  gpointer *cache)
{
  Fwd f = { g, x, NULL, bias, y };
  Pack pk;
  float *wp;

  g_return_val_if_fail (_som_direct_conv_fits (g), FALSE);
  f.G = n_groups (g);
  f.Cg = g->C / f.G;
  f.Mg = g->M / f.G;
  f.Mp = round_up (f.Mg, MB_PAD);
  f.T = g->KH * g->KW;
  f.QH = g->OH + (g->KH - 1) / g->sy;
  f.QW = g->OW + (g->KW - 1) / g->sx;
  f.qplane = round_up (f.QH * f.QW + SLACK, VL_MAX);
  f.cstride = g->sy * g->sx * f.qplane;
  f.L = (g->OH - 1) * f.QW + g->OW;
  f.os = round_up (f.L, STEP);
  for (gint64 ky = 0; ky < g->KH; ky++)
    for (gint64 kx = 0; kx < g->KW; kx++)
      f.off[ky * g->KW + kx] = ((ky % g->sy) * g->sx + kx % g->sx) * f.qplane + (ky / g->sy) * f.QW + kx / g->sx;
  pk = (Pack) { g, wt, f.T, f.Mp };
  wp = prepared_weights (cache, f.G * f.Cg * f.T * f.Mp, pack_forward, &pk);
  if (wp == NULL)
    return FALSE;
  f.wp = wp;
  _som_parallel_for (g->N, 1, fwd_range, &f);
  release_weights (cache, wp);
  return TRUE;
}

/* ---- input gradient ------------------------------------------------------------ */

static void
bwd_range (gsize begin, gsize end, gpointer data)
{
  Bwd *b = data;
  const SomConvGeom *g = b->g;
  float *q = _som_buffer_alloc (sizeof (float) * g->M * b->plane);
  float *o = _som_buffer_alloc (sizeof (float) * (b->Cp * b->os + VL_MAX));

  memset (q, 0, sizeof (float) * g->M * b->plane);
  for (gsize n = begin; n < end; n++)
    kernels ()->bwd (b, b->dy + n * g->M * g->OH * g->OW, b->dx + n * g->C * g->H * g->W, q, o);
  _som_buffer_free (q);
  _som_buffer_free (o);
}

/* Per phase (a, b): [m][t'][Cp] for its taps in the order of Bwd.off */
static void
pack_grad (gconstpointer data, float *wp)
{
  const Pack *k = data;
  const SomConvGeom *g = k->g;
  gint64 n = 0, Cp = k->Mp;

  memset (wp, 0, sizeof (float) * g->M * k->T * Cp);
  for (gint64 a = 0; a < g->sy; a++)
    for (gint64 bb = 0; bb < g->sx; bb++)
      {
        gint64 per_row = (g->KW - bb + g->sx - 1) / g->sx, t = 0;
        for (gint64 ky = a; ky < g->KH; ky += g->sy)
          for (gint64 kx = bb; kx < g->KW; kx += g->sx)
            t++;
        for (gint64 m = 0; m < g->M; m++)
          for (gint64 t1 = 0; t1 < t; t1++)
            {
              gint64 ky = a + g->sy * (t1 / per_row), kx = bb + g->sx * (t1 % per_row);
              for (gint64 c = 0; c < g->C; c++)
                wp[(n + m * t + t1) * Cp + c] = k->wt[((m * g->C + c) * g->KH + ky) * g->KW + kx];
            }
        n += g->M * t;
      }
}

gboolean
_som_direct_conv_grad_input (const SomConvGeom *g, const float *dy, const float *wt, float *dx, gboolean add,
                             gpointer *cache)
{
  Bwd b = { g, dy, NULL, dx };
  gint64 T = g->KH * g->KW, n = 0;
  Pack pk;
  float *wp;

  g_return_val_if_fail (_som_direct_conv_fits (g) && n_groups (g) == 1, FALSE);
  b.Cp = round_up (g->C, MB_PAD);
  b.KHm = (g->KH + g->sy - 1) / g->sy;
  b.KWm = (g->KW + g->sx - 1) / g->sx;
  /* every input pixel belongs to one phase pixel (u, v) */
  b.U = (g->H + g->pt + g->sy - 1) / g->sy;
  b.V = (g->W + g->pl + g->sx - 1) / g->sx;
  b.R = b.U + b.KHm - 1;
  b.RW = b.V + b.KWm - 1;
  b.plane = round_up (b.R * b.RW + SLACK, VL_MAX);
  b.L = (b.U - 1) * b.RW + b.V;
  b.os = round_up (b.L, STEP);
  b.add = add;
  /* dY's rows must fit in the padded plane: (OH − 1) + KHm − 1 < R */
  if (g->OH > b.U || g->OW > b.V)
    return FALSE;
  for (gint64 a = 0; a < g->sy; a++)
    for (gint64 bb = 0; bb < g->sx; bb++)
      {
        gint64 ph = a * g->sx + bb, t = 0;
        b.woff[ph] = n * b.Cp;
        for (gint64 ky = a, k1 = 0; ky < g->KH; ky += g->sy, k1++)
          for (gint64 kx = bb, l1 = 0; kx < g->KW; kx += g->sx, l1++, t++)
            b.off[ph][t] = (b.KHm - 1 - k1) * b.RW + b.KWm - 1 - l1;
        b.T[ph] = t;
        n += g->M * t;
      }
  pk = (Pack) { g, wt, T, b.Cp };
  wp = prepared_weights (cache, g->M * T * b.Cp, pack_grad, &pk);
  if (wp == NULL)
    return FALSE;
  b.wp = wp;
  _som_parallel_for (g->N, 1, bwd_range, &b);
  release_weights (cache, wp);
  return TRUE;
}
