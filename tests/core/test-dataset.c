/* test-dataset.c: IDX, CIFAR-10, image folders and ADV.npz, good and bad
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "som.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          rm_rf (child);
        }
    }
  g_remove (path);
}

static void
write_file (const char *path, const void *data, gsize len)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (path);

  g_mkdir_with_parents (dir, 0755);
  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
}

static GBytes *
gzip_bytes (const void *data, gsize len)
{
  g_autoptr(GZlibCompressor) comp = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (mem, G_CONVERTER (comp));
  g_autoptr(GError) error = NULL;
  gsize written;

  g_output_stream_write_all (out, data, len, &written, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

/* An IDX images file: n images of rows×cols, pixel i of image k = (k*7 + i*3) % 256. */
static GByteArray *
idx_images (guint32 n, guint32 rows, guint32 cols)
{
  GByteArray *b = g_byte_array_new ();
  guint8 h[16];

  put_be32 (h, 0x803);
  put_be32 (h + 4, n);
  put_be32 (h + 8, rows);
  put_be32 (h + 12, cols);
  g_byte_array_append (b, h, 16);
  for (guint32 k = 0; k < n; k++)
    for (guint32 i = 0; i < rows * cols; i++)
      {
        guint8 v = (k * 7 + i * 3) % 256;
        g_byte_array_append (b, &v, 1);
      }
  return b;
}

static GByteArray *
idx_labels (guint32 n, const guint8 *labels)
{
  GByteArray *b = g_byte_array_new ();
  guint8 h[8];

  put_be32 (h, 0x801);
  put_be32 (h + 4, n);
  g_byte_array_append (b, h, 8);
  g_byte_array_append (b, labels, n);
  return b;
}

static void
write_gz (const char *path, const void *data, gsize len)
{
  g_autoptr(GBytes) gz = gzip_bytes (data, len);
  write_file (path, g_bytes_get_data (gz, NULL), g_bytes_get_size (gz));
}

static const guint8 five_labels[] = { 3, 0, 2, 1, 2 };

/* ---- IDX ---------------------------------------------------------------- */

