/* fuzz-idx.c: IDX image files (raw or gzip) and their labels file.  The input
 * is the images file, then optionally the labels file after the separator
 * "\nLABELS\n" (so the fuzzer mutates both and their agreement).
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
  static const char sep[] = "\nLABELS\n";
  const guint8 *cut = memmem (data, size, sep, sizeof sep - 1);
  gsize images_len = cut != NULL ? (gsize) (cut - data) : size;
  g_autofree char *images = fuzz_write ("idx/t10k-images-idx3-ubyte", data, images_len);
  g_autofree char *labels = g_build_filename (fuzz_dir, "idx", "t10k-labels-idx1-ubyte", NULL);

  if (cut != NULL)
    g_free (fuzz_write ("idx/t10k-labels-idx1-ubyte", cut + sizeof sep - 1,
                                       size - images_len - (sizeof sep - 1)));
  else
    g_unlink (labels);
  fuzz_read_dataset (images, NULL);
  return 0;
}
