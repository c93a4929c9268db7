/* som-features.h: from a layer's activations to the vectors a SOM trains on
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-array.h"
#include "som-train-params.h"

G_BEGIN_DECLS

typedef enum { SOM_CODES_MEAN, SOM_CODES_FLATTEN } SomCodes;

/* Largest input width for a PCA projection (its covariance is D² floats). */
#define SOM_FEATURES_PCA_MAX_DIM 4096

/* A new N×D float32 matrix: N×D input as is (float64 and integers
 * converted); N×C×H×W… reduced to channel means (SOM_CODES_MEAN) or
 * flattened.  @name names the input in errors. */
SomArray *som_features_codes          (const SomArray *input,
                                       SomCodes        codes,
                                       const char     *name,
                                       GError        **error);

/* Rows with a NaN or Inf: an error naming the first (SOM_NONFINITE_ERROR), or
 * a mask of the finite rows in @valid (N bytes, free with g_free; NULL when
 * all rows are finite). */
gboolean  som_features_check_finite   (const SomArray *x,
                                       SomNonfinite    mode,
                                       const char     *name,
                                       guint8        **valid,
                                       gsize          *n_valid,
                                       GError        **error);

/* z-scores every column in place over the valid rows (@valid may be NULL);
 * a constant column gets std 1.  Returns the means and stds (D float32). */
void      som_features_standardize    (SomArray       *x,
                                       const guint8   *valid,
                                       SomArray      **mean,
                                       SomArray      **std);

/* Projections to @dim columns: the leading principal components (the
 * projection matrix D×dim in @basis, the mean in @mean) or a seeded Gaussian
 * random matrix scaled by 1/√dim (@basis only). */
SomArray *som_features_project_pca    (const SomArray *x,
                                       const guint8   *valid,
                                       guint           dim,
                                       SomArray      **basis,
                                       SomArray      **mean,
                                       GError        **error);
SomArray *som_features_project_random (const SomArray *x,
                                       guint           dim,
                                       guint64         seed,
                                       SomArray      **basis,
                                       GError        **error);

G_END_DECLS
