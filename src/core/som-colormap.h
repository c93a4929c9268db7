/* som-colormap.h: perceptually uniform colour maps and a categorical palette
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The sequential maps are matplotlib's published 256-entry tables; the
 * diverging map is ColorBrewer's RdBu (blue low, white middle, red high),
 * generated into som-colormap-tables.h by tools/gen-colormaps. */
typedef enum
{
  SOM_COLORMAP_VIRIDIS,
  SOM_COLORMAP_MAGMA,
  SOM_COLORMAP_CIVIDIS,
  SOM_COLORMAP_DIVERGING,
} SomColormap;

#define SOM_COLORMAP_N_ENTRIES 256

/* Name <-> enum ("viridis", "magma", "cividis", "diverging").  Returns FALSE
 * for an unknown name. */
gboolean     som_colormap_from_name     (const char  *name,
                                         SomColormap *out);
const char  *som_colormap_get_name      (SomColormap  map);

/* Colour of @t in [0,1] (clamped; NaN gives mid grey) as r, g, b in [0,1]:
 * the nearest of the 256 entries, as matplotlib does. */
void         som_colormap_rgb           (SomColormap  map,
                                         double       t,
                                         double       rgb[3]);
/* Index in 0…255 of @t, the entry som_colormap_rgb() uses. */
guint        som_colormap_index         (double       t);
/* Entry @index of the table (0…255). */
void         som_colormap_entry         (SomColormap  map,
                                         guint        index,
                                         double       rgb[3]);

/* A colour-blind-safe categorical palette for classes: Paul Tol's "muted"
 * scheme (9 colours), then Okabe & Ito's orange, blue and yellow, then grey;
 * classes beyond SOM_PALETTE_N_COLORS cycle. */
#define SOM_PALETTE_N_COLORS 13

void         som_palette_rgb            (guint        index,
                                         double       rgb[3]);

G_END_DECLS
