/* som-metrics.c: homogeneity, label-association and trajectory metrics
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "som-metrics.h"

static inline gboolean
valid_bmu (gint32 b, guint n_units)
{
  return b >= 0 && (guint) b < n_units;
}

guint
som_metrics_occupied_units (const gint32 *bmus, gsize n, guint n_units)
{
  g_autofree guint8 *seen = g_new0 (guint8, MAX (n_units, 1));
  guint count = 0;

  for (gsize i = 0; i < n; i++)
    if (valid_bmu (bmus[i], n_units) && !seen[bmus[i]])
      {
        seen[bmus[i]] = 1;
        count++;
      }
  return count;
}

void
som_metrics_occupied_per_class (const gint32 *bmus, const gint32 *labels, gsize n, guint n_units,
                                guint n_classes, guint *out)
{
  g_autofree guint8 *seen = g_new0 (guint8, (gsize) MAX (n_units, 1) * MAX (n_classes, 1));

  memset (out, 0, n_classes * sizeof (guint));
  for (gsize i = 0; i < n; i++)
    {
      gint32 c = labels[i];
      if (!valid_bmu (bmus[i], n_units) || c < 0 || (guint) c >= n_classes)
        continue;
      if (!seen[(gsize) c * n_units + bmus[i]])
        {
          seen[(gsize) c * n_units + bmus[i]] = 1;
          out[c]++;
        }
    }
}

double
som_metrics_hit_entropy (const gint32 *bmus, gsize n, guint n_units)
{
  g_autofree gsize *hits = g_new0 (gsize, MAX (n_units, 1));
  gsize total = 0;
  double h = 0;

  for (gsize i = 0; i < n; i++)
    if (valid_bmu (bmus[i], n_units))
      {
        hits[bmus[i]]++;
        total++;
      }
  if (total == 0)
    return NAN;
  for (guint k = 0; k < n_units; k++)
    if (hits[k] > 0)
      {
        double p = (double) hits[k] / total;
        h -= p * log (p);
      }
  return h;
}

double
som_metrics_class_spread (SomGrid *grid, const gint32 *bmus, const gint32 *labels, gsize n, guint n_classes)
{
  guint n_units = som_grid_get_n_units (grid);
  g_autofree double *sx = g_new0 (double, MAX (n_classes, 1));
  g_autofree double *sy = g_new0 (double, MAX (n_classes, 1));
  g_autofree double *sd = g_new0 (double, MAX (n_classes, 1));
  g_autofree gsize *cnt = g_new0 (gsize, MAX (n_classes, 1));
  double total = 0;
  guint classes = 0;

  for (gsize i = 0; i < n; i++)
    {
      double x, y;
      if (!valid_bmu (bmus[i], n_units) || labels[i] < 0 || (guint) labels[i] >= n_classes)
        continue;
      som_grid_get_position (grid, bmus[i], &x, &y);
      sx[labels[i]] += x;
      sy[labels[i]] += y;
      cnt[labels[i]]++;
    }
  for (guint c = 0; c < n_classes; c++)
    if (cnt[c] > 0)
      {
        sx[c] /= cnt[c];
        sy[c] /= cnt[c];
      }
  for (gsize i = 0; i < n; i++)
    {
      double x, y;
      gint32 c = labels[i];
      if (!valid_bmu (bmus[i], n_units) || c < 0 || (guint) c >= n_classes)
        continue;
      som_grid_get_position (grid, bmus[i], &x, &y);
      sd[c] += hypot (x - sx[c], y - sy[c]);
    }
  for (guint c = 0; c < n_classes; c++)
    if (cnt[c] > 0)
      {
        total += sd[c] / cnt[c];
        classes++;
      }
  return classes > 0 ? total / classes : NAN;
}

/* Joint counts n(u, c) of valid pairs; returns their total. */
static gsize
joint_counts (const gint32 *bmus, const gint32 *labels, gsize n, guint n_units, guint n_classes, gsize *joint)
{
  gsize total = 0;

  for (gsize i = 0; i < n; i++)
    {
      gint32 c = labels[i];
      if (!valid_bmu (bmus[i], n_units) || c < 0 || (guint) c >= n_classes)
        continue;
      joint[(gsize) bmus[i] * n_classes + c]++;
      total++;
    }
  return total;
}

double
som_metrics_mutual_information (const gint32 *bmus, const gint32 *labels, gsize n, guint n_units,
                                guint n_classes)
{
  g_autofree gsize *joint = g_new0 (gsize, (gsize) MAX (n_units, 1) * MAX (n_classes, 1));
  g_autofree gsize *pu = g_new0 (gsize, MAX (n_units, 1));
  g_autofree gsize *pc = g_new0 (gsize, MAX (n_classes, 1));
  gsize total = joint_counts (bmus, labels, n, n_units, n_classes, joint);
  double mi = 0;

  if (total == 0)
    return NAN;
  for (guint u = 0; u < n_units; u++)
    for (guint c = 0; c < n_classes; c++)
      {
        pu[u] += joint[(gsize) u * n_classes + c];
        pc[c] += joint[(gsize) u * n_classes + c];
      }
  for (guint u = 0; u < n_units; u++)
    for (guint c = 0; c < n_classes; c++)
      {
        gsize j = joint[(gsize) u * n_classes + c];
        if (j > 0)
          mi += (double) j / total * log ((double) j * total / ((double) pu[u] * pc[c]));
      }
  return MAX (mi, 0.0);
}

