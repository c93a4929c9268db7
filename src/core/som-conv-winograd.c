/* som-conv-winograd.c: 3×3 stride-1 convolutions by Winograd F(4×4, 3×3)
 *
 * Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016):
 * each 4×4 output tile is A^T [(G g G^T) ⊙ (B^T d B)] A for the 6×6 input
 * patch d and the 3×3 kernel g.  The 36 elementwise products summed over
 * input channels are 36 matrix products (one sgemm each), which need 36
 * multiply-adds per tile and channel pair instead of 144.
 *
 * Layout: U[ξ][m][c] (the transformed kernels, computed once per node and kept
 * on it), V[ξ][c][t] (the input tiles of a chunk of images), Z[ξ][m][t] = U·V.
 * The transforms work on 16 tiles at a time so that GCC vectorizes them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#pragma GCC optimize ("tree-vectorize")

#include <cblas.h>
#include <string.h>

#include "som-conv-winograd.h"

/* U (36 × M × C) from the weights (M × C × 3 × 3). */
typedef struct
{
  const float *wt;
  float       *u;
  gint64       M, C;
} KernelT;

static void
kernel_range (gsize begin, gsize end, gpointer data)
{
  KernelT *k = data;
  gint64 MC = k->M * k->C;

  for (gsize mc = begin; mc < end; mc++)
    {
      const float *g = k->wt + mc * 9;
      float t[6][3], r[6][6];
      /* t = G g (6 × 3) */
      for (int j = 0; j < 3; j++)
        {
          float g0 = g[0 * 3 + j], g1 = g[1 * 3 + j], g2 = g[2 * 3 + j];
          t[0][j] = g0 / 4.0f;
          t[1][j] = -(g0 + g1 + g2) / 6.0f;
          t[2][j] = -(g0 - g1 + g2) / 6.0f;
          t[3][j] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
          t[4][j] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
          t[5][j] = g2;
        }
      /* r = t G^T (6 × 6) */
      for (int i = 0; i < 6; i++)
        {
          float g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
          r[i][0] = g0 / 4.0f;
          r[i][1] = -(g0 + g1 + g2) / 6.0f;
          r[i][2] = -(g0 - g1 + g2) / 6.0f;
          r[i][3] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
          r[i][4] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
          r[i][5] = g2;
        }
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
          k->u[(i * 6 + j) * MC + mc] = r[i][j];
    }
}

float *
_som_winograd_kernel (const float *wt, gint64 M, gint64 C)
{
  float *u = g_try_malloc (sizeof (float) * 36 * M * C);
  KernelT k = { wt, u, M, C };

  if (u == NULL)
    return NULL;
  _som_parallel_for (M * C, 64, kernel_range, &k);
  return u;
}


typedef struct
{
  const float *x;           /* first image of the chunk */
  float       *v;
  gint64       C, H, W, TH, TW, T, pt, pl, img_stride;
} InputT;

/* One plane: tile j = ti·(TW+1) + tj (one unused tile per row, so that a
 * tile's right neighbour is j + 1). */
