/* som-conv-direct.c: direct 2-D convolutions for few channels on small planes
 *
 * With 16–64 channels on 28×28 and smaller planes, im2col + sgemm spends
 * more time copying and packing than multiplying, and Winograd's transforms
 * outweigh its products.  These kernels read the input where it lies.
 *
 * One kernel does the work: for input planes q (one per channel, rows QW
 * floats long), a list of tap offsets and weights w[c][t][m],
 *   o[m][p] = Σ_c Σ_t w[c][t][m] · q[c][p + off[t]],
 * for 8 output channels × 48 consecutive positions (or 8 × 32, 4 × 64) at a time in
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


#define VL 16           /* floats per vector */
#define MB 8            /* output channels per block */
#define PV 3            /* vectors of positions per block */
#define STEP 192        /* positions are computed in multiples of this (of MB·… and 1·… blocks) */
#define MAX_TAPS 49
#define SLACK 64        /* zeros after each plane: blocks run past the last position */

/* The vectors never cross a call that is not inlined: no ABI to keep. */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef float Vec __attribute__ ((vector_size (VL * sizeof (float))));

static inline __attribute__ ((always_inline)) Vec
vload (const float *p)
{
  Vec v;
  memcpy (&v, p, sizeof v);
  return v;
}

/* a macro: as a function, GCC notes the ABI of vector arguments */
#define vstore(p, v) \
  G_STMT_START { \
    Vec v_ = (v); \
    memcpy ((p), &v_, sizeof v_); \
  } G_STMT_END

typedef gint32 IVec __attribute__ ((vector_size (VL * sizeof (gint32))));

/* How row_out() may treat the floats after a row, up to VL − 1 of them */
typedef enum
{
  ROW_MINE,     /* the caller writes them later: stored over with anything */
  ROW_KEEP,     /* the caller owns them: their values are kept */
  ROW_LAST,     /* not the caller's (fewer than VL floats are left in the
                 * image): not touched, a scalar tail */
} RowEnd;

/* dst[i] = src[i] + b, or dst[i] += src[i] when @add, for i < n, a vector
 * at a time; the last vector reads up to VL − 1 floats past src's row, and
 * past dst's for ROW_KEEP.  ROW_MINE stores no load of dst, which is fresh
 * memory: loading it would wait for the cache line, and on rows shorter
 * than a vector for the previous row's store. */
static inline __attribute__ ((always_inline)) void
row_out (float *restrict dst, const float *restrict src, gint64 n, float b, gboolean add, RowEnd end)
{
  const IVec lane = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
  gint64 i = 0;

  for (; i + VL <= n; i += VL)
    vstore (dst + i, add ? vload (dst + i) + vload (src + i) : vload (src + i) + b);
  if (i == n)
    return;
  if (end == ROW_MINE && !add)
    vstore (dst + i, vload (src + i) + b);
  else if (end == ROW_KEEP)
    {
      IVec keep = lane >= (gint32) (n - i);
      Vec old = vload (dst + i), val = add ? old + vload (src + i) : vload (src + i) + b;
      vstore (dst + i, (Vec) (((IVec) old & keep) | ((IVec) val & ~keep)));
    }
  else
    for (; i < n; i++)
      dst[i] = add ? dst[i] + src[i] : src[i] + b;
}

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
  gint64       M, Mp;           /* Mp: M rounded up to MB */
  float       *o;               /* [m][os] */
  gint64       os, L;           /* positions [0, L) are needed */
} Planes;

