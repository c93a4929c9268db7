/* som-metrics.h: homogeneity, label-association and trajectory metrics of
 * inputs mapped onto a SOM (docs/metrics.md has every definition)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "som-grid.h"

G_BEGIN_DECLS

/* Every function skips inputs whose BMU is < 0 (non-finite codes).  Logs are
 * natural (nats).  An undefined value (no inputs, no pairs, a constant series)
 * is NaN here; writers turn it into JSON null. */

/* Distinct BMUs. */
guint    som_metrics_occupied_units        (const gint32 *bmus,
                                            gsize         n,
                                            guint         n_units);
/* @out: K counts of distinct BMUs per class (labels outside [0, K) skipped). */
void     som_metrics_occupied_per_class    (const gint32 *bmus,
                                            const gint32 *labels,
                                            gsize         n,
                                            guint         n_units,
                                            guint         n_classes,
                                            guint        *out);
/* H = −Σ p_k ln p_k over units (p_k = share of the hits). */
double   som_metrics_hit_entropy           (const gint32 *bmus,
                                            gsize         n,
                                            guint         n_units);
/* Mean over classes (with at least one input) of the mean grid distance of the
 * class's BMU positions to their mean position (planar positions). */
double   som_metrics_class_spread          (SomGrid      *grid,
                                            const gint32 *bmus,
                                            const gint32 *labels,
                                            gsize         n,
                                            guint         n_classes);
/* I(BMU; label), the plug-in estimate from the joint counts. */
double   som_metrics_mutual_information    (const gint32 *bmus,
                                            const gint32 *labels,
                                            gsize         n,
                                            guint         n_units,
                                            guint         n_classes);
/* Σ_u max_c n(u, c) / Σ_u n(u): hit-weighted majority share. */
double   som_metrics_unit_purity           (const gint32 *bmus,
                                            const gint32 *labels,
                                            gsize         n,
                                            guint         n_units,
                                            guint         n_classes);
/* Labels every unit by its majority class among (@bmus, @labels) (ties: the
 * smaller class); units without hits take the label of the nearest labelled
 * unit (grid distance; ties: the smaller unit index).  @out: n_units entries;
 * all −1 when no input is labelled. */
void     som_metrics_unit_labels           (SomGrid      *grid,
                                            const gint32 *bmus,
                                            const gint32 *labels,
                                            gsize         n,
                                            guint         n_classes,
                                            gint32       *out);
/* Fraction of inputs whose BMU's unit label equals their label. */
double   som_metrics_labelling_accuracy    (const gint32 *unit_labels,
                                            const gint32 *bmus,
                                            const gint32 *labels,
                                            gsize         n);
/* Mean and median of 1 − cos over all pairs of units (pairs with a zero
 * vector skipped). */
void     som_metrics_codebook_cosine       (const float  *codebook,
                                            guint         n_units,
                                            guint         dim,
                                            double       *mean,
                                            double       *median);
/* Eigenvalues of the codes' covariance: the number of leading components
 * that explain 90 % and 95 % of the variance and the participation ratio
 * (Σλ)²/Σλ².  Wide codes (D > 2048) use the Gram matrix of at most 2048
 * evenly spaced rows (the same non-zero spectrum up to scale). */
gboolean som_metrics_pca                   (const float  *codes,
                                            gsize         n,
                                            guint         dim,
                                            double       *components_90,
                                            double       *components_95,
                                            double       *participation_ratio);

/* Trajectories between the clean and adversarial BMUs of the same inputs. */
double   som_metrics_bmu_agreement         (const gint32 *clean,
                                            const gint32 *adversarial,
                                            gsize         n);
double   som_metrics_mean_grid_distance    (SomGrid      *grid,
                                            const gint32 *clean,
                                            const gint32 *adversarial,
                                            gsize         n);
/* Fraction whose adversarial BMU's unit label is the adversarial prediction. */
double   som_metrics_adversarial_in_class_unit (const gint32 *unit_labels,
                                            const gint32 *adversarial_bmus,
                                            const gint32 *adversarial_predictions,
                                            gsize         n);
/* Same or neighbouring units (grid distance ≤ 1). */
gboolean som_metrics_bmus_close            (SomGrid      *grid,
                                            gint32        a,
                                            gint32        b);

/* Spearman's rank correlation (ties get their mean rank); NaN when either
 * series is constant or n < 2.  Pairs with a NaN are dropped. */
double   som_metrics_spearman              (const double *x,
                                            const double *y,
                                            gsize         n);

G_END_DECLS