SOM_SIMD_CLONES static void
input_plane (const InputT *it, const float *src, float *vdst, float *pad, float *q, float *e, float *g)
{
  gint64 TH = it->TH, TW = it->TW, PW = TW * 4 + 4, PH = TH * 4 + 2, TJ = TW + 1, NJ = TH * TJ;
  gint64 CT = it->C * it->T;

  /* the plane inside its zero padding */
  for (gint64 y = 0; y < PH; y++)
    {
      gint64 sy = y - it->pt;
      float *prow = pad + y * PW;
      if (sy < 0 || sy >= it->H)
        {
          memset (prow, 0, sizeof (float) * PW);
          continue;
        }
      /* W + pl ≤ PW: the output width covers the padded input */
      memset (prow, 0, sizeof (float) * it->pl);
      memcpy (prow + it->pl, src + sy * it->W, sizeof (float) * it->W);
      memset (prow + it->pl + it->W, 0, sizeof (float) * (PW - it->pl - it->W));
    }
  /* q[r][s][j] = pad[4ti + r][4tj + s], s < 4 */
  for (int r = 0; r < 6; r++)
    for (gint64 ti = 0; ti < TH; ti++)
      {
        const float *restrict row = pad + (ti * 4 + r) * PW;
        float *restrict q0 = q + (r * 4 + 0) * (NJ + 1) + ti * TJ;
        float *restrict q1 = q + (r * 4 + 1) * (NJ + 1) + ti * TJ;
        float *restrict q2 = q + (r * 4 + 2) * (NJ + 1) + ti * TJ;
        float *restrict q3 = q + (r * 4 + 3) * (NJ + 1) + ti * TJ;
        for (gint64 tj = 0; tj < TJ; tj++)
          {
            q0[tj] = row[4 * tj];
            q1[tj] = row[4 * tj + 1];
            q2[tj] = row[4 * tj + 2];
            q3[tj] = row[4 * tj + 3];
          }
      }
  /* along s: e[r][k][j] = (d[r][·] B)[k] */
  for (int r = 0; r < 6; r++)
    {
      const float *restrict q0 = q + (r * 4 + 0) * (NJ + 1), *restrict q1 = q + (r * 4 + 1) * (NJ + 1);
      const float *restrict q2 = q + (r * 4 + 2) * (NJ + 1), *restrict q3 = q + (r * 4 + 3) * (NJ + 1);
      float *restrict e0 = e + (r * 6 + 0) * NJ, *restrict e1 = e + (r * 6 + 1) * NJ;
      float *restrict e2 = e + (r * 6 + 2) * NJ, *restrict e3 = e + (r * 6 + 3) * NJ;
      float *restrict e4 = e + (r * 6 + 4) * NJ, *restrict e5 = e + (r * 6 + 5) * NJ;
      for (gint64 j = 0; j < NJ; j++)
        {
          float d0 = q0[j], d1 = q1[j], d2 = q2[j], d3 = q3[j], d4 = q0[j + 1], d5 = q1[j + 1];
          e0[j] = 4.0f * d0 - 5.0f * d2 + d4;
          e1[j] = -4.0f * (d1 + d2) + d3 + d4;
          e2[j] = 4.0f * (d1 - d2) - d3 + d4;
          e3[j] = 2.0f * (d3 - d1) - d2 + d4;
          e4[j] = 2.0f * (d1 - d3) - d2 + d4;
          e5[j] = 4.0f * d1 - 5.0f * d3 + d5;
        }
    }
  /* along r: g[(k'·6 + k)][j] = (B^T e[·][k])[k'] */
  for (int k = 0; k < 6; k++)
    {
      const float *restrict d0 = e + (0 * 6 + k) * NJ, *restrict d1 = e + (1 * 6 + k) * NJ;
      const float *restrict d2 = e + (2 * 6 + k) * NJ, *restrict d3 = e + (3 * 6 + k) * NJ;
      const float *restrict d4 = e + (4 * 6 + k) * NJ, *restrict d5 = e + (5 * 6 + k) * NJ;
      float *restrict v0 = g + (0 * 6 + k) * NJ, *restrict v1 = g + (1 * 6 + k) * NJ;
      float *restrict v2 = g + (2 * 6 + k) * NJ, *restrict v3 = g + (3 * 6 + k) * NJ;
      float *restrict v4 = g + (4 * 6 + k) * NJ, *restrict v5 = g + (5 * 6 + k) * NJ;
      for (gint64 j = 0; j < NJ; j++)
        {
          v0[j] = 4.0f * d0[j] - 5.0f * d2[j] + d4[j];
          v1[j] = -4.0f * (d1[j] + d2[j]) + d3[j] + d4[j];
          v2[j] = 4.0f * (d1[j] - d2[j]) - d3[j] + d4[j];
          v3[j] = 2.0f * (d3[j] - d1[j]) - d2[j] + d4[j];
          v4[j] = 2.0f * (d1[j] - d3[j]) - d2[j] + d4[j];
          v5[j] = 4.0f * d1[j] - 5.0f * d3[j] + d5[j];
        }
    }
  /* into V without the unused tiles */
  for (int xi = 0; xi < 36; xi++)
    for (gint64 ti = 0; ti < TH; ti++)
      memcpy (vdst + xi * CT + ti * TW, g + xi * NJ + ti * TJ, sizeof (float) * TW);
}

