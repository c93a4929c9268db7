/* somscope-trajectory-view.h: the selected input on every layer's map, clean and adversarial, with the distance chart
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "somscope-layer.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_TRAJECTORY_VIEW (somscope_trajectory_view_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeTrajectoryView, somscope_trajectory_view, SOMSCOPE, TRAJECTORY_VIEW, GtkWidget)

GtkWidget  *somscope_trajectory_view_new                  (void);
GListModel *somscope_trajectory_view_get_layers           (SomscopeTrajectoryView *self);
void        somscope_trajectory_view_set_layers           (SomscopeTrajectoryView *self,
                                                           GListModel             *layers);
/* What the view draws, for tests: the layers with a map, in order, with the
 * selected input's clean and adversarial BMU on each (−1 when unknown) and
 * their grid distance (NaN when either is unknown). */
guint       somscope_trajectory_view_get_n_layers         (SomscopeTrajectoryView *self);
SomscopeLayer *somscope_trajectory_view_get_layer         (SomscopeTrajectoryView *self,
                                                           guint                   i);
int         somscope_trajectory_view_get_clean_bmu        (SomscopeTrajectoryView *self,
                                                           guint                   i);
int         somscope_trajectory_view_get_adversarial_bmu  (SomscopeTrajectoryView *self,
                                                           guint                   i);
double      somscope_trajectory_view_get_distance         (SomscopeTrajectoryView *self,
                                                           guint                   i);
/* The first layer where the two BMUs are neither the same nor neighbouring
 * units, or −1 (contracts.md, the CLI's trajectory figure). */
int         somscope_trajectory_view_get_divergence_layer (SomscopeTrajectoryView *self);
/* Whether the chart is drawn: every layer has both BMUs. */
gboolean    somscope_trajectory_view_has_chart            (SomscopeTrajectoryView *self);
/* The layer whose map is drawn at (@x, @y), or NULL: a click there emits
 * ::layer-activated with it. */
SomscopeLayer *somscope_trajectory_view_layer_at          (SomscopeTrajectoryView *self,
                                                           double                  x,
                                                           double                  y);
/* The drawing rendered in the worker (device pixels) when it is current, or NULL. */
GdkTexture *somscope_trajectory_view_get_texture          (SomscopeTrajectoryView *self);

G_END_DECLS
