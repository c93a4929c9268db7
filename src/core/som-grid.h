/* som-grid.h: the lattice of a self-organizing map
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Valid grids (contracts.md section 3): R·C ≥ 2, R and C ≤ SOM_GRID_MAX_SIDE;
 * toroidal maps need R, C ≥ 3, hexagonal toroids an even R. */
#define SOM_GRID_MAX_SIDE 1000

typedef enum
{
  SOM_TOPOLOGY_HEX,
  SOM_TOPOLOGY_RECT,
} SomTopology;

#define SOM_TYPE_GRID (som_grid_get_type ())

/* An immutable, reference-counted grid.  Unit (r, c) has index k = r·C + c and
 * sits at x = c + 0.5·(r mod 2) (hex, "odd-r" as SOM_PAK) or x = c (rect),
 * y = r·√3/2 (hex) or y = r (rect); row 0 is drawn at the top.  The grid
 * distance is the Euclidean distance between positions; on a torus the
 * shortest one with wrap periods C and R·√3/2 (hex) or C and R (rect).
 * Neighbours are the units at grid distance 1 (4 in rect, 6 in hex; fewer on
 * the border of a planar map). */
typedef struct _SomGrid SomGrid;

GType        som_grid_get_type          (void) G_GNUC_CONST;

SomGrid     *som_grid_new               (guint        rows,
                                         guint        cols,
                                         SomTopology  topology,
                                         gboolean     toroidal,
                                         GError     **error);
SomGrid     *som_grid_ref               (SomGrid     *grid);
void         som_grid_unref             (SomGrid     *grid);

guint        som_grid_get_rows          (const SomGrid *grid);
guint        som_grid_get_cols          (const SomGrid *grid);
guint        som_grid_get_n_units       (const SomGrid *grid);
SomTopology  som_grid_get_topology      (const SomGrid *grid);
gboolean     som_grid_get_toroidal      (const SomGrid *grid);
gboolean     som_grid_equal             (const SomGrid *a,
                                         const SomGrid *b);

/* The extent of the positions: x in [0, width], y in [0, height] (the last
 * unit's centre; add the cell size when drawing). */
double       som_grid_get_width         (const SomGrid *grid);
double       som_grid_get_height        (const SomGrid *grid);

void         som_grid_get_position      (const SomGrid *grid,
                                         guint          unit,
                                         double        *x,
                                         double        *y);
guint        som_grid_unit_index        (const SomGrid *grid,
                                         guint          row,
                                         guint          col);
double       som_grid_distance          (const SomGrid *grid,
                                         guint          a,
                                         guint          b);
double       som_grid_distance_squared  (const SomGrid *grid,
                                         guint          a,
                                         guint          b);

/* The neighbours of @unit in increasing index order; @n_neighbours receives
 * their count.  The array is owned by the grid. */
const guint *som_grid_get_neighbours    (const SomGrid *grid,
                                         guint          unit,
                                         guint         *n_neighbours);
gboolean     som_grid_are_neighbours    (const SomGrid *grid,
                                         guint          a,
                                         guint          b);

const char  *som_topology_to_string     (SomTopology  topology);
gboolean     som_topology_from_string   (const char  *text,
                                         SomTopology *topology);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomGrid, som_grid_unref)

G_END_DECLS