static void
input_range (gsize begin, gsize end, gpointer data)
{
  InputT *it = data;
  gint64 TH = it->TH, TW = it->TW, NJ = TH * (TW + 1);
  g_autofree float *pad = g_new (float, (TH * 4 + 2) * (TW * 4 + 4));
  g_autofree float *q = g_new (float, 24 * (NJ + 1));
  g_autofree float *e = g_new (float, 36 * NJ);
  g_autofree float *g = g_new (float, 36 * NJ);
  gint64 tpi = TH * TW;

  for (gsize plane = begin; plane < end; plane++)
    {
      gint64 n = plane / it->C, c = plane % it->C;
      /* the unused tile after the last row reads q[·][NJ] */
      for (int k = 0; k < 24; k++)
        q[k * (NJ + 1) + NJ] = 0.0f;
      input_plane (it, it->x + n * it->img_stride + c * it->H * it->W, it->v + c * it->T + n * tpi, pad, q, e, g);
    }
}

typedef struct
{
  const float *z;
  float       *y;           /* first image of the chunk */
  const float *bias;
  gint64       M, OH, OW, TH, TW, T, img_stride;
} OutputT;

SOM_SIMD_CLONES static void
output_plane (const OutputT *ot, const float *zsrc, float *dst, float b, float *f, float *o)
{
  gint64 TH = ot->TH, TW = ot->TW, tpi = TH * TW, MT = ot->M * ot->T, OW = ot->OW;

  /* along s: f[r][k'][t] = (A^T Z[r][·])[k'] */
  for (int r = 0; r < 6; r++)
    {
      const float *restrict m0 = zsrc + (r * 6 + 0) * MT, *restrict m1 = zsrc + (r * 6 + 1) * MT;
      const float *restrict m2 = zsrc + (r * 6 + 2) * MT, *restrict m3 = zsrc + (r * 6 + 3) * MT;
      const float *restrict m4 = zsrc + (r * 6 + 4) * MT, *restrict m5 = zsrc + (r * 6 + 5) * MT;
      float *restrict f0 = f + (r * 4 + 0) * tpi, *restrict f1 = f + (r * 4 + 1) * tpi;
      float *restrict f2 = f + (r * 4 + 2) * tpi, *restrict f3 = f + (r * 4 + 3) * tpi;
      for (gint64 t = 0; t < tpi; t++)
        {
          float a = m1[t] + m2[t], c = m1[t] - m2[t], p = m3[t] + m4[t], q = m3[t] - m4[t];
          f0[t] = m0[t] + a + p;
          f1[t] = c + 2.0f * q;
          f2[t] = a + 4.0f * p;
          f3[t] = c + 8.0f * q + m5[t];
        }
    }
  /* along r: o[r'][k'][t], plus the bias */
  for (int k = 0; k < 4; k++)
    {
      const float *restrict m0 = f + (0 * 4 + k) * tpi, *restrict m1 = f + (1 * 4 + k) * tpi;
      const float *restrict m2 = f + (2 * 4 + k) * tpi, *restrict m3 = f + (3 * 4 + k) * tpi;
      const float *restrict m4 = f + (4 * 4 + k) * tpi, *restrict m5 = f + (5 * 4 + k) * tpi;
      float *restrict o0 = o + (0 * 4 + k) * tpi, *restrict o1 = o + (1 * 4 + k) * tpi;
      float *restrict o2 = o + (2 * 4 + k) * tpi, *restrict o3 = o + (3 * 4 + k) * tpi;
      for (gint64 t = 0; t < tpi; t++)
        {
          float a = m1[t] + m2[t], c = m1[t] - m2[t], p = m3[t] + m4[t], q = m3[t] - m4[t];
          o0[t] = m0[t] + a + p + b;
          o1[t] = c + 2.0f * q + b;
          o2[t] = a + 4.0f * p + b;
          o3[t] = c + 8.0f * q + m5[t] + b;
        }
    }
  /* interleave into the output rows; the last tile row and column may overhang */
  for (gint64 ti = 0; ti < TH; ti++)
    for (int r = 0; r < 4; r++)
      {
        gint64 oy = ti * 4 + r, full = MIN (TW, OW / 4);
        const float *restrict s0 = o + (r * 4 + 0) * tpi + ti * TW;
        const float *restrict s1 = o + (r * 4 + 1) * tpi + ti * TW;
        const float *restrict s2 = o + (r * 4 + 2) * tpi + ti * TW;
        const float *restrict s3 = o + (r * 4 + 3) * tpi + ti * TW;
        float *restrict drow;
        if (oy >= ot->OH)
          break;
        drow = dst + oy * OW;
        for (gint64 tj = 0; tj < full; tj++)
          {
            drow[4 * tj] = s0[tj];
            drow[4 * tj + 1] = s1[tj];
            drow[4 * tj + 2] = s2[tj];
            drow[4 * tj + 3] = s3[tj];
          }
        for (gint64 ox = full * 4; ox < OW; ox++)
          {
            gint64 tj = ox / 4;
            const float *sk = o + (r * 4 + ox % 4) * tpi + ti * TW;
            drow[ox] = sk[tj];
          }
      }
}

