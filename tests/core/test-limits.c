/* test-limits.c: hostile files cannot make a parser allocate gigabytes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every file here is small (≤ a few MB) but declares sizes of gigabytes.
 * The process runs under an address-space limit (RLIMIT_AS: what it uses at
 * start + 1 GiB) with the default memory budget of 4 GiB, so the checks of
 * declared sizes against the file's own size must stop each one: a parser
 * that trusted the declaration would abort in g_malloc (the test crashes).
 * Under AddressSanitizer (which reserves terabytes of shadow memory) the
 * limit cannot be set; the errors are still checked.
 */
#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <glib/gstdio.h>

#include "som.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static char *
tmp_path (const char *name)
{
  static char *dir;

  if (dir == NULL)
    dir = g_dir_make_tmp ("somscope-limits-XXXXXX", NULL);
  return g_build_filename (dir, name, NULL);
}

static char *
write_file (const char *name, const void *data, gsize len)
{
  char *path = tmp_path (name);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, data, len, &error));
  return path;
}

static guint32
crc32 (const guint8 *p, gsize n)
{
  guint32 c = 0xffffffffu;

  for (gsize i = 0; i < n; i++)
    {
      c ^= p[i];
      for (int k = 0; k < 8; k++)
        c = (c >> 1) ^ (0xedb88320u & -(c & 1));
    }
  return ~c;
}

static void
put16 (GByteArray *b, guint v)
{
  guint8 x[2] = { v & 0xff, (v >> 8) & 0xff };
  g_byte_array_append (b, x, 2);
}

static void
put32 (GByteArray *b, guint32 v)
{
  guint8 x[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
  g_byte_array_append (b, x, 4);
}

static void
put32be (GByteArray *b, guint32 v)
{
  guint8 x[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (b, x, 4);
}

/* A zip with one member whose central directory may lie about its
 * uncompressed size (@declared) while holding @len bytes, stored. */
static GByteArray *
make_zip (const char *member, const guint8 *data, guint32 len, guint32 declared)
{
  GByteArray *b = g_byte_array_new ();
  guint32 crc = crc32 (data, len);
  guint16 nlen = strlen (member);
  guint32 central, central_size;

  put32 (b, 0x04034b50); put16 (b, 20); put16 (b, 0); put16 (b, 0); put16 (b, 0); put16 (b, 0);
  put32 (b, crc); put32 (b, len); put32 (b, declared); put16 (b, nlen); put16 (b, 0);
  g_byte_array_append (b, (const guint8 *) member, nlen);
  g_byte_array_append (b, data, len);
  central = b->len;
  put32 (b, 0x02014b50); put16 (b, 20); put16 (b, 20); put16 (b, 0); put16 (b, 0); put16 (b, 0);
  put16 (b, 0); put32 (b, crc); put32 (b, len); put32 (b, declared); put16 (b, nlen); put16 (b, 0);
  put16 (b, 0); put16 (b, 0); put16 (b, 0); put32 (b, 0); put32 (b, 0);
  g_byte_array_append (b, (const guint8 *) member, nlen);
  central_size = b->len - central;
  put32 (b, 0x06054b50); put16 (b, 0); put16 (b, 0); put16 (b, 1); put16 (b, 1);
  put32 (b, central_size); put32 (b, central); put16 (b, 0);
  return b;
}

static GBytes *
npy_header (const char *descr, const char *shape)
{
  g_autoptr(GString) h = g_string_new (NULL);
  GByteArray *b = g_byte_array_new ();

  g_string_printf (h, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
  while ((10 + h->len + 1) % 64 != 0)
    g_string_append_c (h, ' ');
  g_string_append_c (h, '\n');
  g_byte_array_append (b, (const guint8 *) "\x93NUMPY\x01\x00", 8);
  put16 (b, h->len);
  g_byte_array_append (b, (const guint8 *) h->str, h->len);
  return g_byte_array_free_to_bytes (b);
}

/* .npy declaring 10^12 floats and holding 16 bytes. */
static void
test_npy_shape (void)
{
  g_autoptr(GBytes) h = npy_header ("<f4", "(1000000, 1000000)");
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SomArray) a = NULL;
  g_autofree char *path = NULL;

  g_byte_array_append (b, g_bytes_get_data (h, NULL), g_bytes_get_size (h));
  g_byte_array_append (b, (const guint8 *) "0123456789abcdef", 16);
  path = write_file ("huge.npy", b->data, b->len);
  a = som_npy_load (path, &error);
  g_assert_null (a);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "huge.npy"));
}

/* A stored .npz member of 3.2 MB whose directory declares 3 GiB.  Deflate
 * could expand 3.2 MB that far, so only the stored method tells the lie. */
