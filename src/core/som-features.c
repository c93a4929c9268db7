/* som-features.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <cblas.h>
#include <lapacke.h>

#include "som-features.h"
#include "som-map-private.h"
#include "som-types.h"

static SomArray *
new_1d_f32 (gsize n)
{
  SomArray *a = som_array_new_2d_f32 (1, n);

  a->ndim = 1;
  a->shape[0] = n;
  return a;
}

SomArray *
som_features_codes (const SomArray *input, SomCodes codes, const char *name, GError **error)
{
  g_autoptr(SomArray) f = NULL;
  gsize n, inner = 1, channels;
  SomArray *out;

  if (input->ndim < 2)
    {
      g_autofree char *shape = som_array_shape_string (input);
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: expected N×D or N×C×H×W data, got shape %s",
                   name, shape);
      return NULL;
    }
  if (input->dtype == SOM_DTYPE_BOOL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, "%s: boolean data cannot train a map", name);
      return NULL;
    }
  f = input->dtype == SOM_DTYPE_F32 ? som_array_copy (input) : som_array_to_f32 (input);
  if (f == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: out of memory converting to float32", name);
      return NULL;
    }
  n = f->shape[0];
  channels = f->shape[1];
  for (guint d = 2; d < f->ndim; d++)
    inner *= f->shape[d];
  if (f->ndim == 2 || codes == SOM_CODES_FLATTEN)
    {
      f->shape[1] = channels * inner;
      f->ndim = 2;
      out = g_steal_pointer (&f);
    }
  else
    {
      const float *src = f->data;
      float *dst;

      out = som_array_new_2d_f32 (n, channels);
      dst = out->data;
      for (gsize i = 0; i < n * channels; i++)
        {
          double s = 0;
          for (gsize j = 0; j < inner; j++)
            s += src[i * inner + j];
          dst[i] = inner ? (float) (s / inner) : 0.0f;
        }
    }
  if (out->shape[1] == 0 || out->shape[1] > G_MAXUINT32)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: %zu features per row is not usable",
                   name, out->shape[1]);
      som_array_free (out);
      return NULL;
    }
  return out;
}

gboolean
som_features_check_finite (const SomArray *x, SomNonfinite mode, const char *name,
                           guint8 **valid, gsize *n_valid, GError **error)
{
  gsize n = x->shape[0];
  guint d = (guint) x->shape[1];
  const float *data = x->data;
  guint8 *mask = NULL;
  gsize good = 0;

  for (gsize i = 0; i < n; i++)
    {
      if (_som_row_is_finite (data + i * d, d))
        {
          good++;
          if (mask != NULL)
            mask[i] = 1;
          continue;
        }
      if (mode == SOM_NONFINITE_ERROR)
        {
          guint j = 0;
          while (j < d && isfinite (data[i * d + j]))
            j++;
          g_set_error (error, SOM_ERROR, SOM_ERROR_NONFINITE,
                       "%s: row %zu has a non-finite value (%g in column %u); "
                       "--nonfinite skip leaves such rows out", name, i, (double) data[i * d + j], j);
          g_free (mask);
          return FALSE;
        }
      if (mask == NULL)
        {
          mask = g_malloc (n);
          memset (mask, 1, i);
        }
      mask[i] = 0;
    }
  *valid = mask;
  if (n_valid != NULL)
    *n_valid = good;
  return TRUE;
}

void
som_features_standardize (SomArray *x, const guint8 *valid, SomArray **mean_out, SomArray **std_out)
{
  gsize n = x->shape[0], d = x->shape[1], count = 0;
  float *data = x->data;
  g_autofree double *s = g_new0 (double, d);
  g_autofree double *s2 = g_new0 (double, d);
  SomArray *mean = new_1d_f32 (d), *std = new_1d_f32 (d);

  for (gsize i = 0; i < n; i++)
    {
      if (valid != NULL && !valid[i])
        continue;
      count++;
      for (gsize j = 0; j < d; j++)
        s[j] += data[i * d + j];
    }
  for (gsize j = 0; j < d; j++)
    s[j] = count ? s[j] / count : 0;
  /* Two passes: the mean first, so the variance does not cancel. */
  for (gsize i = 0; i < n; i++)
    {
      if (valid != NULL && !valid[i])
        continue;
      for (gsize j = 0; j < d; j++)
        {
          double v = data[i * d + j] - s[j];
          s2[j] += v * v;
        }
    }
  for (gsize j = 0; j < d; j++)
    {
      double sd = count > 1 ? sqrt (s2[j] / count) : 0;
      ((float *) mean->data)[j] = (float) s[j];
      ((float *) std->data)[j] = sd > 1e-12 ? (float) sd : 1.0f;
    }
  for (gsize i = 0; i < n; i++)
    {
      if (valid != NULL && !valid[i])
        continue;
      for (gsize j = 0; j < d; j++)
        data[i * d + j] = (data[i * d + j] - ((float *) mean->data)[j]) / ((float *) std->data)[j];
    }
  *mean_out = mean;
  *std_out = std;
}