double
som_metrics_unit_purity (const gint32 *bmus, const gint32 *labels, gsize n, guint n_units, guint n_classes)
{
  g_autofree gsize *joint = g_new0 (gsize, (gsize) MAX (n_units, 1) * MAX (n_classes, 1));
  gsize total = joint_counts (bmus, labels, n, n_units, n_classes, joint), maj = 0;

  if (total == 0)
    return NAN;
  for (guint u = 0; u < n_units; u++)
    {
      gsize best = 0;
      for (guint c = 0; c < n_classes; c++)
        best = MAX (best, joint[(gsize) u * n_classes + c]);
      maj += best;
    }
  return (double) maj / total;
}

void
som_metrics_unit_labels (SomGrid *grid, const gint32 *bmus, const gint32 *labels, gsize n, guint n_classes,
                         gint32 *out)
{
  guint n_units = som_grid_get_n_units (grid);
  g_autofree gsize *joint = g_new0 (gsize, (gsize) MAX (n_units, 1) * MAX (n_classes, 1));
  gboolean any = FALSE;

  joint_counts (bmus, labels, n, n_units, n_classes, joint);
  for (guint u = 0; u < n_units; u++)
    {
      gsize best = 0;
      out[u] = -1;
      for (guint c = 0; c < n_classes; c++)
        if (joint[(gsize) u * n_classes + c] > best)
          {
            best = joint[(gsize) u * n_classes + c];
            out[u] = c;
          }
      if (out[u] >= 0)
        any = TRUE;
    }
  if (!any)
    return;
  {
    g_autofree gint32 *filled = g_memdup2 (out, n_units * sizeof (gint32));
    for (guint u = 0; u < n_units; u++)
      {
        double bestd = INFINITY;
        if (out[u] >= 0)
          continue;
        for (guint v = 0; v < n_units; v++)
          if (out[v] >= 0)
            {
              double d = som_grid_distance (grid, u, v);
              if (d < bestd)
                {
                  bestd = d;
                  filled[u] = out[v];
                }
            }
      }
    memcpy (out, filled, n_units * sizeof (gint32));
  }
}

double
som_metrics_labelling_accuracy (const gint32 *unit_labels, const gint32 *bmus, const gint32 *labels, gsize n)
{
  gsize right = 0, total = 0;

  for (gsize i = 0; i < n; i++)
    {
      if (bmus[i] < 0 || labels[i] < 0)
        continue;
      total++;
      right += unit_labels[bmus[i]] == labels[i];
    }
  return total > 0 ? (double) right / total : NAN;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

void
som_metrics_codebook_cosine (const float *codebook, guint n_units, guint dim, double *mean, double *median)
{
  g_autofree double *norm = g_new0 (double, MAX (n_units, 1));
  g_autofree double *d = g_new (double, MAX ((gsize) n_units * (n_units - 1) / 2, 1));
  gsize m = 0;
  double sum = 0;

  for (guint u = 0; u < n_units; u++)
    {
      double s = 0;
      for (guint k = 0; k < dim; k++)
        s += (double) codebook[(gsize) u * dim + k] * codebook[(gsize) u * dim + k];
      norm[u] = sqrt (s);
    }
  for (guint u = 0; u < n_units; u++)
    for (guint v = u + 1; v < n_units; v++)
      {
        double dot = 0;
        if (norm[u] == 0 || norm[v] == 0)
          continue;
        for (guint k = 0; k < dim; k++)
          dot += (double) codebook[(gsize) u * dim + k] * codebook[(gsize) v * dim + k];
        d[m] = 1.0 - dot / (norm[u] * norm[v]);
        sum += d[m];
        m++;
      }
  if (m == 0)
    {
      *mean = *median = NAN;
      return;
    }
  qsort (d, m, sizeof (double), cmp_double);
  *mean = sum / m;
  *median = m % 2 ? d[m / 2] : 0.5 * (d[m / 2 - 1] + d[m / 2]);
}

gboolean
som_metrics_pca (const float *codes, gsize n, guint dim, double *c90, double *c95, double *pr)
{
  gsize rows = n, m;
  g_autofree double *mean = g_new0 (double, MAX (dim, 1));
  g_autofree double *mat = NULL;
  g_autofree double *ev = NULL;
  g_autofree gsize *pick = NULL;
  gboolean gram = dim > 2048;
  double total = 0, sq = 0, acc = 0;

  *c90 = *c95 = *pr = NAN;
  if (n < 2 || dim == 0)
    return FALSE;
  if (gram && rows > 2048)
    rows = 2048;
  pick = g_new (gsize, rows);
  for (gsize i = 0; i < rows; i++)
    pick[i] = rows == n ? i : (gsize) ((double) i * n / rows);
  for (gsize i = 0; i < rows; i++)
    for (guint k = 0; k < dim; k++)
      mean[k] += codes[pick[i] * dim + k];
  for (guint k = 0; k < dim; k++)
    mean[k] /= rows;
  m = gram ? rows : dim;
  mat = g_try_new0 (double, m * m);
  ev = g_new0 (double, m);
  if (mat == NULL)
    return FALSE;
  {
    /* centred rows in double, then one dsyrk */
    g_autofree double *xc = g_try_new (double, rows * dim);
    if (xc == NULL)
      return FALSE;
    for (gsize i = 0; i < rows; i++)
      for (guint k = 0; k < dim; k++)
        xc[i * dim + k] = codes[pick[i] * dim + k] - mean[k];
    if (gram)
      cblas_dsyrk (CblasRowMajor, CblasUpper, CblasNoTrans, rows, dim, 1.0 / (rows - 1), xc, dim, 0.0, mat, m);
    else
      cblas_dsyrk (CblasRowMajor, CblasUpper, CblasTrans, dim, rows, 1.0 / (rows - 1), xc, dim, 0.0, mat, m);
  }
  if (LAPACKE_dsyev (LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int) m, mat, (lapack_int) m, ev) != 0)
    return FALSE;
  for (gsize i = 0; i < m; i++)
    {
      double l = MAX (ev[i], 0.0);
      total += l;
      sq += l * l;
    }
  if (total <= 0)
    return FALSE;
  *pr = total * total / sq;
  /* eigenvalues come ascending */
  for (gsize i = 0; i < m; i++)
    {
      acc += MAX (ev[m - 1 - i], 0.0);
      if (isnan (*c90) && acc >= 0.9 * total - 1e-12 * total)
        *c90 = i + 1;
      if (isnan (*c95) && acc >= 0.95 * total - 1e-12 * total)
        {
          *c95 = i + 1;
          break;
        }
    }
  return TRUE;
}

