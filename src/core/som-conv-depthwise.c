/* som-conv-depthwise.c: depthwise convolution (one input channel per output channel)
 *
 * MobileNet, EfficientNet, MnasNet, ConvNeXt and MaxViT spend much of their
 * time here.  Each output row is accumulated tap by tap: for a kernel tap
 * (a, i, j) the valid output columns form one interval, computed once, over
 * which the row update has no branch (and, at stride 1, is a contiguous
 * multiply-add that GCC vectorizes).  The row stays in L1 across the taps.
 * Every output adds its taps in the same order as a plain loop over the window
 * would, so the result does not depend on the vector width.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#pragma GCC optimize ("tree-vectorize")
/* Separate multiplies and adds, as in the plain loop: with FMA contraction the
 * AVX clones would round differently from the default one, and the results
 * would depend on the machine (a Max or a Relu near a tie then routes the
 * gradient elsewhere). */
#pragma GCC optimize ("fp-contract=off")

#include "som-conv-depthwise.h"


/* First and one-past-last output column ow with 0 ≤ ow·s + off < W. */
static inline void
valid_columns (gint64  off,
               gint64  s,
               gint64  W,
               gint64  OW,
               gint64 *lo,
               gint64 *hi)
{
  gint64 a = off < 0 ? (-off + s - 1) / s : 0;
  gint64 b = W - 1 - off >= 0 ? (W - 1 - off) / s + 1 : 0;

  *lo = MIN (a, OW);
  *hi = MAX (*lo, MIN (b, OW));
}

SOM_SIMD_CLONES static void
row_add_unit (float       *restrict row,
              const float *restrict src,
              float                 kv,
              gint64                n)
{
  for (gint64 t = 0; t < n; t++)
    row[t] += kv * src[t];
}

SOM_SIMD_CLONES static void
row_add_strided (float       *restrict row,
                 const float *restrict src,
                 float                 kv,
                 gint64                s,
                 gint64                n)
{
  for (gint64 t = 0; t < n; t++)
    row[t] += kv * src[t * s];
}

/* 3×3 at stride 1: the three taps of a kernel row in one pass over the row */
SOM_SIMD_CLONES static void
row_add_3 (float       *restrict row,
           const float *restrict src,
           float                 k0,
           float                 k1,
           float                 k2,
           gint64                n)
{
  /* the taps in order, as the other paths add them */
  for (gint64 t = 0; t < n; t++)
    {
      float r = row[t];
      r += k0 * src[t];
      r += k1 * src[t + 1];
      r += k2 * src[t + 2];
      row[t] = r;
    }
}

/* 5×5 at stride 1 (EfficientNet, MnasNet, MobileNetV3): the same, five taps */
SOM_SIMD_CLONES static void
row_add_5 (float       *restrict row,
           const float *restrict src,
           const float *restrict k,
           gint64                n)
{
  float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4];

  for (gint64 t = 0; t < n; t++)
    {
      float r = row[t];
      r += k0 * src[t];
      r += k1 * src[t + 1];
      r += k2 * src[t + 2];
      r += k3 * src[t + 3];
      r += k4 * src[t + 4];
      row[t] = r;
    }
}

void
_som_depthwise_plane (const float     *src,
                      const float     *k,
                      float            bias,
                      float           *dst,
                      const SomWindow *w)
{
  gint64 D = w->in[0], H = w->in[1], W = w->in[2];
  gint64 OD = w->out[0], OH = w->out[1], OW = w->out[2];
  gint64 KD = w->k[0], KH = w->k[1], KW = w->k[2];
  gint64 sw = w->s[2], dw = w->d[2], pw = w->pb[2];
  /* the columns where a whole 3- or 5-tap row lies inside the input */
  gboolean fused = (KW == 3 || KW == 5) && sw == 1 && dw == 1;
  gint64 flo = 0, fhi = 0;
  /* each tap column's valid output columns, the same for every row: once
   * per plane, not per row and tap (its divisions were most of this
   * function's own time on 7×7 and 14×14 planes) */
  gint64 clo_s[16], chi_s[16];
  g_autofree gint64 *clo_h = NULL, *chi_h = NULL;
  gint64 *clo = clo_s, *chi = chi_s;

  if (KW > 16)
    {
      clo = clo_h = g_new (gint64, KW);
      chi = chi_h = g_new (gint64, KW);
    }
  for (gint64 j = 0; j < KW; j++)
    valid_columns (j * dw - pw, sw, W, OW, &clo[j], &chi[j]);

  if (fused)
    {
      gint64 lo2, hi2;
      valid_columns (-pw, 1, W, OW, &flo, &fhi);
      valid_columns (KW - 1 - pw, 1, W, OW, &lo2, &hi2);
      flo = MAX (flo, lo2);
      fhi = MIN (fhi, hi2);
      if (fhi <= flo)
        fused = FALSE;
    }

  for (gint64 od = 0; od < OD; od++)
    for (gint64 oh = 0; oh < OH; oh++)
      {
        float *row = dst + (od * OH + oh) * OW;

        for (gint64 ow = 0; ow < OW; ow++)
          row[ow] = bias;
        for (gint64 a = 0; a < KD; a++)
          {
            gint64 id = od * w->s[0] - w->pb[0] + a * w->d[0];
            if (id < 0 || id >= D)
              continue;
            for (gint64 i = 0; i < KH; i++)
              {
                gint64 ih = oh * w->s[1] - w->pb[1] + i * w->d[1];
                const float *srow = src + (id * H + ih) * W;
                const float *kr = k + (a * KH + i) * KW;

                if (ih < 0 || ih >= H)
                  continue;
                if (fused)
                  {
                    /* the middle in one pass; the edge columns tap by tap */
                    if (KW == 3)
                      row_add_3 (row + flo, srow + flo - pw, kr[0], kr[1], kr[2], fhi - flo);
                    else
                      row_add_5 (row + flo, srow + flo - pw, kr, fhi - flo);
                    for (gint64 j = 0; j < KW; j++)
                      {
                        gint64 off = j - pw, lo = clo[j], hi = chi[j];
                        for (gint64 ow = lo; ow < MIN (hi, flo); ow++)
                          row[ow] += kr[j] * srow[ow + off];
                        for (gint64 ow = MAX (lo, fhi); ow < hi; ow++)
                          row[ow] += kr[j] * srow[ow + off];
                      }
                    continue;
                  }
                for (gint64 j = 0; j < KW; j++)
                  {
                    gint64 off = j * dw - pw, lo = clo[j], hi = chi[j];

                    if (hi <= lo)
                      continue;
                    if (sw == 1)
                      row_add_unit (row + lo, srow + lo + off, kr[j], hi - lo);
                    else
                      row_add_strided (row + lo, srow + lo * sw + off, kr[j], sw, hi - lo);
                  }
              }
          }
      }
}