static SomArray *
project (const SomArray *x, const SomArray *basis, const SomArray *mean)
{
  gsize n = x->shape[0], d = x->shape[1], k = basis->shape[1];
  SomArray *out = som_array_new_2d_f32 (n, k);
  g_autoptr(SomArray) centred = NULL;
  const float *src = x->data;

  if (mean != NULL)
    {
      centred = som_array_copy (x);
      for (gsize i = 0; i < n; i++)
        for (gsize j = 0; j < d; j++)
          ((float *) centred->data)[i * d + j] -= ((float *) mean->data)[j];
      src = centred->data;
    }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint) n, (blasint) k, (blasint) d,
               1.0f, src, (blasint) d, basis->data, (blasint) k, 0.0f, out->data, (blasint) k);
  return out;
}

SomArray *
som_features_project_pca (const SomArray *x, const guint8 *valid, guint dim,
                          SomArray **basis_out, SomArray **mean_out, GError **error)
{
  gsize n = x->shape[0], d = x->shape[1], count = 0;
  const float *data = x->data;
  g_autofree double *mean = g_new0 (double, d);
  g_autofree double *cov = NULL;
  g_autofree double *w = NULL;
  g_autofree double *z = NULL;
  g_autofree lapack_int *isuppz = NULL;
  g_autoptr(SomArray) centred = NULL;
  g_autoptr(SomArray) covf = NULL;
  SomArray *basis, *meanf;
  lapack_int m = 0, info;

  if (dim == 0 || dim > d)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "pca:%u: the projection must keep between 1 and %zu dimensions",
                   dim, d);
      return NULL;
    }
  if (d > SOM_FEATURES_PCA_MAX_DIM)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "pca:%u: %zu features are too many for an exact PCA (at most %d); use random:%u",
                   dim, d, SOM_FEATURES_PCA_MAX_DIM, dim);
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    if (valid == NULL || valid[i])
      {
        count++;
        for (gsize j = 0; j < d; j++)
          mean[j] += data[i * d + j];
      }
  for (gsize j = 0; j < d; j++)
    mean[j] = count ? mean[j] / count : 0;
  centred = som_array_new_2d_f32 (n, d);
  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < d; j++)
      ((float *) centred->data)[i * d + j] = (valid == NULL || valid[i]) ? (float) (data[i * d + j] - mean[j]) : 0.0f;
  covf = som_array_new_2d_f32 (d, d);
  cblas_ssyrk (CblasRowMajor, CblasUpper, CblasTrans, (blasint) d, (blasint) n, 1.0f,
               centred->data, (blasint) d, 0.0f, covf->data, (blasint) d);
  cov = g_new (double, d * d);
  for (gsize i = 0; i < d * d; i++)
    cov[i] = ((float *) covf->data)[i];
  w = g_new (double, d);
  z = g_new (double, d * dim);
  isuppz = g_new (lapack_int, 2 * d);
  info = LAPACKE_dsyevr (LAPACK_ROW_MAJOR, 'V', 'I', 'U', (lapack_int) d, cov, (lapack_int) d, 0, 0,
                         (lapack_int) (d - dim + 1), (lapack_int) d, 0.0, &m, w, z, (lapack_int) dim, isuppz);
  if (info != 0 || m != (lapack_int) dim)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_FAILED, "pca:%u: LAPACK dsyevr failed (%d)", dim, (int) info);
      return NULL;
    }
  /* Columns in decreasing variance. */
  basis = som_array_new_2d_f32 (d, dim);
  for (gsize j = 0; j < d; j++)
    for (guint c = 0; c < dim; c++)
      ((float *) basis->data)[j * dim + c] = (float) z[j * dim + (dim - 1 - c)];
  meanf = new_1d_f32 (d);
  for (gsize j = 0; j < d; j++)
    ((float *) meanf->data)[j] = (float) mean[j];
  *basis_out = basis;
  *mean_out = meanf;
  return project (x, basis, meanf);
}

SomArray *
som_features_project_random (const SomArray *x, guint dim, guint64 seed, SomArray **basis_out, GError **error)
{
  gsize d = x->shape[1];
  guint32 s[2] = { (guint32) seed, (guint32) (seed >> 32) };
  g_autoptr(GRand) rand = g_rand_new_with_seed_array (s, 2);
  SomArray *basis;
  float scale = (float) (1.0 / sqrt (dim));

  if (dim == 0 || dim > 1 << 20)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "random:%u: the projection needs 1 to 1048576 dimensions", dim);
      return NULL;
    }
  basis = som_array_new_2d_f32 (d, dim);
  for (gsize i = 0; i < d * dim; i += 2)
    {
      /* Box–Muller: two Gaussians from two uniforms. */
      double u1 = g_rand_double (rand), u2 = g_rand_double (rand);
      double r = sqrt (-2.0 * log (1.0 - u1));
      ((float *) basis->data)[i] = (float) (r * cos (2 * G_PI * u2)) * scale;
      if (i + 1 < d * dim)
        ((float *) basis->data)[i + 1] = (float) (r * sin (2 * G_PI * u2)) * scale;
    }
  *basis_out = basis;
  return project (x, basis, NULL);
}