double
som_metrics_bmu_agreement (const gint32 *clean, const gint32 *adversarial, gsize n)
{
  gsize same = 0, total = 0;

  for (gsize i = 0; i < n; i++)
    if (clean[i] >= 0 && adversarial[i] >= 0)
      {
        total++;
        same += clean[i] == adversarial[i];
      }
  return total > 0 ? (double) same / total : NAN;
}

double
som_metrics_mean_grid_distance (SomGrid *grid, const gint32 *clean, const gint32 *adversarial, gsize n)
{
  gsize total = 0;
  double s = 0;

  for (gsize i = 0; i < n; i++)
    if (clean[i] >= 0 && adversarial[i] >= 0)
      {
        total++;
        s += som_grid_distance (grid, clean[i], adversarial[i]);
      }
  return total > 0 ? s / total : NAN;
}

double
som_metrics_adversarial_in_class_unit (const gint32 *unit_labels, const gint32 *adversarial_bmus,
                                       const gint32 *adversarial_predictions, gsize n)
{
  return som_metrics_labelling_accuracy (unit_labels, adversarial_bmus, adversarial_predictions, n);
}

gboolean
som_metrics_bmus_close (SomGrid *grid, gint32 a, gint32 b)
{
  if (a < 0 || b < 0)
    return FALSE;
  return a == b || som_grid_are_neighbours (grid, a, b);
}

static void
ranks (const double *v, gsize n, double *r)
{
  g_autofree gsize *idx = g_new (gsize, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    idx[i] = i;
  /* insertion sort: series are short (layers, classes) */
  for (gsize i = 1; i < n; i++)
    for (gsize j = i; j > 0 && v[idx[j - 1]] > v[idx[j]]; j--)
      {
        gsize t = idx[j];
        idx[j] = idx[j - 1];
        idx[j - 1] = t;
      }
  for (gsize i = 0; i < n;)
    {
      gsize j = i;
      while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
        j++;
      for (gsize k = i; k <= j; k++)
        r[idx[k]] = 0.5 * (i + j) + 1;
      i = j + 1;
    }
}

double
som_metrics_spearman (const double *x, const double *y, gsize n)
{
  g_autofree double *xs = g_new (double, MAX (n, 1));
  g_autofree double *ys = g_new (double, MAX (n, 1));
  g_autofree double *rx = g_new (double, MAX (n, 1));
  g_autofree double *ry = g_new (double, MAX (n, 1));
  gsize m = 0;
  double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;

  for (gsize i = 0; i < n; i++)
    if (!isnan (x[i]) && !isnan (y[i]))
      {
        xs[m] = x[i];
        ys[m] = y[i];
        m++;
      }
  if (m < 2)
    return NAN;
  ranks (xs, m, rx);
  ranks (ys, m, ry);
  for (gsize i = 0; i < m; i++)
    {
      mx += rx[i];
      my += ry[i];
    }
  mx /= m;
  my /= m;
  for (gsize i = 0; i < m; i++)
    {
      sxy += (rx[i] - mx) * (ry[i] - my);
      sxx += (rx[i] - mx) * (rx[i] - mx);
      syy += (ry[i] - my) * (ry[i] - my);
    }
  if (sxx <= 0 || syy <= 0)
    return NAN;
  return sxy / sqrt (sxx * syy);
}
