/* test-som-grid.c: positions, distances and neighbours on tiny maps, by hand
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>

#include "som.h"

#define H 0.86602540378443864676 /* √3/2 */

static void
assert_neighbours (SomGrid *grid, guint unit, const guint *expected, guint n_expected)
{
  guint n;
  const guint *got = som_grid_get_neighbours (grid, unit, &n);

  g_assert_cmpuint (n, ==, n_expected);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (got[i], ==, expected[i]);
}

static void
test_hex_positions (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomGrid) grid = som_grid_new (3, 3, SOM_TOPOLOGY_HEX, FALSE, &error);
  double x, y;

  g_assert_no_error (error);
  g_assert_cmpuint (som_grid_get_n_units (grid), ==, 9);
  g_assert_cmpuint (som_grid_unit_index (grid, 2, 1), ==, 7);
  /* Odd rows are shifted right by half a unit; rows are √3/2 apart, row 0 on top. */
  som_grid_get_position (grid, 4, &x, &y);
  g_assert_cmpfloat_with_epsilon (x, 1.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (y, H, 1e-12);
  som_grid_get_position (grid, 7, &x, &y);
  g_assert_cmpfloat_with_epsilon (x, 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (y, 2 * H, 1e-12);
  g_assert_cmpfloat_with_epsilon (som_grid_get_width (grid), 2.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (som_grid_get_height (grid), 2 * H, 1e-12);

  /* (0,0)–(2,2): dx = 2, dy = √3 → √7 */
  g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, 0, 8), sqrt (7), 1e-12);
  /* (0,0)–(1,0): (0.5, √3/2) → 1 */
  g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, 0, 3), 1.0, 1e-12);
  /* (1,0)–(0,1): dx = 0.5 → 1: a neighbour; (0,0)–(1,1): dx = 1.5 → √3 */
  g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, 3, 1), 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, 0, 4), sqrt (3), 1e-12);

  assert_neighbours (grid, 0, (guint[]) { 1, 3 }, 2);
  assert_neighbours (grid, 4, (guint[]) { 1, 2, 3, 5, 7, 8 }, 6);
  assert_neighbours (grid, 7, (guint[]) { 3, 4, 6, 8 }, 4);
  assert_neighbours (grid, 3, (guint[]) { 0, 1, 4, 6, 7 }, 5);
  g_assert_true (som_grid_are_neighbours (grid, 4, 8));
  g_assert_false (som_grid_are_neighbours (grid, 0, 4));
  g_assert_false (som_grid_are_neighbours (grid, 0, 0));
}

static void
test_rect (void)
{
  g_autoptr(SomGrid) grid = som_grid_new (2, 3, SOM_TOPOLOGY_RECT, FALSE, NULL);
  double x, y;

  som_grid_get_position (grid, 5, &x, &y);
  g_assert_cmpfloat (x, ==, 2);
  g_assert_cmpfloat (y, ==, 1);
  g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, 0, 5), sqrt (5), 1e-12);
  assert_neighbours (grid, 0, (guint[]) { 1, 3 }, 2);
  assert_neighbours (grid, 4, (guint[]) { 1, 3, 5 }, 3);
  /* Diagonals are not neighbours in a rectangular grid. */
  g_assert_false (som_grid_are_neighbours (grid, 0, 4));
}

static void
test_chain (void)
{
  g_autoptr(SomGrid) grid = som_grid_new (1, 5, SOM_TOPOLOGY_HEX, FALSE, NULL);

  g_assert_nonnull (grid);
  g_assert_cmpfloat (som_grid_get_height (grid), ==, 0);
  g_assert_cmpfloat (som_grid_get_width (grid), ==, 4);
  assert_neighbours (grid, 2, (guint[]) { 1, 3 }, 2);
  assert_neighbours (grid, 4, (guint[]) { 3 }, 1);
}

