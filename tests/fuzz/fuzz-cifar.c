/* fuzz-cifar.c: CIFAR-10 binary batches (and a batches.meta.txt beside them,
 * after the separator "\nMETA\n").
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
  static const char sep[] = "\nMETA\n";
  const guint8 *cut = memmem (data, size, sep, sizeof sep - 1);
  gsize batch_len = cut != NULL ? (gsize) (cut - data) : size;
  g_autofree char *batch = fuzz_write ("cifar/test_batch.bin", data, batch_len);
  g_autofree char *meta = g_build_filename (fuzz_dir, "cifar", "batches.meta.txt", NULL);
  g_autofree char *dir = g_build_filename (fuzz_dir, "cifar", NULL);

  if (cut != NULL)
    g_free (fuzz_write ("cifar/batches.meta.txt", cut + sizeof sep - 1,
                                       size - batch_len - (sizeof sep - 1)));
  else
    g_unlink (meta);
  fuzz_read_dataset (batch, NULL);
  fuzz_read_dataset (dir, NULL);
  return 0;
}
