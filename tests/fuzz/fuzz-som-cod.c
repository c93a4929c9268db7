/* fuzz-som-cod.c: SOM_PAK codebook files (.cod), then the map in use.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fuzz-map.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) map = som_map_parse_cod ((const char *) data, size, "fuzz.cod", &error);

  fuzz_check_error (map != NULL, error);
  if (map != NULL)
    fuzz_use_map (map);
  return 0;
}
