/* fuzz-image.c: the decoding path of image-folder datasets: the input is one
 * image file in a class subfolder (named .png; the decoder sniffs the
 * content, so JPEG and anything else arrive here too).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fuzz-dataset.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  /* 8 MiB: images up to half a megapixel.  The decoders, not big images,
   * are under test (a 300-byte JPEG may declare 4 megapixels, legitimately
   * slow to decode under ASan). */
  g_setenv ("SOMSCOPE_MEMORY_BUDGET", "8388608", TRUE);
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_free (fuzz_write ("images/cat/0.png", data, size));
  g_autofree char *dir = g_build_filename (fuzz_dir, "images", NULL);

  fuzz_read_dataset (dir, NULL);
  return 0;
}
