/* fuzz-npy.c: the .npy parser (header and data), then a round trip of what
 * it accepted.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fuzz-common.h"

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
  g_autoptr(SomArray) a = som_npy_parse (data, size, "fuzz.npy", &error);
  g_autoptr(GBytes) again = NULL;
  g_autoptr(SomArray) b = NULL;
  gsize len;
  const guint8 *p;

  fuzz_check_error (a != NULL, error);
  if (a == NULL)
    return 0;
  /* What was accepted must fit in the input, and serialize back to itself. */
  g_assert (som_array_n_bytes (a) <= size);
  again = som_npy_serialize (a);
  p = g_bytes_get_data (again, &len);
  b = som_npy_parse (p, len, "again.npy", &error);
  g_assert_no_error (error);
  g_assert (b->dtype == a->dtype && b->ndim == a->ndim);
  g_assert (memcmp (a->shape, b->shape, sizeof a->shape[0] * a->ndim) == 0);
  g_assert (memcmp (a->data, b->data, som_array_n_bytes (a)) == 0);
  return 0;
}
