/* somscope-map-view.h: a layer's map drawn by the core renderer, with hover, selection, zoom
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "somscope-layer.h"
#include "somscope-types.h"

G_BEGIN_DECLS

#define SOMSCOPE_TYPE_MAP_VIEW (somscope_map_view_get_type ())

G_DECLARE_FINAL_TYPE (SomscopeMapView, somscope_map_view, SOMSCOPE, MAP_VIEW, GtkWidget)

GtkWidget     *somscope_map_view_new               (void);
SomscopeLayer *somscope_map_view_get_layer         (SomscopeMapView *self);
void           somscope_map_view_set_layer         (SomscopeMapView *self,
                                                    SomscopeLayer   *layer);
SomscopeView   somscope_map_view_get_view          (SomscopeMapView *self);
void           somscope_map_view_set_view          (SomscopeMapView *self,
                                                    SomscopeView     view);
int            somscope_map_view_get_selected_unit (SomscopeMapView *self);
void           somscope_map_view_set_selected_unit (SomscopeMapView *self,
                                                    int              unit);
/* How many intermediate maps (one per training epoch) of its layer the view
 * was handed to draw. */
guint          somscope_map_view_get_n_live_updates (SomscopeMapView *self);
/* The unit under the pointer (outlined, with a tooltip), or -1. */
int            somscope_map_view_get_hover_unit    (SomscopeMapView *self);
/* Whether the map is drawn in the renderer's crisp mode (live redraws:
 * while its map trains, during a zoom or a pan). */
gboolean       somscope_map_view_get_crisp         (SomscopeMapView *self);
/* Whether the map drawn is the current one: its render (in a worker) has
 * come back since the last change.  Screenshots and tests wait for it. */
gboolean       somscope_map_view_get_rendered      (SomscopeMapView *self);
/* The rendered map (device pixels, without the marks) when current, or NULL. */
GdkTexture    *somscope_map_view_get_texture       (SomscopeMapView *self);
double         somscope_map_view_get_zoom          (SomscopeMapView *self);
void           somscope_map_view_set_zoom          (SomscopeMapView *self,
                                                    double           zoom);
/* The unit under a point in widget coordinates, or -1. */
int            somscope_map_view_unit_at           (SomscopeMapView *self,
                                                    double           x,
                                                    double           y);
/* The centre of @unit in widget coordinates; FALSE when there is no map. */
gboolean       somscope_map_view_get_unit_center   (SomscopeMapView *self,
                                                    guint            unit,
                                                    double          *x,
                                                    double          *y);
/* The tooltip text for @unit (unit, hits, majority class and purity, U-height). */
char          *somscope_map_view_dup_unit_text     (SomscopeMapView *self,
                                                    guint            unit);

G_END_DECLS
