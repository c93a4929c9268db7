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