static void
output_range (gsize begin, gsize end, gpointer data)
{
  OutputT *ot = data;
  gint64 tpi = ot->TH * ot->TW;
  g_autofree float *f = g_new (float, 24 * tpi);
  g_autofree float *o = g_new (float, 16 * tpi);

  for (gsize plane = begin; plane < end; plane++)
    {
      gint64 n = plane / ot->M, m = plane % ot->M;
      output_plane (ot, ot->z + m * ot->T + n * tpi, ot->y + n * ot->img_stride + m * ot->OH * ot->OW,
                    ot->bias != NULL ? ot->bias[m] : 0.0f, f, o);
    }
}

gboolean
_som_winograd_conv (const float *x, const float *u, const float *bias, float *y, gint64 N, gint64 C, gint64 H,
                    gint64 W, gint64 M, gint64 OH, gint64 OW, gint64 pt, gint64 pl)
{
  gint64 TH = (OH + 3) / 4, TW = (OW + 3) / 4, tpi = TH * TW, nb;
  g_autofree float *v = NULL, *z = NULL;

  /* images per chunk: V and Z within about 16 MiB, at least one image */
  nb = (16 << 20) / MAX (1, (gint64) sizeof (float) * 36 * (C + M) * tpi);
  nb = CLAMP (nb, 1, N);
  v = g_try_malloc (sizeof (float) * 36 * C * nb * tpi);
  z = g_try_malloc (sizeof (float) * 36 * M * nb * tpi);
  if (v == NULL || z == NULL)
    return FALSE;
  for (gint64 n0 = 0; n0 < N; n0 += nb)
    {
      gint64 cnt = MIN (nb, N - n0), T = cnt * tpi;
      InputT it = { x + n0 * C * H * W, v, C, H, W, TH, TW, T, pt, pl, C * H * W };
      OutputT ot = { z, y + n0 * M * OH * OW, bias, M, OH, OW, TH, TW, T, M * OH * OW };
      _som_parallel_for (cnt * C, 4, input_range, &it);
      for (int xi = 0; xi < 36; xi++)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, M, T, C, 1.0f, u + xi * M * C, C,
                     v + xi * C * T, T, 0.0f, z + xi * M * T, T);
      _som_parallel_for (cnt * M, 4, output_range, &ot);
    }
  return TRUE;
}
