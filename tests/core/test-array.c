/* test-array.c: .npy/.npz round trips and malformed files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "som.h"

static char *
tmp_path (const char *name)
{
  static char *dir;

  if (dir == NULL)
    dir = g_dir_make_tmp ("somscope-test-XXXXXX", NULL);
  return g_build_filename (dir, name, NULL);
}

static void
test_npy_round_trip (void)
{
  gsize shape[3] = { 2, 3, 4 };
  g_autoptr(SomArray) a = som_array_new (SOM_DTYPE_F32, 3, shape, NULL);
  g_autoptr(SomArray) b = NULL;
  g_autofree char *path = tmp_path ("a.npy");
  g_autoptr(GError) error = NULL;
  float *f = a->data;

  for (int i = 0; i < 24; i++)
    f[i] = i * 0.5f - 3;
  g_assert_true (som_npy_save (path, a, &error));
  g_assert_no_error (error);
  b = som_npy_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (b->dtype, ==, SOM_DTYPE_F32);
  g_assert_cmpuint (b->ndim, ==, 3);
  g_assert_cmpuint (b->shape[2], ==, 4);
  g_assert_cmpmem (a->data, 24 * 4, b->data, 24 * 4);
}

static void
test_slice_rows (void)
{
  gsize shape[3] = { 4, 2, 3 };
  g_autoptr(SomArray) a = som_array_new (SOM_DTYPE_I32, 3, shape, NULL);
  g_autoptr(SomArray) b = NULL;
  gint32 *v = a->data;

  for (int i = 0; i < 24; i++)
    v[i] = i;
  b = som_array_slice_rows (a, 1, 2);
  g_assert_cmpint (b->dtype, ==, SOM_DTYPE_I32);
  g_assert_cmpuint (b->ndim, ==, 3);
  g_assert_cmpuint (b->shape[0], ==, 2);
  g_assert_cmpuint (b->shape[2], ==, 3);
  g_assert_cmpmem (b->data, 12 * 4, v + 6, 12 * 4);
}

static void
test_npz_round_trip (void)
{
  g_autofree char *path = tmp_path ("b.npz");
  g_autoptr(GError) error = NULL;
  g_autoptr(SomNpzWriter) w = NULL;
  g_autoptr(SomNpzReader) r = NULL;
  g_autoptr(SomArray) labels = som_array_new_1d_i32 (5);
  g_autoptr(SomArray) got = NULL;
  g_autoptr(GBytes) meta = NULL;
  g_auto(GStrv) names = NULL;

  for (int i = 0; i < 5; i++)
    ((gint32 *) labels->data)[i] = 10 - i;
  w = som_npz_writer_new (path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (som_npz_writer_add_array (w, "labels", labels, &error));
  g_assert_true (som_npz_writer_add_array (w, "layer_007/codebook", labels, &error));
  g_assert_true (som_npz_writer_add_string (w, "meta.json", "{\"format\":\"x\"}", &error));
  g_assert_false (som_npz_writer_add_array (w, "labels", labels, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (som_npz_writer_close (w, &error));
  g_assert_no_error (error);

  r = som_npz_reader_open (path, &error);
  g_assert_no_error (error);
  names = som_npz_reader_list_arrays (r);
  g_assert_cmpuint (g_strv_length (names), ==, 2);
  got = som_npz_reader_read_array (r, "labels", &error);
  g_assert_no_error (error);
  g_assert_cmpmem (got->data, 20, labels->data, 20);
  meta = som_npz_reader_read_member (r, "meta.json", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (meta), ==, 14);
  g_assert_null (som_npz_reader_read_array (r, "nope", &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
}

static void
test_npy_malformed (void)
{
  gsize shape[1] = { 4 };
  g_autoptr(SomArray) a = som_array_new (SOM_DTYPE_F32, 1, shape, NULL);
  g_autoptr(GBytes) bytes = som_npy_serialize (a);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  g_autofree guint8 *copy = g_memdup2 (data, len);
  GError *error = NULL;

  /* truncated */
  for (gsize cut = 0; cut < len; cut += 7)
    {
      g_assert_null (som_npy_parse (data, cut, "x.npy", &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, "x.npy"));
      g_clear_error (&error);
    }
  /* bad magic */
  copy[1] = 'X';
  g_assert_null (som_npy_parse (copy, len, "x.npy", &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_clear_error (&error);
  /* a huge declared shape */
  {
    const char *hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }";
    GByteArray *b = g_byte_array_new ();
    guint8 pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0 };
    pre[8] = strlen (hdr);
    g_byte_array_append (b, pre, 10);
    g_byte_array_append (b, (const guint8 *) hdr, strlen (hdr));
    g_assert_null (som_npy_parse (b->data, b->len, "big.npy", &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_byte_array_unref (b);
  }
}

static void
test_npz_not_a_zip (void)
{
  g_autofree char *path = tmp_path ("bad.npz");
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, "PK\3\4 this is not a zip", -1, NULL));
  g_assert_null (som_npz_reader_open (path, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, path));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/array/npy/round-trip", test_npy_round_trip);
  g_test_add_func ("/array/npy/malformed", test_npy_malformed);
  g_test_add_func ("/array/npz/round-trip", test_npz_round_trip);
  g_test_add_func ("/array/npz/not-a-zip", test_npz_not_a_zip);
  g_test_add_func ("/array/slice-rows", test_slice_rows);
  return g_test_run ();
}