static void
test_npz_stored_size (void)
{
  const guint32 len = 3300000, declared = 3u << 30;
  g_autofree guint8 *data = g_malloc0 (len);
  g_autoptr(GBytes) h = npy_header ("<f4", "(805306368,)");
  g_autoptr(GByteArray) zip = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(SomNpzReader) r = NULL;
  g_autoptr(SomArray) a = NULL;
  g_autoptr(GBytes) m = NULL;

  memcpy (data, g_bytes_get_data (h, NULL), g_bytes_get_size (h));
  zip = make_zip ("x.npy", data, len, declared);
  path = write_file ("stored-lie.npz", zip->data, zip->len);
  r = som_npz_reader_open (path, &error);
  if (r == NULL)
    {
      /* Refusing the archive as a whole is fine too. */
      g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
      return;
    }
  m = som_npz_reader_read_member (r, "x.npy", &error);
  g_assert_null (m);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "stored-lie.npz"));
  g_clear_error (&error);
  a = som_npz_reader_read_array (r, "x", &error);
  g_assert_null (a);
  g_assert_nonnull (error);
}

/* An .npz member whose .npy header declares 10^10 floats in 200 bytes. */
static void
test_npz_header_shape (void)
{
  g_autoptr(GBytes) h = npy_header ("<f4", "(100000, 100000)");
  g_autoptr(GByteArray) npy = g_byte_array_new ();
  g_autoptr(GByteArray) zip = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(SomNpzReader) r = NULL;
  g_autoptr(SomArray) a = NULL;
  g_autoptr(SomActivations) act = NULL;
  g_autoptr(SomMap) map = NULL;
  SomDType dtype;
  guint ndim;
  gsize shape[SOM_ARRAY_MAX_DIMS];

  g_byte_array_append (npy, g_bytes_get_data (h, NULL), g_bytes_get_size (h));
  g_byte_array_append (npy, (const guint8 *) "0123456789abcdef", 16);
  zip = make_zip ("codebook.npy", npy->data, npy->len, npy->len);
  path = write_file ("header-lie.npz", zip->data, zip->len);
  r = som_npz_reader_open (path, &error);
  g_assert_no_error (error);
  g_assert_false (som_npz_reader_read_array_header (r, "codebook", &dtype, &ndim, shape, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  a = som_npz_reader_read_array (r, "codebook", &error);
  g_assert_null (a);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_clear_error (&error);
  act = som_activations_open (path, &error);
  g_assert_null (act);
  g_assert_nonnull (error);
  g_clear_error (&error);
  map = som_map_load_npz (path, &error);
  g_assert_null (map);
  g_assert_nonnull (error);
}

static GByteArray *
idx_header (guint32 magic, guint32 n, guint32 rows, guint32 cols)
{
  GByteArray *b = g_byte_array_new ();

  put32be (b, magic);
  put32be (b, n);
  put32be (b, rows);
  put32be (b, cols);
  return b;
}

/* IDX declaring 2^31 images of 256×256 (140 TB), raw and gzip. */
static void
test_idx_count (void)
{
  g_autoptr(GByteArray) b = idx_header (0x803, 1u << 31, 256, 256);
  g_autoptr(GError) error = NULL;
  g_autofree char *raw = NULL;
  g_autofree char *gz = NULL;
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
  guint8 out[4096];
  gsize read, written;

  g_byte_array_append (b, (const guint8 *) "pixels", 6);
  raw = write_file ("huge-images-idx3-ubyte", b->data, b->len);
  ds = som_dataset_open (raw, NULL, NULL, &error);
  g_assert_null (ds);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_clear_error (&error);

  g_assert_cmpint (g_converter_convert (G_CONVERTER (z), b->data, b->len, out, sizeof out,
                                        G_CONVERTER_INPUT_AT_END, &read, &written, &error),
                   ==, G_CONVERTER_FINISHED);
  gz = write_file ("huge-images-idx3-ubyte.gz", out, written);
  ds = som_dataset_open (gz, NULL, NULL, &error);
  g_assert_null (ds);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
}

/* A SOM_PAK .cod declaring 1000 × 1000 units of 1000 values (4 GB of
 * codebook: inside the default budget) in 40 bytes. */
static void
test_cod_declared (void)
{
  const char *text = "1000 rect 1000 1000 gaussian\n1 2 3\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) map = som_map_parse_cod (text, strlen (text), "huge.cod", &error);

  g_assert_null (map);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "huge.cod"));
}

static void
put_chunk (GByteArray *b, const char *type, const guint8 *data, guint32 len)
{
  g_autoptr(GByteArray) c = g_byte_array_new ();

  put32be (b, len);
  g_byte_array_append (c, (const guint8 *) type, 4);
  g_byte_array_append (c, data, len);
  g_byte_array_append (b, c->data, c->len);
  put32be (b, crc32 (c->data, c->len));
}

/* A PNG whose header declares 20000 × 20000 RGB (1.2 GB as a pixbuf, 4.8 GB
 * as float32), 70 bytes long: refused from the header, before decoding. */