/* NB output channels × NV vectors of positions from p */
static inline __attribute__ ((always_inline)) void
block (const Planes *k, gint64 m0, gint64 p, const int NB, const int NV)
{
  const float *restrict q = k->q + p;
  const float *restrict w = k->w + m0;
  Vec acc[MB][PV + 1];

#pragma GCC unroll 8
  for (int i = 0; i < NB; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
      acc[i][v] = (Vec) { 0 };
  for (gint64 c = 0; c < k->C; c++, q += k->cs)
    for (gint64 t = 0; t < k->T; t++, w += k->Mp)
      {
        const float *restrict src = q + k->off[t];
        Vec xv[PV + 1];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
          xv[v] = vload (src + v * VL);
#pragma GCC unroll 8
        for (int i = 0; i < NB; i++)
          {
            float s = w[i];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
              acc[i][v] += xv[v] * s;
          }
      }
#pragma GCC unroll 8
  for (int i = 0; i < NB; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
      vstore (k->o + (m0 + i) * k->os + p + v * VL, acc[i][v]);
}

static inline __attribute__ ((always_inline)) void
planes (const Planes *k)
{
  gint64 m0 = 0;

  /* 8 channels × 48 positions, or 8 × 32 or 4 × 64 when that computes
   * fewer positions past the end (small planes: 7 × 9 positions are 64,
   * 14 × 16 are 224) */
  gint64 n48 = round_up (k->L, PV * VL), n32 = round_up (k->L, (PV - 1) * VL);
  gint64 n64 = round_up (k->L, (PV + 1) * VL);

  /* (the blocks only choose which sums are computed together: each output
   * adds its terms in the same order in every one) */
  if ((n64 < n48 && n64 < n32) || k->M < MB)
    for (; m0 + MB / 2 <= k->M; m0 += MB / 2)
      for (gint64 p = 0; p < k->L; p += (PV + 1) * VL)
        block (k, m0, p, MB / 2, PV + 1);
  else if (n32 < n48)
    for (; m0 + MB <= k->M; m0 += MB)
      for (gint64 p = 0; p < k->L; p += (PV - 1) * VL)
        block (k, m0, p, MB, PV - 1);
  else
    for (; m0 + MB <= k->M; m0 += MB)
      for (gint64 p = 0; p < k->L; p += PV * VL)
        block (k, m0, p, MB, PV);
  for (; m0 < k->M; m0++)
    for (gint64 p = 0; p < k->L; p += (PV + 1) * VL)
      block (k, m0, p, 1, PV + 1);
}

/* ---- forward ----------------------------------------------------------------- */

typedef struct
{
  const SomConvGeom *g;
  const float *x, *wp, *bias;   /* wp: per group, [c][t][Mp] */
  float       *y;
  gint64       G, Cg, Mg;       /* groups, input and output channels per group */
  gint64       Mp, T, QH, QW, qplane, cstride, L, os;
  gint64       off[MAX_TAPS];
} Fwd;

SOM_SIMD_CLONES static void
fwd_image (const Fwd *f, const float *x, float *y, float *q, float *o)
{
  const SomConvGeom *g = f->g;
  gint64 QH = f->QH, QW = f->QW;

  /* the phase planes of every input channel: the input's pixels (the
   * padding around them was zeroed once for all images) */
  for (gint64 c = 0; c < g->C; c++)
    for (gint64 a = 0; a < g->sy; a++)
      for (gint64 b = 0; b < g->sx; b++)
        {
          float *dst = q + c * f->cstride + (a * g->sx + b) * f->qplane;
          /* the columns v with 0 ≤ v·sx + b − pl < W */
          gint64 v0 = MIN (QW, (g->pl - b + g->sx - 1) / g->sx), v1 = col_end (g->W, g->pl, b, g->sx);
          v1 = CLAMP (v1, v0, QW);
          for (gint64 u = 0; u < QH; u++)
            {
              gint64 iy = u * g->sy + a - g->pt;
              float *restrict drow = dst + u * QW;
              const float *restrict srow;
              if (iy < 0 || iy >= g->H)
                continue;
              srow = x + (c * g->H + iy) * g->W + b - g->pl;
              if (g->sx == 1)
                for (gint64 v = v0; v < v1; v++)
                  drow[v] = srow[v];
              else
                for (gint64 v = v0; v < v1; v++)
                  drow[v] = srow[2 * v];
            }
        }
  for (gint64 gi = 0; gi < f->G; gi++)
    {
      Planes k = { q + gi * f->Cg * f->cstride, f->cstride, f->Cg, f->T, f->off, f->wp + gi * f->Cg * f->T * f->Mp,
                   f->Mg, f->Mp, o + gi * f->Mp * f->os, f->os, f->L };
      planes (&k);
    }
  /* to M × OH × OW, dropping the extra columns, with the bias */
  for (gint64 m = 0; m < g->M; m++)
    {
      float b = f->bias != NULL ? f->bias[m] : 0.0f;
      const float *om = o + ((m / f->Mg) * f->Mp + m % f->Mg) * f->os;
      for (gint64 oy = 0; oy < g->OH; oy++)
        row_out (y + (m * g->OH + oy) * g->OW, om + oy * QW, g->OW, b, FALSE,
                 (g->M * g->OH - (m * g->OH + oy + 1)) * g->OW >= VL ? ROW_MINE : ROW_LAST);
    }
}

static void
fwd_range (gsize begin, gsize end, gpointer data)
{
  Fwd *f = data;
  const SomConvGeom *g = f->g;
  float *q = _som_buffer_alloc (sizeof (float) * g->C * f->cstride);
  float *o = _som_buffer_alloc (sizeof (float) * (f->G * f->Mp * f->os + VL));

  memset (q, 0, sizeof (float) * g->C * f->cstride);
  for (gsize n = begin; n < end; n++)
    fwd_image (f, f->x + n * g->C * g->H * g->W, f->y + n * g->M * g->OH * g->OW, q, o);
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
  f.Mp = round_up (f.Mg, MB);
  f.T = g->KH * g->KW;
  f.QH = g->OH + (g->KH - 1) / g->sy;
  f.QW = g->OW + (g->KW - 1) / g->sx;
  f.qplane = round_up (f.QH * f.QW + SLACK, VL);
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

SOM_SIMD_CLONES static void
bwd_image (const Bwd *b, const float *dy, float *dx, float *q, float *o)
{
  const SomConvGeom *g = b->g;
  gint64 OHW = g->OH * g->OW;

  /* dY with KHm − 1 rows and KWm − 1 columns of zeros before, zeros after
   * (zeroed once for all images) */
  for (gint64 m = 0; m < g->M; m++)
    for (gint64 oy = 0; oy < g->OH; oy++)
      {
        float *restrict drow = q + m * b->plane + (oy + b->KHm - 1) * b->RW + b->KWm - 1;
        const float *restrict srow = dy + m * OHW + oy * g->OW;
        for (gint64 ox = 0; ox < g->OW; ox++)
          drow[ox] = srow[ox];
      }
  for (gint64 a = 0; a < g->sy; a++)
    for (gint64 bb = 0; bb < g->sx; bb++)
      {
        gint64 ph = a * g->sx + bb;
        Planes k = { q, b->plane, g->M, b->T[ph], b->off[ph], b->wp + b->woff[ph], g->C, b->Cp, o, b->os, b->L };
        /* the phase's pixels: padded (sy·u + a, sx·v + bb), input (… − pt, … − pl) */
        gint64 v0 = MIN (b->V, (g->pl - bb + g->sx - 1) / g->sx), v1 = col_end (g->W, g->pl, bb, g->sx);
        v1 = CLAMP (v1, v0, b->V);
        planes (&k);
        for (gint64 c = 0; c < g->C; c++)
          for (gint64 u = 0; u < b->U; u++)
            {
              gint64 iy = u * g->sy + a - g->pt;
              const float *restrict srow = o + c * b->os + u * b->RW;
              float *restrict drow;
              if (iy < 0 || iy >= g->H)
                continue;
              drow = dx + (c * g->H + iy) * g->W + bb - g->pl;
              if (g->sx == 1)
                row_out (drow + v0, srow + v0, v1 - v0, 0.0f, b->add,
                         (g->C * g->H - (c * g->H + iy + 1)) * g->W < VL ? ROW_LAST
                         : g->sy == 1 ? ROW_MINE : ROW_KEEP);
              else if (b->add)
                for (gint64 v = v0; v < v1; v++)
                  drow[2 * v] += srow[v];
              else
                for (gint64 v = v0; v < v1; v++)
                  drow[2 * v] = srow[v];
            }
      }
}

static void
bwd_range (gsize begin, gsize end, gpointer data)
{
  Bwd *b = data;
  const SomConvGeom *g = b->g;
  float *q = _som_buffer_alloc (sizeof (float) * g->M * b->plane);
  float *o = _som_buffer_alloc (sizeof (float) * (b->Cp * b->os + VL));

  memset (q, 0, sizeof (float) * g->M * b->plane);
  for (gsize n = begin; n < end; n++)
    bwd_image (b, b->dy + n * g->M * g->OH * g->OW, b->dx + n * g->C * g->H * g->W, q, o);
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
  b.Cp = round_up (g->C, MB);
  b.KHm = (g->KH + g->sy - 1) / g->sy;
  b.KWm = (g->KW + g->sx - 1) / g->sx;
  /* every input pixel belongs to one phase pixel (u, v) */
  b.U = (g->H + g->pt + g->sy - 1) / g->sy;
  b.V = (g->W + g->pl + g->sx - 1) / g->sx;
  b.R = b.U + b.KHm - 1;
  b.RW = b.V + b.KWm - 1;
  b.plane = round_up (b.R * b.RW + SLACK, VL);
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