static void
test_idx_raw (void)
{
  g_autoptr(GByteArray) img = idx_images (5, 3, 4);
  g_autoptr(GByteArray) lab = idx_labels (5, five_labels);
  g_autofree char *ipath = tmp_path ("raw/x-images-idx3-ubyte");
  g_autofree char *lpath = tmp_path ("raw/x-labels-idx1-ubyte");
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(SomArray) batch = NULL;
  const char * const *names;
  guint c, h, w;
  float *f;

  write_file (ipath, img->data, img->len);
  write_file (lpath, lab->data, lab->len);
  ds = som_dataset_open (ipath, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (som_dataset_get_kind (ds), ==, SOM_DATASET_IDX);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 5);
  som_dataset_get_image_shape (ds, &c, &h, &w);
  g_assert_cmpuint (c, ==, 1);
  g_assert_cmpuint (h, ==, 3);
  g_assert_cmpuint (w, ==, 4);
  g_assert_true (som_dataset_has_labels (ds));
  g_assert_cmpstr (som_dataset_get_labels_path (ds), ==, lpath);
  g_assert_cmpint (som_dataset_get_labels (ds)[0], ==, 3);
  g_assert_cmpint (som_dataset_get_labels (ds)[4], ==, 2);
  /* No "fashion" in the path: "0".."3" (labels go up to 3). */
  g_assert_cmpuint (som_dataset_get_n_classes (ds), ==, 4);
  names = som_dataset_get_class_names (ds);
  g_assert_cmpstr (names[0], ==, "0");
  g_assert_cmpstr (names[3], ==, "3");

  batch = som_dataset_read_batch (ds, 1, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (batch->ndim, ==, 4);
  g_assert_cmpuint (batch->shape[0], ==, 3);
  g_assert_cmpuint (batch->shape[1], ==, 1);
  f = batch->data;
  /* image 1, pixel 5: (7 + 15) % 256 = 22 → 22/255 */
  g_assert_cmpfloat (f[5], ==, 22.0f / 255.0f);
  /* image 3 pixel 11: (21 + 33) = 54 */
  g_assert_cmpfloat (f[2 * 12 + 11], ==, 54.0f / 255.0f);

  g_assert_null (som_dataset_read_batch (ds, 4, 2, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
}

static void
test_idx_gz_fashion (void)
{
  g_autoptr(GByteArray) img = idx_images (5, 2, 2);
  g_autoptr(GByteArray) lab = idx_labels (5, five_labels);
  g_autofree char *ipath = tmp_path ("My-Fashion/t-images-idx3-ubyte.gz");
  g_autofree char *lpath = tmp_path ("My-Fashion/t-labels-idx1-ubyte");
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;
  SomDatasetOptions opts = { .limit = 2 };

  /* gzip images, raw labels: the labels are found without .gz too. */
  write_gz (ipath, img->data, img->len);
  write_file (lpath, lab->data, lab->len);
  ds = som_dataset_open (ipath, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 5);
  g_assert_cmpstr (som_dataset_get_labels_path (ds), ==, lpath);
  g_assert_cmpuint (som_dataset_get_n_classes (ds), ==, 10);
  g_assert_cmpstr (som_dataset_get_class_names (ds)[0], ==, "T-shirt/top");
  g_assert_cmpstr (som_dataset_get_class_names (ds)[9], ==, "Ankle boot");
  g_clear_object (&ds);

  /* --limit keeps the first images (and their labels). */
  ds = som_dataset_open (ipath, &opts, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 2);
  g_assert_cmpint (som_dataset_get_labels (ds)[1], ==, 0);
}

static void
test_idx_labels_options (void)
{
  g_autoptr(GByteArray) img = idx_images (5, 2, 2);
  g_autoptr(GByteArray) lab = idx_labels (5, five_labels);
  g_autoptr(GByteArray) lab4 = idx_labels (4, five_labels);
  g_autofree char *ipath = tmp_path ("opts/data.idx");
  g_autofree char *lpath = tmp_path ("opts/my-labels");
  g_autofree char *l4path = tmp_path ("opts/four-labels");
  g_autofree char *npath = tmp_path ("opts/names.txt");
  g_autofree char *short_names = tmp_path ("opts/short.txt");
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;
  SomDatasetOptions opts = { 0 };
  const char *names = "zero\none\ntwo\nthree\n\n";

  write_file (ipath, img->data, img->len);
  write_file (lpath, lab->data, lab->len);
  write_file (l4path, lab4->data, lab4->len);
  write_file (npath, names, strlen (names));
  write_file (short_names, "a\nb\n", 4);

  /* No "images-idx3" in the name: no labels, and the note says why. */
  ds = som_dataset_open (ipath, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (som_dataset_has_labels (ds));
  g_assert_false (som_dataset_require_labels (ds, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "--labels"));
  g_assert_nonnull (strstr (error->message, ipath));
  g_clear_error (&error);
  g_clear_object (&ds);

  opts.labels_path = lpath;
  opts.class_names_path = npath;
  ds = som_dataset_open (ipath, &opts, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (som_dataset_has_labels (ds));
  g_assert_cmpuint (som_dataset_get_n_classes (ds), ==, 4);
  g_assert_cmpstr (som_dataset_get_class_names (ds)[3], ==, "three");
  g_clear_object (&ds);

  /* Too few class names for the labels */
  opts.class_names_path = short_names;
  g_assert_null (som_dataset_open (ipath, &opts, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, short_names));
  g_clear_error (&error);

  /* Labels/images count mismatch */
  opts.class_names_path = NULL;
  opts.labels_path = l4path;
  g_assert_null (som_dataset_open (ipath, &opts, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, l4path));
  g_assert_nonnull (strstr (error->message, "4 labels for 5 images"));
  g_clear_error (&error);

  /* An images file given as labels */
  opts.labels_path = ipath;
  g_assert_null (som_dataset_open (ipath, &opts, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "magic"));
  g_clear_error (&error);

  /* A labels file that does not exist */
  opts.labels_path = "/nonexistent/labels";
  g_assert_null (som_dataset_open (ipath, &opts, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/labels"));
}

static void
expect_open_error (const char *path, int code, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = som_dataset_open (path, NULL, NULL, &error);

  g_assert_null (ds);
  g_assert_error (error, SOM_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  if (strstr (error->message, fragment) == NULL)
    g_error ("expected \"%s\" in \"%s\"", fragment, error->message);
}

static void
test_idx_bad (void)
{
  g_autoptr(GByteArray) img = idx_images (6, 4, 4);
  g_autofree char *magic = tmp_path ("bad/magic-images-idx3-ubyte");
  g_autofree char *trunc = tmp_path ("bad/trunc-images-idx3-ubyte");
  g_autofree char *longer = tmp_path ("bad/long-images-idx3-ubyte");
  g_autofree char *tgz = tmp_path ("bad/tgz-images-idx3-ubyte.gz");
  g_autofree char *cgz = tmp_path ("bad/cgz-images-idx3-ubyte.gz");
  g_autofree char *huge = tmp_path ("bad/huge-images-idx3-ubyte");
  g_autofree char *hugegz = tmp_path ("bad/hugegz-images-idx3-ubyte.gz");
  g_autofree char *tiny = tmp_path ("bad/tiny-images-idx3-ubyte");
  g_autofree char *lab = tmp_path ("bad/labels-as-images");
  g_autofree char *zero = tmp_path ("bad/zero-images-idx3-ubyte");
  g_autoptr(GBytes) gz = gzip_bytes (img->data, img->len);
  g_autofree guint8 *copy = g_memdup2 (img->data, img->len);
  static const guint8 ten[10] = { 0 };
  g_autoptr(GByteArray) labels = idx_labels (10, ten);
  gsize gzlen = g_bytes_get_size (gz);
  guint8 *gzcopy = g_memdup2 (g_bytes_get_data (gz, NULL), gzlen);

  copy[3] = 0x02;
  write_file (magic, copy, img->len);
  expect_open_error (magic, SOM_ERROR_CORRUPT, "not an IDX images file");

  write_file (trunc, img->data, img->len - 5);
  expect_open_error (trunc, SOM_ERROR_CORRUPT, "truncated");

  {
    g_autoptr(GByteArray) b = idx_images (6, 4, 4);
    guint8 extra = 1;
    g_byte_array_append (b, &extra, 1);
    write_file (longer, b->data, b->len);
    expect_open_error (longer, SOM_ERROR_CORRUPT, "the file has 113 bytes");
  }

  /* gzip cut in the middle */
  write_file (tgz, g_bytes_get_data (gz, NULL), gzlen / 2);
  expect_open_error (tgz, SOM_ERROR_CORRUPT, "truncated");

  /* gzip with a damaged deflate stream (trailer intact) */
  for (gsize i = 12; i < gzlen - 10; i++)
    gzcopy[i] ^= 0x5a;
  write_file (cgz, gzcopy, gzlen);
  g_free (gzcopy);
  expect_open_error (cgz, SOM_ERROR_CORRUPT, "gzip");

  /* Absurd declared sizes: caught before any allocation */
  {
    guint8 h[16];
    put_be32 (h, 0x803);
    put_be32 (h + 4, 0xffffffffu);
    put_be32 (h + 8, 60000);
    put_be32 (h + 12, 60000);
    write_file (huge, h, 16);
    expect_open_error (huge, SOM_ERROR_CORRUPT, "the header declares 4294967295 images of 60000×60000");
    /* 2^32 bytes declared: the gzip trailer agrees modulo 2^32, the ratio does not */
    put_be32 (h + 4, 1);
    put_be32 (h + 8, 65536);
    put_be32 (h + 12, 65536);
    write_gz (hugegz, h, 16);
    expect_open_error (hugegz, SOM_ERROR_CORRUPT, "more than a gzip file");
    write_file (tiny, h, 7);
    expect_open_error (tiny, SOM_ERROR_CORRUPT, "too short");
    put_be32 (h + 4, 0);
    put_be32 (h + 8, 0);
    write_file (zero, h, 16);
    expect_open_error (zero, SOM_ERROR_CORRUPT, "absurd image size 0×65536");
  }

  write_file (lab, labels->data, labels->len);
  expect_open_error (lab, SOM_ERROR_INVALID, "labels file");

  expect_open_error ("/nonexistent/x-images-idx3-ubyte", SOM_ERROR_IO, "no such file");
}

static void
test_idx_budget (void)
{
  g_autoptr(GByteArray) img = idx_images (100, 10, 10);
  g_autofree char *path = tmp_path ("budget/b-images-idx3-ubyte");
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;
  SomDatasetOptions opts = { .limit = 10 };

  write_file (path, img->data, img->len);
  g_setenv ("SOMSCOPE_MEMORY_BUDGET", "5000", TRUE);
  g_assert_null (som_dataset_open (path, NULL, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  /* Only what --limit keeps counts against the budget. */
  ds = som_dataset_open (path, &opts, NULL, &error);
  g_unsetenv ("SOMSCOPE_MEMORY_BUDGET");
  g_assert_no_error (error);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 10);
}

static void
test_cancel (void)
{
  g_autoptr(GByteArray) img = idx_images (5, 3, 4);
  g_autofree char *path = tmp_path ("cancel/c-images-idx3-ubyte");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  write_file (path, img->data, img->len);
  g_cancellable_cancel (cancellable);
  g_assert_null (som_dataset_open (path, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* ---- CIFAR-10 ----------------------------------------------------------- */

/* n records; record k has label (k + seed) % 10 and pixel i = (k + i + seed) % 251. */
static void
write_cifar (const char *path, guint n, guint seed)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();

  for (guint k = 0; k < n; k++)
    {
      guint8 rec[3073];
      rec[0] = (k + seed) % 10;
      for (guint i = 0; i < 3072; i++)
        rec[1 + i] = (k + i + seed) % 251;
      g_byte_array_append (b, rec, sizeof rec);
    }
  write_file (path, b->data, b->len);
}

static void
test_cifar (void)
{
  g_autofree char *dir = tmp_path ("cifar-10-batches-bin");
  g_autofree char *test_batch = g_build_filename (dir, "test_batch.bin", NULL);
  g_autofree char *meta = g_build_filename (dir, "batches.meta.txt", NULL);
  g_autofree char *train = g_strdup_printf ("%s:train", dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(SomArray) batch = NULL;
  const char *names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
  SomDatasetOptions opts = { .limit = 6 };
  guint c, h, w;
  float *f;

  write_cifar (test_batch, 4, 100);
  for (int i = 1; i <= 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("data_batch_%d.bin", i);
      g_autofree char *p = g_build_filename (dir, name, NULL);
      write_cifar (p, 2, i);
    }
  write_file (meta, names, strlen (names));

  ds = som_dataset_open (dir, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (som_dataset_get_kind (ds), ==, SOM_DATASET_CIFAR);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 4);
  som_dataset_get_image_shape (ds, &c, &h, &w);
  g_assert_cmpuint (c, ==, 3);
  g_assert_cmpuint (h, ==, 32);
  g_assert_cmpuint (w, ==, 32);
  g_assert_cmpint (som_dataset_get_labels (ds)[1], ==, 1);
  g_assert_cmpuint (som_dataset_get_n_classes (ds), ==, 10);
  g_assert_cmpstr (som_dataset_get_class_names (ds)[3], ==, "cat");
  batch = som_dataset_read_batch (ds, 2, 1, &error);
  g_assert_no_error (error);
  f = batch->data;
  /* Record 2, green plane (pixel 1024 + 33 of the record): (2 + 1057 + 100) % 251 */
  g_assert_cmpfloat (f[1024 + 33], ==, (float) ((2 + 1057 + 100) % 251) / 255.0f);
  g_clear_object (&ds);

  /* :train = data_batch_1…5 in order; --limit 6 stops inside batch 3. */
  ds = som_dataset_open (train, &opts, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 6);
  g_assert_cmpint (som_dataset_get_labels (ds)[0], ==, 1);
  g_assert_cmpint (som_dataset_get_labels (ds)[2], ==, 2);
  g_assert_cmpint (som_dataset_get_labels (ds)[5], ==, 4);
  g_clear_object (&ds);

  /* One batch file on its own, meta beside it */
  ds = som_dataset_open (test_batch, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 4);
  g_assert_cmpstr (som_dataset_get_class_names (ds)[9], ==, "truck");
}

static void
test_cifar_bad (void)
{
  g_autofree char *odd = tmp_path ("cifar-bad/odd.bin");
  g_autofree char *label = tmp_path ("cifar-bad/label.bin");
  g_autofree char *c100 = tmp_path ("cifar-bad/c100.bin");
  g_autofree char *empty = tmp_path ("cifar-bad/empty.bin");
  g_autofree char *notrain = tmp_path ("cifar-bad");
  g_autofree char *notrain_spec = g_strdup_printf ("%s:train", notrain);
  g_autofree guint8 *buf = g_malloc0 (3074 * 2);

  write_file (odd, buf, 3073 + 100);
  expect_open_error (odd, SOM_ERROR_CORRUPT, "not a multiple of 3073");
  write_file (c100, buf, 3074 * 2);
  expect_open_error (c100, SOM_ERROR_CORRUPT, "CIFAR-100");
  write_file (empty, buf, 0);
  expect_open_error (empty, SOM_ERROR_CORRUPT, "not a multiple");
  buf[3073] = 12;
  write_file (label, buf, 3073 * 2);
  expect_open_error (label, SOM_ERROR_CORRUPT, "record 1 has label 12");
  expect_open_error (notrain_spec, SOM_ERROR_INVALID, "data_batch");
}

/* ---- image folders ------------------------------------------------------- */

static void
write_image (const char *path, int w, int h, guint8 base, const char *type)
{
  g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  guint8 *px = gdk_pixbuf_get_pixels (pb);
  int stride = gdk_pixbuf_get_rowstride (pb);

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        px[y * stride + x * 3 + c] = base + 10 * y + 3 * x + 50 * c;
  g_mkdir_with_parents (dir, 0755);
  gdk_pixbuf_save (pb, path, type, &error, NULL);
  g_assert_no_error (error);
}

static void
test_folder (void)
{
  g_autofree char *root = tmp_path ("photos");
  const char *files[] = { "B/2.png", "B/10.png", "B/1.png", "a/x.PNG", "b/q.jpg", "b/p.png", NULL };
  const char *expected[] = { "B/1.png", "B/10.png", "B/2.png", "a/x.PNG", "b/p.png", "b/q.jpg" };
  const gint32 expected_labels[] = { 0, 0, 0, 1, 2, 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(SomArray) batch = NULL;
  g_autoptr(SomArray) img = NULL;
  SomDatasetOptions opts = { .limit = 4 };
  g_autofree char *notes = g_build_filename (root, "README.txt", NULL);
  g_autofree char *hidden = g_build_filename (root, "b", ".hidden.png", NULL);
  guint c, h, w;
  float *f;

  for (guint i = 0; files[i]; i++)
    {
      g_autofree char *p = g_build_filename (root, files[i], NULL);
      write_image (p, 5, 4, 10 * i, g_str_has_suffix (p, ".jpg") ? "jpeg" : "png");
    }
  write_file (notes, "not an image", 12);
  write_file (hidden, "not an image", 12);

  ds = som_dataset_open (root, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (som_dataset_get_kind (ds), ==, SOM_DATASET_FOLDER);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 6);
  g_assert_cmpuint (som_dataset_get_n_classes (ds), ==, 3);
  g_assert_cmpstr (som_dataset_get_class_names (ds)[0], ==, "B");
  g_assert_cmpstr (som_dataset_get_class_names (ds)[1], ==, "a");
  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *p = g_build_filename (root, expected[i], NULL);
      g_assert_cmpstr (som_dataset_get_image_source (ds, i), ==, p);
      g_assert_cmpint (som_dataset_get_labels (ds)[i], ==, expected_labels[i]);
    }
  som_dataset_get_image_shape (ds, &c, &h, &w);
  g_assert_cmpuint (c, ==, 3);
  g_assert_cmpuint (h, ==, 4);
  g_assert_cmpuint (w, ==, 5);

  /* PNG pixels are exact: "B/1.png" was written with base 20. */
  img = som_dataset_read_image (ds, 0, &error);
  g_assert_no_error (error);
  f = img->data;
  g_assert_cmpfloat (f[0], ==, 20.0f / 255.0f);
  g_assert_cmpfloat (f[2 * 20 + 3 * 5 + 4], ==, (20 + 30 + 12 + 100) / 255.0f);
  batch = som_dataset_read_batch (ds, 0, 6, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (batch->shape[0], ==, 6);
  g_clear_object (&ds);

  /* Round robin: B, a, b, then B again: every class stays. */
  ds = som_dataset_open (root, &opts, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 4);
  g_assert_cmpint (som_dataset_get_labels (ds)[0], ==, 0);
  g_assert_cmpint (som_dataset_get_labels (ds)[1], ==, 0);
  g_assert_cmpint (som_dataset_get_labels (ds)[2], ==, 1);
  g_assert_cmpint (som_dataset_get_labels (ds)[3], ==, 2);
  {
    g_autofree char *p = g_build_filename (root, "b/p.png", NULL);
    g_assert_cmpstr (som_dataset_get_image_source (ds, 3), ==, p);
  }
}

static void
test_folder_bad (void)
{
  g_autofree char *root = tmp_path ("photos-bad");
  g_autofree char *good = g_build_filename (root, "cat", "1.png", NULL);
  g_autofree char *big = g_build_filename (root, "cat", "2.png", NULL);
  g_autofree char *junk = g_build_filename (root, "dog", "3.png", NULL);
  g_autofree char *empty = tmp_path ("photos-empty/cat");
  g_autofree char *empty_root = tmp_path ("photos-empty");
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(SomArray) batch = NULL;

  write_image (good, 4, 4, 0, "png");
  write_image (big, 6, 4, 0, "png");
  write_file (junk, "this is not a PNG file", 22);
  ds = som_dataset_open (root, NULL, NULL, &error);
  g_assert_no_error (error);
  /* Sizes differ: a batch at the images' own size names the file. */
  g_assert_null (som_dataset_read_batch (ds, 0, 2, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, big));
  g_assert_nonnull (strstr (error->message, "--resize"));
  g_clear_error (&error);
  g_assert_null (som_dataset_read_image (ds, 2, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, junk));
  g_clear_error (&error);

  g_mkdir_with_parents (empty, 0755);
  expect_open_error (empty_root, SOM_ERROR_INVALID, "no images");
}

/* ---- ADV.npz -------------------------------------------------------------- */

static void
test_npz (void)
{
  g_autofree char *path = tmp_path ("adv.npz");
  g_autofree char *bad = tmp_path ("adv-bad.npz");
  g_autofree char *nolabels = tmp_path ("adv-nolabels.npz");
  gsize shape[4] = { 3, 1, 2, 2 };
  g_autoptr(SomArray) images = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  g_autoptr(SomArray) labels = som_array_new_1d_i32 (3);
  g_autoptr(SomNpzWriter) w = NULL;
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(SomArray) batch = NULL;
  g_autoptr(GError) error = NULL;
  SomDatasetOptions opts = { .limit = 2 };
  float *f = images->data;

  for (int i = 0; i < 12; i++)
    f[i] = i / 11.0f;
  for (int i = 0; i < 3; i++)
    ((gint32 *) labels->data)[i] = 2 - i;
  w = som_npz_writer_new (path, FALSE, &error);
  som_npz_writer_add_array (w, "images", images, &error);
  som_npz_writer_add_array (w, "labels", labels, &error);
  som_npz_writer_add_string (w, "meta.json", "{\"class_names\":[\"x\",\"y\",\"z\"]}", &error);
  som_npz_writer_close (w, &error);
  g_assert_no_error (error);
  g_clear_pointer (&w, som_npz_writer_free);

  ds = som_dataset_open (path, &opts, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (som_dataset_get_kind (ds), ==, SOM_DATASET_NPZ);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 2);
  g_assert_cmpint (som_dataset_get_labels (ds)[1], ==, 1);
  g_assert_cmpstr (som_dataset_get_class_names (ds)[2], ==, "z");
  batch = som_dataset_read_batch (ds, 1, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (((float *) batch->data)[3], ==, 7 / 11.0f);

  w = som_npz_writer_new (nolabels, FALSE, &error);
  som_npz_writer_add_array (w, "images", images, &error);
  som_npz_writer_close (w, &error);
  g_assert_no_error (error);
  g_clear_pointer (&w, som_npz_writer_free);
  g_clear_object (&ds);
  ds = som_dataset_open (nolabels, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (som_dataset_has_labels (ds));

  f[5] = 1.5f;
  w = som_npz_writer_new (bad, FALSE, &error);
  som_npz_writer_add_array (w, "images", images, &error);
  som_npz_writer_close (w, &error);
  g_assert_no_error (error);
  expect_open_error (bad, SOM_ERROR_INVALID, "outside [0,1]");
}

/* ---- the real Fashion-MNIST ------------------------------------------------ */

static void
test_fashion_mnist (void)
{
  const char *path = FASHION_DIR "/t10k-images-idx3-ubyte.gz";
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(SomArray) batch = NULL;
  const gint32 *labels;
  gsize counts[10] = { 0 };
  guint c, h, w;

  ds = som_dataset_open (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_dataset_get_count (ds), ==, 10000);
  som_dataset_get_image_shape (ds, &c, &h, &w);
  g_assert_cmpuint (c, ==, 1);
  g_assert_cmpuint (h, ==, 28);
  g_assert_cmpuint (w, ==, 28);
  g_assert_cmpstr (som_dataset_get_labels_path (ds), ==, FASHION_DIR "/t10k-labels-idx1-ubyte.gz");
  labels = som_dataset_get_labels (ds);
  /* The first test images are an ankle boot, a pullover, two trousers. */
  g_assert_cmpint (labels[0], ==, 9);
  g_assert_cmpint (labels[1], ==, 2);
  g_assert_cmpint (labels[2], ==, 1);
  g_assert_cmpint (labels[3], ==, 1);
  for (gsize i = 0; i < 10000; i++)
    counts[labels[i]]++;
  for (guint k = 0; k < 10; k++)
    g_assert_cmpuint (counts[k], ==, 1000);
  g_assert_cmpstr (som_dataset_get_class_names (ds)[9], ==, "Ankle boot");
  batch = som_dataset_read_batch (ds, 9936, 64, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < som_array_n_elements (batch); i++)
    g_assert_true (((float *) batch->data)[i] >= 0.0f && ((float *) batch->data)[i] <= 1.0f);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("somscope-dataset-XXXXXX", NULL);

  g_test_add_func ("/dataset/idx/raw", test_idx_raw);
  g_test_add_func ("/dataset/idx/gz-fashion", test_idx_gz_fashion);
  g_test_add_func ("/dataset/idx/labels-options", test_idx_labels_options);
  g_test_add_func ("/dataset/idx/bad", test_idx_bad);
  g_test_add_func ("/dataset/idx/budget", test_idx_budget);
  g_test_add_func ("/dataset/idx/cancel", test_cancel);
  g_test_add_func ("/dataset/cifar/good", test_cifar);
  g_test_add_func ("/dataset/cifar/bad", test_cifar_bad);
  g_test_add_func ("/dataset/folder/good", test_folder);
  g_test_add_func ("/dataset/folder/bad", test_folder_bad);
  g_test_add_func ("/dataset/npz", test_npz);
  /* dataset-fashion-mnist is a dependency (tools/install-deps): no skipping. */
  g_test_add_func ("/dataset/fashion-mnist", test_fashion_mnist);

  ret = g_test_run ();
  rm_rf (tmp_dir);
  return ret;
}