static void
test_png_dimensions (void)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_autoptr(GByteArray) ihdr = g_byte_array_new ();
  g_autofree char *dir = tmp_path ("png-folder");
  g_autofree char *sub = g_build_filename (dir, "class-a", NULL);
  g_autofree char *file = g_build_filename (sub, "big.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(SomArray) img = NULL;
  const guint8 idat[] = { 0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01 };

  g_byte_array_append (b, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
  put32be (ihdr, 20000);
  put32be (ihdr, 20000);
  g_byte_array_append (ihdr, (const guint8 *) "\x08\x02\x00\x00\x00", 5);
  put_chunk (b, "IHDR", ihdr->data, ihdr->len);
  put_chunk (b, "IDAT", idat, sizeof idat);
  put_chunk (b, "IEND", NULL, 0);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, (const char *) b->data, b->len, NULL));

  ds = som_dataset_open (dir, NULL, NULL, &error);
  if (ds == NULL)
    {
      g_assert_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE);
      return;
    }
  img = som_dataset_read_image (ds, 0, &error);
  g_assert_null (img);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "big.png"));
}

/* An ADV.npz whose labels reach 2^31 − 1: class names are made up to the
 * largest label, so it is refused instead of making 2^31 of them (found by
 * fuzz-npz: a timeout after 15 s and gigabytes of names). */
static void
test_huge_label (void)
{
  g_autofree char *path = tmp_path ("huge-label.npz");
  gsize ishape[4] = { 2, 1, 2, 2 }, lshape[1] = { 2 };
  g_autoptr(SomArray) images = som_array_new (SOM_DTYPE_F32, 4, ishape, NULL);
  g_autoptr(SomArray) labels = som_array_new (SOM_DTYPE_I64, 1, lshape, NULL);
  g_autoptr(SomNpzWriter) w = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;

  ((gint64 *) labels->data)[1] = G_MAXINT32;
  w = som_npz_writer_new (path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (som_npz_writer_add_array (w, "images", images, &error));
  g_assert_true (som_npz_writer_add_array (w, "labels", labels, &error));
  g_assert_true (som_npz_writer_close (w, &error));
  ds = som_dataset_open (path, NULL, NULL, &error);
  g_assert_null (ds);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "huge-label.npz: a label is 2147483647"));
}

/* A BMP named .png: the folder decoder takes PNG and JPEG only, not
 * whatever other loader gdk-pixbuf would pick from the content. */
static void
test_image_format (void)
{
  g_autofree char *bmp = g_build_filename (g_getenv ("SOMSCOPE_SOURCE_DIR"), "tests", "fuzz", "corpus",
                                           "image", "bmp.bmp", NULL);
  g_autofree char *dir = tmp_path ("bmp-folder");
  g_autofree char *sub = g_build_filename (dir, "class-a", NULL);
  g_autofree char *file = g_build_filename (sub, "not-really.png", NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;

  g_assert_true (g_file_get_contents (bmp, &data, &len, NULL));
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, data, len, NULL));
  /* Refused by its signature, before any gdk-pixbuf loader reads it (the
   * ICO loader allocated gigabytes from a header: found by fuzz-image). */
  ds = som_dataset_open (dir, NULL, NULL, &error);
  g_assert_null (ds);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "not-really.png: not a readable PNG or JPEG image"));
}

/* An ONNX TensorProto declaring 10^10 floats with no data. */
static void
test_onnx_tensor_dims (void)
{
  /* dims: 100000 100000 (field 1, varint), data_type 1 (field 2), name "x" (field 8) */
  const guint8 pb[] = { 0x08, 0xa0, 0x8d, 0x06, 0x08, 0xa0, 0x8d, 0x06, 0x10, 0x01, 0x42, 0x01, 'x' };
  g_autofree char *path = write_file ("huge.pb", pb, sizeof pb);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomArray) a = som_onnx_tensor_load (path, NULL, &error);

  g_assert_null (a);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "huge.pb"));
}

static void
limit_address_space (void)
{
#ifndef UNDER_ASAN
  g_autofree char *statm = NULL;
  struct rlimit rl;
  guint64 pages;

  g_assert_true (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL));
  pages = g_ascii_strtoull (statm, NULL, 10);
  rl.rlim_cur = rl.rlim_max = pages * sysconf (_SC_PAGESIZE) + (G_GUINT64_CONSTANT (1) << 30);
  g_assert_cmpint (setrlimit (RLIMIT_AS, &rl), ==, 0);
  g_test_message ("RLIMIT_AS = %" G_GUINT64_FORMAT " MiB", (guint64) rl.rlim_cur >> 20);
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("SOMSCOPE_MEMORY_BUDGET");
  limit_address_space ();
  g_test_add_func ("/limits/npy/declared-shape", test_npy_shape);
  g_test_add_func ("/limits/npz/stored-size", test_npz_stored_size);
  g_test_add_func ("/limits/npz/header-shape", test_npz_header_shape);
  g_test_add_func ("/limits/idx/declared-count", test_idx_count);
  g_test_add_func ("/limits/cod/declared-codebook", test_cod_declared);
  g_test_add_func ("/limits/image/declared-dimensions", test_png_dimensions);
  g_test_add_func ("/limits/image/other-formats", test_image_format);
  g_test_add_func ("/limits/dataset/huge-label", test_huge_label);
  g_test_add_func ("/limits/onnx/tensor-dims", test_onnx_tensor_dims);
  return g_test_run ();
}
