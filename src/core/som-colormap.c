/* som-colormap.c: perceptually uniform colour maps and a categorical palette
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som-colormap.h"
#include "som-colormap-tables.h"

static const struct
{
  const char  *name;
  const float (*table)[3];
} colormaps[] = {
  [SOM_COLORMAP_VIRIDIS]   = { "viridis",   som_colormap_viridis },
  [SOM_COLORMAP_MAGMA]     = { "magma",     som_colormap_magma },
  [SOM_COLORMAP_CIVIDIS]   = { "cividis",   som_colormap_cividis },
  [SOM_COLORMAP_DIVERGING] = { "diverging", som_colormap_diverging },
};

/* Tol, "Colour Schemes" (SRON/EPS/TN/09-002), muted; Okabe & Ito (2008). */
static const guint32 palette[SOM_PALETTE_N_COLORS] = {
  0xCC6677, /* rose */
  0x332288, /* indigo */
  0xDDCC77, /* sand */
  0x117733, /* green */
  0x88CCEE, /* cyan */
  0x882255, /* wine */
  0x44AA99, /* teal */
  0x999933, /* olive */
  0xAA4499, /* purple */
  0xE69F00, /* Okabe-Ito orange */
  0x0072B2, /* Okabe-Ito blue */
  0xF0E442, /* Okabe-Ito yellow */
  0x7F7F7F, /* grey: last, as it is closest to empty cells */
};

gboolean
som_colormap_from_name (const char  *name,
                        SomColormap *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (colormaps); i++)
    if (strcmp (name, colormaps[i].name) == 0)
      {
        *out = (SomColormap) i;
        return TRUE;
      }
  return FALSE;
}

const char *
som_colormap_get_name (SomColormap map)
{
  g_return_val_if_fail ((guint) map < G_N_ELEMENTS (colormaps), NULL);
  return colormaps[map].name;
}

guint
som_colormap_index (double t)
{
  if (isnan (t))
    return SOM_COLORMAP_N_ENTRIES / 2;
  if (t <= 0)
    return 0;
  if (t >= 1)
    return SOM_COLORMAP_N_ENTRIES - 1;
  /* matplotlib: int(t * N), with t == 1 mapped to the last entry. */
  return MIN ((guint) (t * SOM_COLORMAP_N_ENTRIES), SOM_COLORMAP_N_ENTRIES - 1);
}

void
som_colormap_entry (SomColormap map,
                    guint       index,
                    double      rgb[3])
{
  g_return_if_fail ((guint) map < G_N_ELEMENTS (colormaps));
  index = MIN (index, SOM_COLORMAP_N_ENTRIES - 1);
  for (int k = 0; k < 3; k++)
    rgb[k] = colormaps[map].table[index][k];
}

void
som_colormap_rgb (SomColormap map,
                  double      t,
                  double      rgb[3])
{
  if (isnan (t))
    {
      rgb[0] = rgb[1] = rgb[2] = 0.5;
      return;
    }
  som_colormap_entry (map, som_colormap_index (t), rgb);
}

void
som_palette_rgb (guint  index,
                 double rgb[3])
{
  guint32 c = palette[index % SOM_PALETTE_N_COLORS];

  rgb[0] = ((c >> 16) & 0xff) / 255.0;
  rgb[1] = ((c >> 8) & 0xff) / 255.0;
  rgb[2] = (c & 0xff) / 255.0;
}
