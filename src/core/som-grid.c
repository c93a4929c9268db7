/* som-grid.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som-grid.h"
#include "som-types.h"

#define HEX_ROW_HEIGHT 0.86602540378443864676 /* √3/2 */
#define NEIGHBOUR_EPSILON 1e-9

struct _SomGrid
{
  gatomicrefcount ref_count;
  guint           rows;
  guint           cols;
  SomTopology     topology;
  gboolean        toroidal;
  /* Neighbours in CSR form: unit k's are neighbours[offsets[k] .. offsets[k+1]). */
  guint          *offsets;
  guint          *neighbours;
};

G_DEFINE_BOXED_TYPE (SomGrid, som_grid, som_grid_ref, som_grid_unref)

static inline void
unit_position (const SomGrid *grid, guint unit, double *x, double *y)
{
  guint r = unit / grid->cols, c = unit % grid->cols;

  if (grid->topology == SOM_TOPOLOGY_HEX)
    {
      *x = c + 0.5 * (r % 2);
      *y = r * HEX_ROW_HEIGHT;
    }
  else
    {
      *x = c;
      *y = r;
    }
}

/* Doubled lattice coordinates: X = 2c (+1 on odd hex rows), Y = r.  The
 * squared grid distance is (dX² + ky·dY²)/4 with ky = 3 (hex) or 4 (rect),
 * exact in double: hex distances are not rounded through √3/2. */
static inline double
distance_squared (const SomGrid *grid, guint a, guint b)
{
  guint ra = a / grid->cols, ca = a % grid->cols, rb = b / grid->cols, cb = b % grid->cols;
  gboolean hex = grid->topology == SOM_TOPOLOGY_HEX;
  gint64 xa = 2 * (gint64) ca + (hex ? ra % 2 : 0), xb = 2 * (gint64) cb + (hex ? rb % 2 : 0);
  gint64 dx = ABS (xa - xb), dy = ABS ((gint64) ra - (gint64) rb);

  if (grid->toroidal)
    {
      dx = MIN (dx, 2 * (gint64) grid->cols - dx);
      dy = MIN (dy, (gint64) grid->rows - dy);
    }
  return (double) (dx * dx + (hex ? 3 : 4) * dy * dy) / 4;
}

static int
compare_guint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;

  return x < y ? -1 : x > y;
}

static void
build_neighbours (SomGrid *grid)
{
  guint n = grid->rows * grid->cols;
  GArray *list = g_array_sized_new (FALSE, FALSE, sizeof (guint), 6 * (gsize) n);

  grid->offsets = g_new (guint, n + 1);
  for (guint k = 0; k < n; k++)
    {
      guint r = k / grid->cols, c = k % grid->cols;
      guint found[9];
      guint n_found = 0;

      grid->offsets[k] = list->len;
      /* Neighbours at grid distance 1 lie in the adjacent rows and columns
       * (hex offsets are ±0.5), so nine candidates suffice. */
      for (int dr = -1; dr <= 1; dr++)
        for (int dc = -1; dc <= 1; dc++)
          {
            gint64 rr = (gint64) r + dr, cc = (gint64) c + dc;
            guint other;
            gboolean dup = FALSE;

            if (grid->toroidal)
              {
                rr = (rr + grid->rows) % grid->rows;
                cc = (cc + grid->cols) % grid->cols;
              }
            else if (rr < 0 || cc < 0 || rr >= grid->rows || cc >= grid->cols)
              continue;
            other = (guint) rr * grid->cols + (guint) cc;
            if (other == k)
              continue;
            if (distance_squared (grid, k, other) > 1.0 + NEIGHBOUR_EPSILON)
              continue;
            for (guint i = 0; i < n_found; i++)
              dup |= found[i] == other;
            if (!dup)
              found[n_found++] = other;
          }
      qsort (found, n_found, sizeof (guint), compare_guint);
      g_array_append_vals (list, found, n_found);
    }
  grid->offsets[n] = list->len;
  grid->neighbours = (guint *) g_array_free (list, FALSE);
}

/**
 * som_grid_new:
 *
 * Returns: (transfer full): a new grid, or %NULL with @error set
 * (%SOM_ERROR_INVALID) when the size or the topology is not valid.
 */