static void
test_toroidal_hex (void)
{
  g_autoptr(SomGrid) grid = som_grid_new (4, 4, SOM_TOPOLOGY_HEX, TRUE, NULL);
  const double py = 4 * H;

  /* (0,0)–(2,2): dx = 2 (either way), dy = √3 (either way) → √7 */
  g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, 0, 10), sqrt (7), 1e-12);
  /* (0,0)–(0,3) wraps: 1 */
  g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, 0, 3), 1.0, 1e-12);
  /* (0,0)–(3,3) at (3.5, 3·√3/2): dx 0.5, dy √3/2 → 1 */
  g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, 0, 15), 1.0, 1e-12);
  /* (0,0)–(2,0) at (0, √3): dy = min(√3, 4·√3/2 − √3) */
  g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, 0, 8), MIN (2 * H, py - 2 * H), 1e-12);

  assert_neighbours (grid, 0, (guint[]) { 1, 3, 4, 7, 12, 15 }, 6);
  /* Every unit of a torus has six neighbours, and the relation is symmetric. */
  for (guint k = 0; k < 16; k++)
    {
      guint n;
      const guint *nb = som_grid_get_neighbours (grid, k, &n);

      g_assert_cmpuint (n, ==, 6);
      for (guint i = 0; i < n; i++)
        {
          g_assert_true (som_grid_are_neighbours (grid, nb[i], k));
          g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, k, nb[i]), 1.0, 1e-12);
        }
    }
}

static void
test_toroidal_rect (void)
{
  g_autoptr(SomGrid) grid = som_grid_new (3, 3, SOM_TOPOLOGY_RECT, TRUE, NULL);

  g_assert_cmpfloat_with_epsilon (som_grid_distance (grid, 0, 8), sqrt (2), 1e-12);
  assert_neighbours (grid, 0, (guint[]) { 1, 2, 3, 6 }, 4);
  assert_neighbours (grid, 4, (guint[]) { 1, 3, 5, 7 }, 4);
  for (guint k = 0; k < 9; k++)
    {
      guint n;

      som_grid_get_neighbours (grid, k, &n);
      g_assert_cmpuint (n, ==, 4);
    }
}

static void
test_large (void)
{
  g_autoptr(SomGrid) grid = som_grid_new (200, 200, SOM_TOPOLOGY_HEX, TRUE, NULL);
  guint n;

  g_assert_nonnull (grid);
  som_grid_get_neighbours (grid, 39999, &n);
  g_assert_cmpuint (n, ==, 6);
  g_assert_true (som_grid_are_neighbours (grid, 0, 39999));
}

static void
test_invalid (void)
{
  struct { guint r, c; SomTopology t; gboolean torus; const char *needle; } cases[] = {
    { 1, 1, SOM_TOPOLOGY_HEX, FALSE, "at least 2 units" },
    { 0, 5, SOM_TOPOLOGY_RECT, FALSE, "at least 2 units" },
    { 1001, 2, SOM_TOPOLOGY_HEX, FALSE, "at most 1000" },
    { 2, 4000000, SOM_TOPOLOGY_RECT, FALSE, "at most 1000" },
    { 2, 5, SOM_TOPOLOGY_RECT, TRUE, "at least 3 rows" },
    { 5, 5, SOM_TOPOLOGY_HEX, TRUE, "even number of rows" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      SomGrid *grid = som_grid_new (cases[i].r, cases[i].c, cases[i].t, cases[i].torus, &error);

      g_assert_null (grid);
      g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, cases[i].needle));
    }
  /* A 5×5 rectangular toroid is fine; a 4×5 hex toroid too. */
  som_grid_unref (som_grid_new (5, 5, SOM_TOPOLOGY_RECT, TRUE, NULL));
  som_grid_unref (som_grid_new (4, 5, SOM_TOPOLOGY_HEX, TRUE, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/som-grid/hex-positions", test_hex_positions);
  g_test_add_func ("/som-grid/rect", test_rect);
  g_test_add_func ("/som-grid/chain", test_chain);
  g_test_add_func ("/som-grid/toroidal-hex", test_toroidal_hex);
  g_test_add_func ("/som-grid/toroidal-rect", test_toroidal_rect);
  g_test_add_func ("/som-grid/large", test_large);
  g_test_add_func ("/som-grid/invalid", test_invalid);
  return g_test_run ();
}
