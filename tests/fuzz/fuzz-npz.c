/* fuzz-npz.c: .npz archives (zip of .npy members): every member is listed,
 * its header read and the member read in full; then the same file is opened
 * as bring-your-own activations (som-activations.h) and as an ADV.npz
 * dataset (som-dataset.h).
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

static void
read_members (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomNpzReader) r = som_npz_reader_open (path, &error);
  g_auto(GStrv) arrays = NULL;
  const char * const *members;

  fuzz_check_error (r != NULL, error);
  if (r == NULL)
    return;
  members = som_npz_reader_list_members (r);
  for (guint i = 0; members[i] != NULL; i++)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(GBytes) bytes = NULL;
      guint64 sz, csz;

      if (!som_npz_reader_stat_member (r, members[i], &sz, &csz, &local))
        {
          fuzz_check_error (FALSE, local);
          continue;
        }
      bytes = som_npz_reader_read_member (r, members[i], &local);
      fuzz_check_error (bytes != NULL, local);
    }
  arrays = som_npz_reader_list_arrays (r);
  for (guint i = 0; arrays[i] != NULL; i++)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(SomArray) a = NULL;
      SomDType dtype;
      guint ndim;
      gsize shape[SOM_ARRAY_MAX_DIMS];
      gboolean ok;

      g_assert (som_npz_reader_has_array (r, arrays[i]));
      ok = som_npz_reader_read_array_header (r, arrays[i], &dtype, &ndim, shape, &local);
      fuzz_check_error (ok, local);
      g_clear_error (&local);
      a = som_npz_reader_read_array (r, arrays[i], &local);
      fuzz_check_error (a != NULL, local);
      if (ok && a != NULL)
        g_assert (a->dtype == dtype && a->ndim == ndim);
    }
}

static void
read_activations (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomActivations) act = som_activations_open (path, &error);

  fuzz_check_error (act != NULL, error);
  if (act == NULL)
    return;
  for (guint i = 0; i < som_activations_get_n_layers (act); i++)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(SomArray) a = som_activations_read_layer (act, i, &local);

      fuzz_check_error (a != NULL, local);
      g_clear_error (&local);
      if (som_activations_has_adversarial (act, i))
        {
          g_autoptr(SomArray) b = som_activations_read_adversarial (act, i, &local);
          fuzz_check_error (b != NULL, local);
        }
    }
}

static void
read_dataset (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = som_dataset_open (path, NULL, NULL, &error);
  gsize n;

  fuzz_check_error (ds != NULL, error);
  if (ds == NULL)
    return;
  n = MIN (som_dataset_get_count (ds), 16);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(SomArray) a = som_dataset_read_image (ds, i, &local);
      fuzz_check_error (a != NULL, local);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *path = fuzz_write ("input.npz", data, size);

  read_members (path);
  read_activations (path);
  read_dataset (path);
  return 0;
}