SomGrid *
som_grid_new (guint        rows,
              guint        cols,
              SomTopology  topology,
              gboolean     toroidal,
              GError     **error)
{
  SomGrid *grid;

  if (topology != SOM_TOPOLOGY_HEX && topology != SOM_TOPOLOGY_RECT)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "SOM grid: unknown topology %d", topology);
      return NULL;
    }
  if (rows == 0 || cols == 0 || (guint64) rows * cols < 2)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "SOM grid %u×%u: a map needs at least 2 units (R·C ≥ 2)", rows, cols);
      return NULL;
    }
  if (rows > SOM_GRID_MAX_SIDE || cols > SOM_GRID_MAX_SIDE)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "SOM grid %u×%u: rows and columns must be at most %u",
                   rows, cols, SOM_GRID_MAX_SIDE);
      return NULL;
    }
  if (toroidal && (rows < 3 || cols < 3))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "SOM grid %u×%u: a toroidal map needs at least 3 rows and 3 columns",
                   rows, cols);
      return NULL;
    }
  if (toroidal && topology == SOM_TOPOLOGY_HEX && rows % 2 != 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "SOM grid %u×%u: a hexagonal toroid needs an even number of rows "
                   "(odd rows are offset, so the wrap would not line up)", rows, cols);
      return NULL;
    }

  grid = g_new0 (SomGrid, 1);
  g_atomic_ref_count_init (&grid->ref_count);
  grid->rows = rows;
  grid->cols = cols;
  grid->topology = topology;
  grid->toroidal = toroidal;
  build_neighbours (grid);
  return grid;
}

SomGrid *
som_grid_ref (SomGrid *grid)
{
  g_return_val_if_fail (grid != NULL, NULL);
  g_atomic_ref_count_inc (&grid->ref_count);
  return grid;
}

void
som_grid_unref (SomGrid *grid)
{
  g_return_if_fail (grid != NULL);
  if (g_atomic_ref_count_dec (&grid->ref_count))
    {
      g_free (grid->offsets);
      g_free (grid->neighbours);
      g_free (grid);
    }
}

guint
som_grid_get_rows (const SomGrid *grid)
{
  return grid->rows;
}

guint
som_grid_get_cols (const SomGrid *grid)
{
  return grid->cols;
}

guint
som_grid_get_n_units (const SomGrid *grid)
{
  return grid->rows * grid->cols;
}

SomTopology
som_grid_get_topology (const SomGrid *grid)
{
  return grid->topology;
}

gboolean
som_grid_get_toroidal (const SomGrid *grid)
{
  return grid->toroidal;
}

gboolean
som_grid_equal (const SomGrid *a, const SomGrid *b)
{
  return a->rows == b->rows && a->cols == b->cols && a->topology == b->topology
         && !a->toroidal == !b->toroidal;
}

double
som_grid_get_width (const SomGrid *grid)
{
  if (grid->topology == SOM_TOPOLOGY_HEX && grid->rows > 1)
    return grid->cols - 0.5;
  return grid->cols - 1;
}

double
som_grid_get_height (const SomGrid *grid)
{
  return (grid->rows - 1) * (grid->topology == SOM_TOPOLOGY_HEX ? HEX_ROW_HEIGHT : 1.0);
}

void
som_grid_get_position (const SomGrid *grid, guint unit, double *x, double *y)
{
  double px, py;

  g_return_if_fail (unit < grid->rows * grid->cols);
  unit_position (grid, unit, &px, &py);
  if (x != NULL)
    *x = px;
  if (y != NULL)
    *y = py;
}

guint
som_grid_unit_index (const SomGrid *grid, guint row, guint col)
{
  g_return_val_if_fail (row < grid->rows && col < grid->cols, 0);
  return row * grid->cols + col;
}

double
som_grid_distance_squared (const SomGrid *grid, guint a, guint b)
{
  g_return_val_if_fail (a < grid->rows * grid->cols && b < grid->rows * grid->cols, 0);
  return distance_squared (grid, a, b);
}

double
som_grid_distance (const SomGrid *grid, guint a, guint b)
{
  return sqrt (som_grid_distance_squared (grid, a, b));
}

const guint *
som_grid_get_neighbours (const SomGrid *grid, guint unit, guint *n_neighbours)
{
  g_return_val_if_fail (unit < grid->rows * grid->cols, NULL);
  if (n_neighbours != NULL)
    *n_neighbours = grid->offsets[unit + 1] - grid->offsets[unit];
  return grid->neighbours + grid->offsets[unit];
}

gboolean
som_grid_are_neighbours (const SomGrid *grid, guint a, guint b)
{
  guint n;
  const guint *nb;

  if (a >= grid->rows * grid->cols || b >= grid->rows * grid->cols)
    return FALSE;
  nb = som_grid_get_neighbours (grid, a, &n);
  for (guint i = 0; i < n; i++)
    if (nb[i] == b)
      return TRUE;
  return FALSE;
}

const char *
som_topology_to_string (SomTopology topology)
{
  return topology == SOM_TOPOLOGY_RECT ? "rect" : "hex";
}

gboolean
som_topology_from_string (const char *text, SomTopology *topology)
{
  if (g_strcmp0 (text, "hex") == 0 || g_strcmp0 (text, "hexa") == 0)
    *topology = SOM_TOPOLOGY_HEX;
  else if (g_strcmp0 (text, "rect") == 0)
    *topology = SOM_TOPOLOGY_RECT;
  else
    return FALSE;
  return TRUE;
}
