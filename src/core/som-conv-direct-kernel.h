/* som-conv-direct-kernel.h: the vector code of som-conv-direct.c, for one
 * vector width
 *
 * Included once per instruction set, with VL (floats per vector), MB and PV
 * (the block: MB output channels × PV vectors of positions, sized so that
 * the accumulators fit the set's registers), LANES (0 … VL − 1), KERNEL
 * (the functions' target attribute) and SUFFIX (their names' ending)
 * defined; undefines them.  Vectors of VL floats compile to whole registers
 * only where the set has them: GCC splits wider ones through the stack,
 * which made the AVX2 build of 16-float code 40× slower than AVX-512's.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define K_CAT_(a, b) a##b
#define K_CAT(a, b) K_CAT_ (a, b)
#define K(name) K_CAT (name, SUFFIX)
#define Vec K (Vec)
#define IVec K (IVec)
#define vload K (vload)
#define row_out K (row_out)
#define block K (block)
#define planes K (planes)
#define fwd_image K (fwd_image)
#define bwd_image K (bwd_image)

typedef float Vec __attribute__ ((vector_size (VL * sizeof (float))));

KERNEL static inline __attribute__ ((always_inline)) Vec
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

/* dst[i] = src[i] + b, or dst[i] += src[i] when @add, for i < n, a vector
 * at a time; the last vector reads up to VL − 1 floats past src's row, and
 * past dst's for ROW_KEEP.  ROW_MINE stores no load of dst, which is fresh
 * memory: loading it would wait for the cache line, and on rows shorter
 * than a vector for the previous row's store. */
KERNEL static inline __attribute__ ((always_inline)) void
row_out (float *restrict dst, const float *restrict src, gint64 n, float b, gboolean add, RowEnd end)
{
  const IVec lane = LANES;
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

/* NB output channels × NV vectors of positions from p */
KERNEL static inline __attribute__ ((always_inline)) void
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

KERNEL static inline __attribute__ ((always_inline)) void
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

KERNEL static void
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

KERNEL static void
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

#undef Vec
#undef IVec
#undef vload
#undef vstore
#undef row_out
#undef block
#undef planes
#undef fwd_image
#undef bwd_image
#undef K
#undef K_CAT
#undef K_CAT_
#undef VL
#undef MB
#undef PV
#undef LANES
#undef KERNEL
#undef SUFFIX
