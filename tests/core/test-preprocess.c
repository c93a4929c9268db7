/* test-preprocess.c: channels, pad, resize (against torchvision), mean/std, layout
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "som.h"

static char *tmp_dir;

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
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

/* n images of rows×cols, pixel i of image k = (k * 7 + i * 3) % 256, labels k % 10 */
static char *
write_idx (const char *name, guint32 n, guint32 rows, guint32 cols)
{
  g_autofree char *path = g_strdup_printf ("%s/%s-images-idx3-ubyte", tmp_dir, name);
  g_autofree char *lpath = g_strdup_printf ("%s/%s-labels-idx1-ubyte", tmp_dir, name);
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_autoptr(GByteArray) l = g_byte_array_new ();
  guint8 h[16];
  g_autoptr(GError) error = NULL;

  put_be32 (h, 0x803);
  put_be32 (h + 4, n);
  put_be32 (h + 8, rows);
  put_be32 (h + 12, cols);
  g_byte_array_append (b, h, 16);
  put_be32 (h, 0x801);
  g_byte_array_append (l, h, 8);
  for (guint32 k = 0; k < n; k++)
    {
      guint8 lab = k % 10;
      g_byte_array_append (l, &lab, 1);
      for (guint32 i = 0; i < rows * cols; i++)
        {
          guint8 v = (k * 7 + i * 3) % 256;
          g_byte_array_append (b, &v, 1);
        }
    }
  g_file_set_contents (path, (char *) b->data, b->len, &error);
  g_assert_no_error (error);
  g_file_set_contents (lpath, (char *) l->data, l->len, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static SomDataset *
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  SomDataset *ds = som_dataset_open (path, NULL, NULL, &error);

  g_assert_no_error (error);
  return ds;
}

static void
test_parse (void)
{
  g_autoptr(GError) error = NULL;
  guint h = 0, w = 0, n = 0;
  float v[3];

  g_assert_true (som_preprocess_parse_resize ("32x48", &h, &w, &error));
  g_assert_cmpuint (h, ==, 32);
  g_assert_cmpuint (w, ==, 48);
  g_assert_true (som_preprocess_parse_resize ("224", &h, &w, &error));
  g_assert_cmpuint (w, ==, 224);
  g_assert_no_error (error);
  g_assert_false (som_preprocess_parse_resize ("32x", &h, &w, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (som_preprocess_parse_resize ("0x5", &h, &w, &error));
  g_clear_error (&error);
  g_assert_false (som_preprocess_parse_resize ("-3x5", &h, &w, &error));
  g_clear_error (&error);

  g_assert_true (som_preprocess_parse_values ("0.286", "--mean", v, &n, &error));
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpfloat (v[0], ==, 0.286f);
  g_assert_true (som_preprocess_parse_values ("0.4914, 0.4822,0.4465", "--mean", v, &n, &error));
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpfloat (v[2], ==, 0.4465f);
  g_assert_false (som_preprocess_parse_values ("1,2", "--std", v, &n, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "--std"));
  g_clear_error (&error);
  g_assert_false (som_preprocess_parse_values ("nan", "--std", v, &n, &error));
  g_clear_error (&error);
  g_assert_false (som_preprocess_parse_values ("0.3x", "--std", v, &n, &error));
  g_clear_error (&error);
}

static void
test_pad (void)
{
  gsize shape[4] = { 2, 1, 2, 3 };
  g_autoptr(SomArray) a = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  g_autoptr(SomArray) p = NULL;
  float *f = a->data, *g;

  for (int i = 0; i < 12; i++)
    f[i] = i + 1;
  p = som_image_pad (a, 2);
  g_assert_cmpuint (p->shape[2], ==, 6);
  g_assert_cmpuint (p->shape[3], ==, 7);
  g = p->data;
  g_assert_cmpfloat (g[0], ==, 0);
  g_assert_cmpfloat (g[2 * 7 + 2], ==, 1);
  g_assert_cmpfloat (g[3 * 7 + 4], ==, 6);
  g_assert_cmpfloat (g[3 * 7 + 5], ==, 0);
  g_assert_cmpfloat (g[42 + 2 * 7 + 2], ==, 7);
  g_assert_cmpfloat (g[42 + 5 * 7 + 6], ==, 0);
}

/* Against torchvision's resize(antialias=False) (tools/make-resize-fixture.py). */
static void
test_resize_matches_torchvision (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "resize-fixture.npz", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomNpzReader) r = som_npz_reader_open (path, &error);
  guint cases = 0;

  g_assert_no_error (error);
  for (guint i = 0;; i++)
    {
      g_autofree char *in_name = g_strdup_printf ("input_%u", i);
      g_autofree char *out_name = g_strdup_printf ("output_%u", i);
      g_autoptr(SomArray) in = NULL;
      g_autoptr(SomArray) want = NULL;
      g_autoptr(SomArray) got = NULL;
      double max_err = 0;

      if (!som_npz_reader_has_array (r, in_name))
        break;
      in = som_npz_reader_read_array (r, in_name, &error);
      g_assert_no_error (error);
      want = som_npz_reader_read_array (r, out_name, &error);
      g_assert_no_error (error);
      got = som_image_resize_bilinear (in, want->shape[2], want->shape[3]);
      g_assert_cmpuint (got->shape[0], ==, want->shape[0]);
      g_assert_cmpuint (got->shape[1], ==, want->shape[1]);
      for (gsize k = 0; k < som_array_n_elements (want); k++)
        max_err = MAX (max_err, fabs (((float *) got->data)[k] - ((float *) want->data)[k]));
      g_test_message ("case %u: %zu×%zu → %zu×%zu, max |error| %.3g", i, in->shape[2], in->shape[3],
                      want->shape[2], want->shape[3], max_err);
      /* The same weights bit for bit; only PyTorch's fused multiply-adds may
       * round the sums differently (a unit in the last place, 6e-8 at 1). */
      g_assert_cmpfloat (max_err, <=, 2.5e-7);
      cases++;
    }
  g_assert_cmpuint (cases, ==, 7);
}

static void
test_grey_pad_normalize (void)
{
  g_autofree char *path = write_idx ("grey", 3, 28, 28);
  g_autoptr(SomDataset) ds = open_ok (path);
  g_autoptr(SomPreprocess) pp = NULL;
  g_autoptr(SomArray) pixels = NULL;
  g_autoptr(SomArray) input = NULL;
  g_autoptr(GError) error = NULL;
  SomPreprocessOptions opts = { .pad = 2, .n_mean = 1, .mean = { 0.286f }, .n_std = 1, .std = { 0.353f } };
  guint c, h, w;
  float mean[3], std[3];
  const float *p, *q;

  pp = som_preprocess_new (ds, &opts, 3, 32, 32, FALSE, &error);
  g_assert_no_error (error);
  som_preprocess_get_shape (pp, &c, &h, &w);
  g_assert_cmpuint (c, ==, 3);
  g_assert_cmpuint (h, ==, 32);
  g_assert_cmpuint (w, ==, 32);
  som_preprocess_get_normalization (pp, mean, std);
  g_assert_cmpfloat (mean[2], ==, 0.286f);
  g_assert_cmpfloat (std[1], ==, 0.353f);

  pixels = som_preprocess_read_pixels (pp, 1, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pixels->shape[0], ==, 2);
  g_assert_cmpuint (pixels->shape[1], ==, 3);
  p = pixels->data;
  /* Padding is zero in pixel space (before mean/std). */
  g_assert_cmpfloat (p[0], ==, 0.0f);
  /* Image 1, source pixel (0,0) = 7 lands at (2,2) in each channel. */
  for (int ch = 0; ch < 3; ch++)
    g_assert_cmpfloat (p[ch * 1024 + 2 * 32 + 2], ==, 7.0f / 255.0f);

  input = som_preprocess_read_model_input (pp, 1, 2, &error);
  g_assert_no_error (error);
  q = input->data;
  g_assert_cmpfloat (q[0], ==, (0.0f - 0.286f) / 0.353f);
  g_assert_cmpfloat (q[1024 + 2 * 32 + 2], ==, (7.0f / 255.0f - 0.286f) / 0.353f);
}

static void
expect_plan_error (SomDataset *ds, const SomPreprocessOptions *opts, guint c, guint h, guint w,
                   const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomPreprocess) pp = som_preprocess_new (ds, opts, c, h, w, FALSE, &error);

  g_assert_null (pp);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  if (strstr (error->message, fragment) == NULL)
    g_error ("expected \"%s\" in \"%s\"", fragment, error->message);
}

static void
test_mismatch_hints (void)
{
  g_autofree char *path = write_idx ("hint", 2, 28, 28);
  g_autoptr(SomDataset) ds = open_ok (path);
  SomPreprocessOptions none = { 0 };
  SomPreprocessOptions pad1 = { .pad = 1 };
  SomPreprocessOptions resize = { .resize_height = 30, .resize_width = 30 };
  SomPreprocessOptions mean3 = { .n_mean = 3, .mean = { 0.1f, 0.2f, 0.3f } };
  SomPreprocessOptions std0 = { .n_std = 1, .std = { 0.0f } };
  g_autoptr(GError) error = NULL;
  g_autoptr(SomPreprocess) pp = NULL;

  expect_plan_error (ds, &none, 3, 32, 32, "model wants 3×32×32, images are 1×28×28: try --pad 2");
  expect_plan_error (ds, &pad1, 3, 32, 32, "try --pad 2");
  expect_plan_error (ds, &none, 1, 24, 24, "try --resize 24x24");
  expect_plan_error (ds, &none, 1, 32, 40, "try --resize 32x40");
  expect_plan_error (ds, &resize, 1, 32, 32, "--resize gives 30×30: try --resize 32x32");
  expect_plan_error (ds, &mean3, 1, 28, 28, "--mean: three values for 1-channel images");
  expect_plan_error (ds, &std0, 1, 28, 28, "--std");

  /* The dataset path is named */
  expect_plan_error (ds, &none, 3, 32, 32, path);

  /* A resize that fixes it */
  pp = som_preprocess_new (ds, &resize, 1, 30, 30, FALSE, &error);
  g_assert_no_error (error);
  g_clear_pointer (&pp, som_preprocess_free);
  /* Dynamic height/width (0): anything goes */
  pp = som_preprocess_new (ds, &none, 1, 0, 0, FALSE, &error);
  g_assert_no_error (error);
  g_clear_pointer (&pp, som_preprocess_free);
  /* No model: images as they are after the flags */
  pp = som_preprocess_new (ds, &pad1, 0, 0, 0, FALSE, &error);
  g_assert_no_error (error);
  {
    guint c, h, w;
    som_preprocess_get_shape (pp, &c, &h, &w);
    g_assert_cmpuint (c, ==, 1);
    g_assert_cmpuint (h, ==, 30);
  }
}

static void
test_channels_last (void)
{
  g_autofree char *path = write_idx ("nhwc", 2, 4, 5);
  g_autoptr(SomDataset) ds = open_ok (path);
  g_autoptr(SomPreprocess) pp = NULL;
  g_autoptr(SomArray) nchw = NULL;
  g_autoptr(SomArray) nhwc = NULL;
  g_autoptr(GError) error = NULL;
  SomPreprocessOptions opts = { .n_mean = 3, .mean = { 0.1f, 0.2f, 0.3f } };

  pp = som_preprocess_new (ds, &opts, 3, 4, 5, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (som_preprocess_get_channels_last (pp));
  nchw = som_preprocess_read_pixels (pp, 0, 2, &error);
  g_assert_no_error (error);
  nhwc = som_preprocess_read_model_input (pp, 0, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (nhwc->shape[1], ==, 4);
  g_assert_cmpuint (nhwc->shape[2], ==, 5);
  g_assert_cmpuint (nhwc->shape[3], ==, 3);
  for (gsize n = 0; n < 2; n++)
    for (gsize c = 0; c < 3; c++)
      for (gsize y = 0; y < 4; y++)
        for (gsize x = 0; x < 5; x++)
          {
            float a = ((float *) nchw->data)[((n * 3 + c) * 4 + y) * 5 + x];
            float b = ((float *) nhwc->data)[((n * 4 + y) * 5 + x) * 3 + c];
            g_assert_cmpfloat (b, ==, a - opts.mean[c]);
          }
}

static void
test_folder_resized_to_model (void)
{
  g_autofree char *dir = g_build_filename (tmp_dir, "photos", "cls", NULL);
  g_autofree char *a = g_build_filename (dir, "a.png", NULL);
  g_autofree char *b = g_build_filename (dir, "b.png", NULL);
  g_autofree char *root = g_build_filename (tmp_dir, "photos", NULL);
  g_autoptr(GdkPixbuf) pa = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 7, 5);
  g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 3, 9);
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(SomPreprocess) pp = NULL;
  g_autoptr(SomPreprocess) grey = NULL;
  g_autoptr(SomArray) batch = NULL;
  g_autoptr(SomArray) one = NULL;
  g_autoptr(SomArray) ref = NULL;
  g_autoptr(GError) error = NULL;

  g_mkdir_with_parents (dir, 0755);
  gdk_pixbuf_fill (pa, 0x336699ff);
  gdk_pixbuf_fill (pb, 0x808080ff);
  gdk_pixbuf_save (pa, a, "png", &error, NULL);
  g_assert_no_error (error);
  gdk_pixbuf_save (pb, b, "png", &error, NULL);
  g_assert_no_error (error);

  ds = open_ok (root);
  /* Photos of any size come out at the model's size. */
  pp = som_preprocess_new (ds, NULL, 3, 6, 6, FALSE, &error);
  g_assert_no_error (error);
  batch = som_preprocess_read_pixels (pp, 0, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (batch->shape[2], ==, 6);
  g_assert_cmpuint (batch->shape[3], ==, 6);
  /* A flat colour stays that colour; alpha is dropped. */
  g_assert_cmpfloat_with_epsilon (((float *) batch->data)[0], 0x33 / 255.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (((float *) batch->data)[2 * 36 + 35], 0x99 / 255.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (((float *) batch->data)[108 + 50], 128 / 255.0f, 1e-6);

  /* The same as resizing the image by hand */
  one = som_dataset_read_image (ds, 1, &error);
  g_assert_no_error (error);
  ref = som_image_resize_bilinear (one, 6, 6);
  g_assert_cmpmem ((float *) batch->data + 108, 108 * sizeof (float), ref->data, 108 * sizeof (float));

  /* A grey model gets luma (ITU-R 601-2). */
  grey = som_preprocess_new (ds, NULL, 1, 4, 4, FALSE, &error);
  g_assert_no_error (error);
  g_clear_pointer (&batch, som_array_free);
  batch = som_preprocess_read_pixels (grey, 0, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (((float *) batch->data)[5],
                                  0.299f * 0x33 / 255.0f + 0.587f * 0x66 / 255.0f + 0.114f * 0x99 / 255.0f,
                                  1e-6);
}

static void
test_cifar_to_grey_model (void)
{
  g_autofree char *path = g_build_filename (tmp_dir, "c.bin", NULL);
  g_autofree guint8 *rec = g_malloc0 (3073);
  g_autoptr(SomDataset) ds = NULL;
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, (char *) rec, 3073, &error);
  g_assert_no_error (error);
  ds = open_ok (path);
  expect_plan_error (ds, NULL, 1, 32, 32, "the model wants 1 channel, the images have 3");
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("somscope-preprocess-XXXXXX", NULL);

  g_test_add_func ("/preprocess/parse", test_parse);
  g_test_add_func ("/preprocess/pad", test_pad);
  g_test_add_func ("/preprocess/resize-torchvision", test_resize_matches_torchvision);
  g_test_add_func ("/preprocess/grey-pad-normalize", test_grey_pad_normalize);
  g_test_add_func ("/preprocess/mismatch-hints", test_mismatch_hints);
  g_test_add_func ("/preprocess/channels-last", test_channels_last);
  g_test_add_func ("/preprocess/folder-resized", test_folder_resized_to_model);
  g_test_add_func ("/preprocess/cifar-to-grey", test_cifar_to_grey_model);

  ret = g_test_run ();
  rm_rf (tmp_dir);
  return ret;
}
