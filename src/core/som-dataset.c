/* som-dataset.c: IDX, CIFAR-10, image folders and ADV.npz as one dataset type
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <json-glib/json-glib.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "som-dataset.h"

#define CIFAR_RECORD 3073
#define CIFAR_SIDE   32
#define READ_CHUNK   (1 << 20)

struct _SomDataset
{
  GObject         parent_instance;

  /* owned */
  char           *path;
  SomDatasetKind  kind;
  gsize           count;
  guint           channels;
  guint           height;
  guint           width;
  gboolean        uniform;
  guint8         *pixels;        /* IDX, CIFAR: count × C×H×W bytes */
  SomArray       *fimages;       /* NPZ: N×C×H×W float32 in [0,1] */
  GPtrArray      *files;         /* FOLDER: one path per image, dataset order */
  gint32         *labels;        /* NULL when unknown */
  char           *labels_path;
  char           *labels_note;
  char          **class_names;
  guint           n_classes;
};

G_DEFINE_FINAL_TYPE (SomDataset, som_dataset, G_TYPE_OBJECT)

static const char * const fashion_names[] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot", NULL
};

const char * const *
som_fashion_mnist_class_names (void)
{
  return fashion_names;
}

static void
som_dataset_finalize (GObject *object)
{
  SomDataset *self = SOM_DATASET (object);

  g_free (self->path);
  g_free (self->pixels);
  g_clear_pointer (&self->fimages, som_array_free);
  g_clear_pointer (&self->files, g_ptr_array_unref);
  g_free (self->labels);
  g_free (self->labels_path);
  g_free (self->labels_note);
  g_strfreev (self->class_names);

  G_OBJECT_CLASS (som_dataset_parent_class)->finalize (object);
}

static void
som_dataset_class_init (SomDatasetClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = som_dataset_finalize;
}

static void
som_dataset_init (SomDataset *self)
{
}

/* ---- reading helpers ---------------------------------------------------- */

static gboolean
check_budget (const char *path, guint64 bytes, const char *what, GError **error)
{
  guint64 budget = som_memory_budget ();

  if (bytes > budget)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                   "%s: %s need %" G_GUINT64_FORMAT " bytes, beyond the memory budget of %"
                   G_GUINT64_FORMAT " bytes (SOMSCOPE_MEMORY_BUDGET)",
                   path, what, bytes, budget);
      return FALSE;
    }
  return TRUE;
}

static gboolean
has_gzip_magic (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) in = g_file_read (file, NULL, NULL);
  guint8 magic[2] = { 0, 0 };
  gsize n = 0;

  if (in == NULL)
    return FALSE;
  if (!g_input_stream_read_all (G_INPUT_STREAM (in), magic, 2, &n, NULL, NULL) || n != 2)
    return FALSE;
  return magic[0] == 0x1f && magic[1] == 0x8b;
}

/* An input stream over @path, gunzipping when the file is gzip.  Sets
 * *is_gz, *file_size (the size on disk) and, for gzip, *gz_isize (the
 * uncompressed size modulo 2^32 from the trailer). */
static GInputStream *
open_maybe_gz (const char *path,
               gboolean   *is_gz,
               guint64    *file_size,
               guint32    *gz_isize,
               GError    **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GFileInputStream) in = NULL;
  g_autoptr(GError) local = NULL;

  info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
                            G_FILE_QUERY_INFO_NONE, NULL, &local);
  if (info == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", path, local->message);
      return NULL;
    }
  if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: not a regular file", path);
      return NULL;
    }
  *file_size = g_file_info_get_size (info);
  *is_gz = has_gzip_magic (path);
  *gz_isize = 0;

  if (*is_gz)
    {
      guint8 trailer[4];
      gsize n = 0;

      if (*file_size < 18)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: truncated gzip file (%" G_GUINT64_FORMAT
                       " bytes)", path, *file_size);
          return NULL;
        }
      in = g_file_read (file, NULL, &local);
      if (in == NULL
          || !g_seekable_seek (G_SEEKABLE (in), *file_size - 4, G_SEEK_SET, NULL, &local)
          || !g_input_stream_read_all (G_INPUT_STREAM (in), trailer, 4, &n, NULL, &local)
          || n != 4)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", path,
                       local ? local->message : "cannot read the gzip trailer");
          return NULL;
        }
      *gz_isize = trailer[0] | (trailer[1] << 8) | (trailer[2] << 16) | ((guint32) trailer[3] << 24);
      if (!g_seekable_seek (G_SEEKABLE (in), 0, G_SEEK_SET, NULL, &local))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", path, local->message);
          return NULL;
        }
      {
        g_autoptr(GZlibDecompressor) dec = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
        return g_converter_input_stream_new (G_INPUT_STREAM (in), G_CONVERTER (dec));
      }
    }

  in = g_file_read (file, NULL, &local);
  if (in == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", path, local->message);
      return NULL;
    }
  return G_INPUT_STREAM (g_steal_pointer (&in));
}

/* Reads exactly @len bytes, in chunks so that cancelling is prompt. */
static gboolean
read_exact (GInputStream *in,
            const char   *path,
            gboolean      is_gz,
            guint8       *buf,
            gsize         len,
            GCancellable *cancellable,
            GError      **error)
{
  gsize done = 0;

  while (done < len)
    {
      gsize want = MIN (len - done, READ_CHUNK), got = 0;
      g_autoptr(GError) local = NULL;

      if (!g_input_stream_read_all (in, buf + done, want, &got, cancellable, &local))
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_propagate_error (error, g_steal_pointer (&local));
          else if (is_gz)
            g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                         "%s: truncated or corrupt gzip data after %" G_GSIZE_FORMAT " bytes (%s)",
                         path, done + got, local->message);
          else
            g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", path, local->message);
          return FALSE;
        }
      done += got;
      if (got < want)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                       "%s: truncated: the file ends after %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                       " bytes%s", path, done, len, is_gz ? " of uncompressed data" : "");
          return FALSE;
        }
    }
  return TRUE;
}

/* After the declared data: a gzip stream must end cleanly (its CRC is
 * checked at the end), a raw file was already checked by size. */
static gboolean
check_gz_end (GInputStream *in, const char *path, GCancellable *cancellable, GError **error)
{
  guint8 extra[16];
  gsize got = 0;
  g_autoptr(GError) local = NULL;

  if (!g_input_stream_read_all (in, extra, sizeof extra, &got, cancellable, &local))
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: corrupt gzip data (%s)", path,
                     local->message);
      return FALSE;
    }
  if (got != 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: more data than the header declares", path);
      return FALSE;
    }
  return TRUE;
}

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* The declared payload must match the file: exactly for raw files, modulo
 * 2^32 against the gzip trailer for .gz (so a wrong header or a truncated
 * file is caught before anything is allocated). */
static gboolean
check_declared_size (const char *path,
                     gboolean    is_gz,
                     guint64     file_size,
                     guint32     gz_isize,
                     guint64     header_len,
                     guint64     payload,
                     const char *what,
                     GError    **error)
{
  guint64 total = header_len + payload;

  if (!is_gz && total != file_size)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: the header declares %s (%" G_GUINT64_FORMAT " bytes with the header) but "
                   "the file has %" G_GUINT64_FORMAT " bytes%s",
                   path, what, total, file_size, total > file_size ? " (truncated?)" : "");
      return FALSE;
    }
  /* Deflate cannot compress better than about 1032:1. */
  if (is_gz && total / 1032 > file_size + 1024)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: the header declares %s (%" G_GUINT64_FORMAT " bytes), more than a gzip file of "
                   "%" G_GUINT64_FORMAT " bytes can hold", path, what, total, file_size);
      return FALSE;
    }
  if (is_gz && (guint32) total != gz_isize)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: the header declares %s (%" G_GUINT64_FORMAT " bytes with the header) but "
                   "the gzip trailer says %u bytes: the file is truncated or its header is wrong",
                   path, what, total, gz_isize);
      return FALSE;
    }
  return TRUE;
}

/* ---- IDX ----------------------------------------------------------------- */

static gboolean
read_idx_labels (SomDataset   *self,
                 const char   *path,
                 gsize         total_images,
                 GCancellable *cancellable,
                 GError      **error)
{
  g_autoptr(GInputStream) in = NULL;
  gboolean is_gz;
  guint64 file_size;
  guint32 isize;
  guint8 header[8];
  guint32 magic, n;
  g_autofree guint8 *raw = NULL;
  g_autofree char *what = NULL;

  in = open_maybe_gz (path, &is_gz, &file_size, &isize, error);
  if (in == NULL)
    return FALSE;
  if (!read_exact (in, path, is_gz, header, sizeof header, cancellable, error))
    return FALSE;
  magic = be32 (header);
  if (magic != 0x00000801)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: not an IDX labels file (magic 0x%08x, expected 0x00000801: unsigned bytes, 1 dimension)",
                   path, magic);
      return FALSE;
    }
  n = be32 (header + 4);
  what = g_strdup_printf ("%u labels", n);
  if (!check_declared_size (path, is_gz, file_size, isize, 8, n, what, error))
    return FALSE;
  if (n != total_images)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: %u labels for %" G_GSIZE_FORMAT " images in %s", path, n, total_images,
                   self->path);
      return FALSE;
    }
  if (!check_budget (path, (guint64) self->count * 5, "the labels", error))
    return FALSE;
  raw = g_malloc (MAX (self->count, 1));
  if (!read_exact (in, path, is_gz, raw, self->count, cancellable, error))
    return FALSE;
  if (self->count == n && is_gz && !check_gz_end (in, path, cancellable, error))
    return FALSE;
  self->labels = g_new (gint32, MAX (self->count, 1));
  for (gsize i = 0; i < self->count; i++)
    self->labels[i] = raw[i];
  self->labels_path = g_strdup (path);
  return TRUE;
}

/* "x/t10k-images-idx3-ubyte.gz" → candidates "x/t10k-labels-idx1-ubyte.gz",
 * "x/t10k-labels-idx1-ubyte"; NULL when the name has no "images-idx3". */
static char *
find_idx_labels (const char *images_path, char **note)
{
  g_autofree char *dir = g_path_get_dirname (images_path);
  g_autofree char *base = g_path_get_basename (images_path);
  static const char * const patterns[][2] = {
    { "images-idx3", "labels-idx1" },
    { "images.idx3", "labels.idx1" },
  };
  g_autofree char *lbase = NULL;
  g_autofree char *stem = NULL;
  g_autofree char *c1 = NULL;
  g_autofree char *c2 = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (patterns) && lbase == NULL; i++)
    {
      const char *hit = strstr (base, patterns[i][0]);
      if (hit != NULL)
        lbase = g_strdup_printf ("%.*s%s%s", (int) (hit - base), base, patterns[i][1],
                                 hit + strlen (patterns[i][0]));
    }
  if (lbase == NULL)
    {
      *note = g_strdup_printf ("%s: no labels (the name has no \"images-idx3\" to find the labels "
                               "file beside it; use --labels FILE)", images_path);
      return NULL;
    }
  stem = g_str_has_suffix (lbase, ".gz") ? g_strndup (lbase, strlen (lbase) - 3) : g_strdup (lbase);
  c1 = g_build_filename (dir, lbase, NULL);
  c2 = g_str_has_suffix (lbase, ".gz") ? g_build_filename (dir, stem, NULL)
                                       : g_strdup_printf ("%s.gz", c1);
  if (g_file_test (c1, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&c1);
  if (g_file_test (c2, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&c2);
  *note = g_strdup_printf ("%s: no labels (looked for %s and %s; use --labels FILE)",
                           images_path, c1, c2);
  return NULL;
}

static gboolean
open_idx (SomDataset              *self,
          const SomDatasetOptions *options,
          GCancellable            *cancellable,
          GError                 **error)
{
  const char *path = self->path;
  g_autoptr(GInputStream) in = NULL;
  gboolean is_gz;
  guint64 file_size, payload, image_bytes, keep;
  guint32 isize;
  guint8 header[16];
  guint32 magic, n, rows, cols;
  g_autofree char *what = NULL;
  g_autofree char *labels_path = NULL;

  in = open_maybe_gz (path, &is_gz, &file_size, &isize, error);
  if (in == NULL)
    return FALSE;
  if (file_size < (is_gz ? 18 : 16))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: too short for an IDX images file (%" G_GUINT64_FORMAT " bytes)", path, file_size);
      return FALSE;
    }
  if (!read_exact (in, path, is_gz, header, sizeof header, cancellable, error))
    return FALSE;
  magic = be32 (header);
  if (magic != 0x00000803)
    {
      if (magic == 0x00000801)
        g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                     "%s: this is an IDX labels file; give the images file", path);
      else
        g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                     "%s: not an IDX images file (magic 0x%08x, expected 0x00000803: unsigned bytes, "
                     "3 dimensions)", path, magic);
      return FALSE;
    }
  n = be32 (header + 4);
  rows = be32 (header + 8);
  cols = be32 (header + 12);
  if (rows == 0 || cols == 0 || rows > 65536 || cols > 65536)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: absurd image size %u×%u in the header",
                   path, rows, cols);
      return FALSE;
    }
  image_bytes = (guint64) rows * cols;
  payload = image_bytes * n; /* ≤ 2^32 · 2^32: no overflow */
  what = g_strdup_printf ("%u images of %u×%u", n, rows, cols);
  if (!check_declared_size (path, is_gz, file_size, isize, 16, payload, what, error))
    return FALSE;

  self->count = n;
  if (options->limit > 0 && options->limit < self->count)
    self->count = options->limit;
  self->channels = 1;
  self->height = rows;
  self->width = cols;
  self->uniform = TRUE;
  keep = image_bytes * self->count;
  if (!check_budget (path, keep, "the images", error))
    return FALSE;
  self->pixels = g_try_malloc (MAX (keep, 1));
  if (self->pixels == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: out of memory for %" G_GUINT64_FORMAT
                   " bytes of images", path, keep);
      return FALSE;
    }
  if (!read_exact (in, path, is_gz, self->pixels, keep, cancellable, error))
    return FALSE;
  if (self->count == n && is_gz && !check_gz_end (in, path, cancellable, error))
    return FALSE;

  if (options->labels_path != NULL)
    labels_path = g_strdup (options->labels_path);
  else
    labels_path = find_idx_labels (path, &self->labels_note);
  if (labels_path != NULL && !read_idx_labels (self, labels_path, n, cancellable, error))
    return FALSE;
  return TRUE;
}

/* ---- CIFAR-10 ------------------------------------------------------------ */

static gboolean
read_cifar_file (SomDataset   *self,
                 const char   *path,
                 gsize         max_records,
                 GByteArray   *pixels,
                 GArray       *labels,
                 GCancellable *cancellable,
                 GError      **error)
{
  g_autoptr(GInputStream) in = NULL;
  gboolean is_gz;
  guint64 file_size, n, take;
  guint32 isize;
  guint8 record[CIFAR_RECORD];

  in = open_maybe_gz (path, &is_gz, &file_size, &isize, error);
  if (in == NULL)
    return FALSE;
  if (is_gz)
    file_size = isize; /* good enough for files below 4 GiB, which CIFAR batches are */
  if (file_size == 0 || file_size % CIFAR_RECORD != 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: %" G_GUINT64_FORMAT " bytes is not a multiple of %d (a CIFAR-10 record: "
                   "1 label byte and 32×32×3 pixels)%s", path, file_size, CIFAR_RECORD,
                   file_size % 3074 == 0 && file_size > 0 ? "; CIFAR-100 files are not supported" : "");
      return FALSE;
    }
  n = file_size / CIFAR_RECORD;
  take = MIN (n, max_records);
  if (!check_budget (path, (guint64) (pixels->len + take * (CIFAR_RECORD - 1)), "the images", error))
    return FALSE;
  for (guint64 i = 0; i < take; i++)
    {
      if (!read_exact (in, path, is_gz, record, CIFAR_RECORD, cancellable, error))
        return FALSE;
      if (record[0] > 9)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                       "%s: record %" G_GUINT64_FORMAT " has label %u (CIFAR-10 labels are 0–9)",
                       path, i, record[0]);
          return FALSE;
        }
      g_byte_array_append (pixels, record + 1, CIFAR_RECORD - 1);
      {
        gint32 l = record[0];
        g_array_append_val (labels, l);
      }
    }
  return TRUE;
}

static char **
read_name_lines (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", path, local->message);
      return NULL;
    }
  if (len > (1 << 24) || !g_utf8_validate (text, len, NULL) || memchr (text, 0, len) != NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a UTF-8 text file of class names", path);
      return NULL;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    g_ptr_array_add (names, g_strdup (g_strstrip (lines[i])));
  /* Trailing empty lines are not classes. */
  while (names->len > 0 && *(char *) g_ptr_array_index (names, names->len - 1) == '\0')
    g_ptr_array_remove_index (names, names->len - 1);
  if (names->len == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: no class names in the file", path);
      return NULL;
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static gboolean
open_cifar (SomDataset              *self,
            const char * const      *files,
            const char              *meta_path,
            const SomDatasetOptions *options,
            GCancellable            *cancellable,
            GError                 **error)
{
  g_autoptr(GByteArray) pixels = g_byte_array_new ();
  g_autoptr(GArray) labels = g_array_new (FALSE, FALSE, sizeof (gint32));
  gsize max = options->limit > 0 ? options->limit : G_MAXSIZE;

  for (guint i = 0; files[i] != NULL && labels->len < max; i++)
    if (!read_cifar_file (self, files[i], max - labels->len, pixels, labels, cancellable, error))
      return FALSE;

  self->count = labels->len;
  self->channels = 3;
  self->height = CIFAR_SIDE;
  self->width = CIFAR_SIDE;
  self->uniform = TRUE;
  self->pixels = g_byte_array_steal (pixels, NULL);
  self->labels = (gint32 *) g_array_free (g_steal_pointer (&labels), FALSE);
  self->labels_path = g_strdup (self->path);
  if (meta_path != NULL && g_file_test (meta_path, G_FILE_TEST_IS_REGULAR))
    {
      self->class_names = read_name_lines (meta_path, error);
      if (self->class_names == NULL)
        return FALSE;
    }
  return TRUE;
}

/* ---- image folders -------------------------------------------------------- */

static gboolean
is_image_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return name[0] != '.'
         && (g_str_has_suffix (lower, ".png") || g_str_has_suffix (lower, ".jpg")
             || g_str_has_suffix (lower, ".jpeg"));
}

static int
compare_bytes (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static GPtrArray *
list_sorted (const char *dir_path, gboolean dirs, GError **error)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  dir = g_dir_open (dir_path, 0, &local);
  if (dir == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", dir_path, local->message);
      return NULL;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *full = g_build_filename (dir_path, name, NULL);

      if (name[0] == '.')
        continue;
      if (dirs ? g_file_test (full, G_FILE_TEST_IS_DIR)
               : (is_image_name (name) && g_file_test (full, G_FILE_TEST_IS_REGULAR)))
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_bytes);
  return g_steal_pointer (&names);
}

static gboolean has_png_or_jpeg_magic (const char *file);

static gboolean
open_folder (SomDataset              *self,
             const SomDatasetOptions *options,
             GCancellable            *cancellable,
             GError                 **error)
{
  g_autoptr(GPtrArray) classes = NULL;
  g_autoptr(GPtrArray) per_class = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GArray) labels = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autofree gsize *take = NULL;
  gsize total = 0, limit;
  int w = 0, h = 0;
  GdkPixbufFormat *format;

  classes = list_sorted (self->path, TRUE, error);
  if (classes == NULL)
    return FALSE;
  for (guint c = 0; c < classes->len; c++)
    {
      g_autofree char *sub = g_build_filename (self->path, g_ptr_array_index (classes, c), NULL);
      GPtrArray *files = list_sorted (sub, FALSE, error);

      if (files == NULL)
        return FALSE;
      g_ptr_array_add (per_class, files);
      total += files->len;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
    }
  if (total == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: no images (expected one subfolder per class holding PNG or JPEG files)",
                   self->path);
      return FALSE;
    }

  /* --limit takes the first files of each class in turn, so every class stays. */
  limit = options->limit > 0 ? MIN (options->limit, total) : total;
  take = g_new0 (gsize, classes->len);
  for (gsize got = 0; got < limit;)
    for (guint c = 0; c < classes->len && got < limit; c++)
      if (take[c] < ((GPtrArray *) g_ptr_array_index (per_class, c))->len)
        {
          take[c]++;
          got++;
        }

  self->files = g_ptr_array_new_with_free_func (g_free);
  for (guint c = 0; c < classes->len; c++)
    {
      GPtrArray *files = g_ptr_array_index (per_class, c);
      for (gsize i = 0; i < take[c]; i++)
        {
          gint32 label = c;
          g_ptr_array_add (self->files, g_build_filename (self->path, g_ptr_array_index (classes, c),
                                                          g_ptr_array_index (files, i), NULL));
          g_array_append_val (labels, label);
        }
    }
  self->count = self->files->len;
  self->labels = (gint32 *) g_array_free (g_steal_pointer (&labels), FALSE);
  self->labels_path = g_strdup (self->path);
  g_ptr_array_add (classes, NULL);
  self->class_names = (char **) g_ptr_array_free (g_steal_pointer (&classes), FALSE);
  /* Subfolder names are not freed by the array: the free func was g_free and
   * the data now belongs to class_names. */

  format = has_png_or_jpeg_magic (g_ptr_array_index (self->files, 0))
           ? gdk_pixbuf_get_file_info (g_ptr_array_index (self->files, 0), &w, &h) : NULL;
  if (format == NULL || w <= 0 || h <= 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a readable PNG or JPEG image",
                   (const char *) g_ptr_array_index (self->files, 0));
      return FALSE;
    }
  self->channels = 3;
  self->height = h;
  self->width = w;
  self->uniform = FALSE;
  return TRUE;
}

/* ---- ADV.npz -------------------------------------------------------------- */

static gboolean
open_npz (SomDataset              *self,
          const SomDatasetOptions *options,
          GCancellable            *cancellable,
          GError                 **error)
{
  g_autoptr(SomNpzReader) reader = NULL;
  g_autoptr(SomArray) images = NULL;
  g_autoptr(SomArray) f32 = NULL;
  gsize n, per_image;
  float *f;

  reader = som_npz_reader_open (self->path, error);
  if (reader == NULL)
    return FALSE;
  if (!som_npz_reader_has_array (reader, "images"))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: no \"images\" array (a dataset .npz is an ADV.npz written by `attack`)",
                   self->path);
      return FALSE;
    }
  images = som_npz_reader_read_array (reader, "images", error);
  if (images == NULL)
    return FALSE;
  if (images->ndim != 4 || (images->shape[1] != 1 && images->shape[1] != 3)
      || images->shape[2] == 0 || images->shape[3] == 0)
    {
      g_autofree char *s = som_array_shape_string (images);
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: images are %s, expected N×C×H×W with C = 1 or 3", self->path, s);
      return FALSE;
    }
  if (images->dtype == SOM_DTYPE_U8)
    {
      guint8 *p = images->data;
      f32 = som_array_to_f32 (images);
      f = f32->data;
      for (gsize i = 0; i < som_array_n_elements (images); i++)
        f[i] = p[i] / 255.0f;
    }
  else if (images->dtype == SOM_DTYPE_F32)
    f32 = g_steal_pointer (&images);
  else if (images->dtype == SOM_DTYPE_F64 || images->dtype == SOM_DTYPE_F16)
    f32 = som_array_to_f32 (images);
  else
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, "%s: images have dtype %s, expected float32",
                   self->path, som_dtype_name (images->dtype));
      return FALSE;
    }
  n = f32->shape[0];
  per_image = f32->shape[1] * f32->shape[2] * f32->shape[3];
  f = f32->data;
  for (gsize i = 0; i < n * per_image; i++)
    {
      if (!isfinite (f[i]))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_NONFINITE, "%s: image %" G_GSIZE_FORMAT
                       " has a non-finite pixel", self->path, i / per_image);
          return FALSE;
        }
      if (f[i] < 0.0f || f[i] > 1.0f)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: image %" G_GSIZE_FORMAT
                       " has a pixel %g outside [0,1]", self->path, i / per_image, f[i]);
          return FALSE;
        }
    }
  if (options->limit > 0 && options->limit < n)
    {
      f32->shape[0] = options->limit;
      n = options->limit;
    }
  self->count = n;
  self->channels = f32->shape[1];
  self->height = f32->shape[2];
  self->width = f32->shape[3];
  self->uniform = TRUE;
  self->fimages = g_steal_pointer (&f32);

  if (som_npz_reader_has_array (reader, "labels"))
    {
      g_autoptr(SomArray) l = som_npz_reader_read_array (reader, "labels", error);
      g_autoptr(SomArray) li = NULL;

      if (l == NULL)
        return FALSE;
      li = som_array_to_i32 (l, error);
      if (li == NULL)
        return FALSE;
      if (li->ndim != 1 || li->shape[0] < n || (options->limit == 0 && li->shape[0] != n))
        {
          g_autofree char *s = som_array_shape_string (li);
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: labels are %s for %" G_GSIZE_FORMAT
                       " images", self->path, s, n);
          return FALSE;
        }
      for (gsize i = 0; i < n; i++)
        if (((gint32 *) li->data)[i] < 0)
          {
            g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: label %" G_GSIZE_FORMAT " is negative",
                         self->path, i);
            return FALSE;
          }
      self->labels = g_memdup2 (li->data, MAX (n, 1) * sizeof (gint32));
      self->labels_path = g_strdup (self->path);
    }
  else
    self->labels_note = g_strdup_printf ("%s: no \"labels\" array", self->path);

  if (som_npz_reader_has_member (reader, "meta.json"))
    {
      g_autoptr(GBytes) meta = som_npz_reader_read_member (reader, "meta.json", NULL);
      g_autoptr(JsonParser) parser = json_parser_new ();
      gsize len = 0;
      const char *text = meta ? g_bytes_get_data (meta, &len) : NULL;

      /* Class names are a nicety: a meta.json without them is fine. */
      if (text != NULL && json_parser_load_from_data (parser, text, len, NULL)
          && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          JsonObject *o = json_node_get_object (json_parser_get_root (parser));
          JsonNode *names = json_object_get_member (o, "class_names");

          if (names != NULL && JSON_NODE_HOLDS_ARRAY (names))
            {
              JsonArray *a = json_node_get_array (names);
              guint len_a = json_array_get_length (a);
              gboolean ok = len_a > 0;

              for (guint i = 0; i < len_a && ok; i++)
                ok = JSON_NODE_HOLDS_VALUE (json_array_get_element (a, i))
                     && json_node_get_value_type (json_array_get_element (a, i)) == G_TYPE_STRING;
              if (ok)
                {
                  self->class_names = g_new0 (char *, len_a + 1);
                  for (guint i = 0; i < len_a; i++)
                    self->class_names[i] = g_strdup (json_array_get_string_element (a, i));
                }
            }
        }
    }
  return TRUE;
}

/* ---- opening ----------------------------------------------------------- */

static gboolean
path_contains_fashion (const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);

  return strstr (lower, "fashion") != NULL;
}

#define SOM_DATASET_MAX_CLASSES 65536

static gboolean
finish_class_names (SomDataset *self, const SomDatasetOptions *options, GError **error)
{
  gint32 max_label = -1;

  if (self->labels != NULL)
    for (gsize i = 0; i < self->count; i++)
      max_label = MAX (max_label, self->labels[i]);

  if (options->class_names_path != NULL)
    {
      g_strfreev (self->class_names);
      self->class_names = read_name_lines (options->class_names_path, error);
      if (self->class_names == NULL)
        return FALSE;
    }
  else if (self->class_names == NULL && path_contains_fashion (self->path))
    self->class_names = g_strdupv ((char **) fashion_names);

  if (self->class_names == NULL && max_label >= SOM_DATASET_MAX_CLASSES)
    {
      /* Names "0"…"N-1" are made for every class up to the largest label:
       * a stray huge label must not make billions of them. */
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: a label is %d, beyond the %d classes Somscope supports",
                   self->labels_path ? self->labels_path : self->path, max_label, SOM_DATASET_MAX_CLASSES);
      return FALSE;
    }
  if (self->class_names == NULL)
    {
      guint n = MAX (max_label + 1, 1);

      if (self->kind == SOM_DATASET_CIFAR)
        n = 10;
      self->class_names = g_new0 (char *, n + 1);
      for (guint i = 0; i < n; i++)
        self->class_names[i] = g_strdup_printf ("%u", i);
    }
  self->n_classes = g_strv_length (self->class_names);
  if (max_label >= (gint32) self->n_classes)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: %u class names, but the labels of %s go up to %d",
                   options->class_names_path ? options->class_names_path : self->path,
                   self->n_classes, self->labels_path ? self->labels_path : self->path, max_label);
      return FALSE;
    }
  return TRUE;
}

SomDataset *
som_dataset_open (const char              *path,
                  const SomDatasetOptions *options,
                  GCancellable            *cancellable,
                  GError                 **error)
{
  static const SomDatasetOptions defaults = { 0 };
  g_autoptr(SomDataset) self = NULL;
  g_autofree char *dir = NULL;
  gboolean train = FALSE;
  gboolean ok;

  g_return_val_if_fail (path != NULL, NULL);
  if (options == NULL)
    options = &defaults;

  self = g_object_new (SOM_TYPE_DATASET, NULL);
  self->path = g_strdup (path);

  /* "cifar-10-batches-bin:train" */
  if (!g_file_test (path, G_FILE_TEST_EXISTS) && g_str_has_suffix (path, ":train"))
    {
      dir = g_strndup (path, strlen (path) - strlen (":train"));
      train = TRUE;
    }
  else if (!g_file_test (path, G_FILE_TEST_EXISTS) && g_str_has_suffix (path, ":test"))
    dir = g_strndup (path, strlen (path) - strlen (":test"));
  else if (g_file_test (path, G_FILE_TEST_IS_DIR))
    dir = g_strdup (path);

  if (dir != NULL && !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: no such file or folder", path);
      return NULL;
    }

  if (dir != NULL)
    {
      g_autofree char *test_batch = g_build_filename (dir, "test_batch.bin", NULL);
      g_autofree char *batch1 = g_build_filename (dir, "data_batch_1.bin", NULL);
      g_autofree char *meta = g_build_filename (dir, "batches.meta.txt", NULL);

      if (g_file_test (test_batch, G_FILE_TEST_IS_REGULAR) || g_file_test (batch1, G_FILE_TEST_IS_REGULAR))
        {
          g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

          self->kind = SOM_DATASET_CIFAR;
          if (train)
            for (int i = 1; i <= 5; i++)
              {
                g_autofree char *name = g_strdup_printf ("data_batch_%d.bin", i);
                g_ptr_array_add (files, g_build_filename (dir, name, NULL));
              }
          else
            g_ptr_array_add (files, g_strdup (test_batch));
          g_ptr_array_add (files, NULL);
          ok = open_cifar (self, (const char * const *) files->pdata, meta, options, cancellable, error);
        }
      else if (train)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: \":train\" needs a cifar-10-batches-bin folder (data_batch_1…5.bin)", path);
          return NULL;
        }
      else
        {
          self->kind = SOM_DATASET_FOLDER;
          ok = open_folder (self, options, cancellable, error);
        }
    }
  else if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: no such file or folder", path);
      return NULL;
    }
  else if (g_str_has_suffix (path, ".npz"))
    {
      self->kind = SOM_DATASET_NPZ;
      ok = open_npz (self, options, cancellable, error);
    }
  else if (g_str_has_suffix (path, ".bin") || g_str_has_suffix (path, ".bin.gz"))
    {
      g_autofree char *d = g_path_get_dirname (path);
      g_autofree char *meta = g_build_filename (d, "batches.meta.txt", NULL);
      const char *files[] = { path, NULL };

      self->kind = SOM_DATASET_CIFAR;
      ok = open_cifar (self, files, meta, options, cancellable, error);
    }
  else
    {
      self->kind = SOM_DATASET_IDX;
      ok = open_idx (self, options, cancellable, error);
    }

  if (!ok)
    return NULL;
  if (options->labels_path != NULL && self->kind != SOM_DATASET_IDX)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: --labels applies to IDX files only (a %s dataset carries its own labels)",
                   options->labels_path, som_dataset_kind_name (self->kind));
      return NULL;
    }
  if (self->count == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the dataset holds no images", path);
      return NULL;
    }
  if (!finish_class_names (self, options, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* ---- accessors ---------------------------------------------------------- */

const char *
som_dataset_get_path (SomDataset *self)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), NULL);
  return self->path;
}

SomDatasetKind
som_dataset_get_kind (SomDataset *self)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), SOM_DATASET_IDX);
  return self->kind;
}

const char *
som_dataset_kind_name (SomDatasetKind kind)
{
  switch (kind)
    {
    case SOM_DATASET_IDX: return "IDX";
    case SOM_DATASET_CIFAR: return "CIFAR-10";
    case SOM_DATASET_FOLDER: return "image folder";
    case SOM_DATASET_NPZ: return "npz";
    default: return "unknown";
    }
}

gsize
som_dataset_get_count (SomDataset *self)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), 0);
  return self->count;
}

void
som_dataset_get_image_shape (SomDataset *self, guint *channels, guint *height, guint *width)
{
  g_return_if_fail (SOM_IS_DATASET (self));
  if (channels)
    *channels = self->channels;
  if (height)
    *height = self->height;
  if (width)
    *width = self->width;
}

gboolean
som_dataset_has_uniform_size (SomDataset *self)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), FALSE);
  return self->uniform;
}

gboolean
som_dataset_has_labels (SomDataset *self)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), FALSE);
  return self->labels != NULL;
}

const gint32 *
som_dataset_get_labels (SomDataset *self)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), NULL);
  return self->labels;
}

const char *
som_dataset_get_labels_path (SomDataset *self)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), NULL);
  return self->labels_path;
}

const char *
som_dataset_get_labels_note (SomDataset *self)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), NULL);
  return self->labels_note;
}

gboolean
som_dataset_require_labels (SomDataset *self, GError **error)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), FALSE);
  if (self->labels != NULL)
    return TRUE;
  if (self->labels_note != NULL)
    g_set_error_literal (error, SOM_ERROR, SOM_ERROR_INVALID, self->labels_note);
  else
    g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: no labels", self->path);
  return FALSE;
}

guint
som_dataset_get_n_classes (SomDataset *self)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), 0);
  return self->n_classes;
}

const char * const *
som_dataset_get_class_names (SomDataset *self)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), NULL);
  return (const char * const *) self->class_names;
}

const char *
som_dataset_get_image_source (SomDataset *self, gsize index)
{
  g_return_val_if_fail (SOM_IS_DATASET (self), NULL);
  if (self->files != NULL && index < self->files->len)
    return g_ptr_array_index (self->files, index);
  return self->path;
}

/* ---- pixels ----------------------------------------------------------------- */

/* torchvision's ToTensor divides by 255 (not multiplies by 1/255): same here,
 * so images are bit-identical to PyTorch's. */
static float u8_values[256];
static pthread_once_t u8_once = PTHREAD_ONCE_INIT;

static void
make_u8_table (void)
{
  for (int i = 0; i < 256; i++)
    u8_values[i] = (float) i / 255.0f;
}

/* pthread_once rather than g_once, which ThreadSanitizer cannot see through
 * (som-ops-nn.c, get_pool). */
static const float *
u8_table (void)
{
  pthread_once (&u8_once, make_u8_table);
  return u8_values;
}

/* PNG or JPEG by their signatures, read before any gdk-pixbuf loader sees
 * the file: gdk-pixbuf picks a loader from the content, and some loaders
 * (ICO) allocate gigabytes from a header even when only asked for the size. */
static gboolean
has_png_or_jpeg_magic (const char *file)
{
  guint8 head[8] = { 0 };
  FILE *f = fopen (file, "rb");
  gsize got;

  if (f == NULL)
    return FALSE;
  got = fread (head, 1, sizeof head, f);
  fclose (f);
  return (got == 8 && memcmp (head, "\x89PNG\r\n\x1a\n", 8) == 0)
         || (got >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff);
}

static SomArray *
decode_file (const char *file, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  const float *table = u8_table ();
  gsize shape[3];
  SomArray *out;
  const guint8 *px;
  float *f;
  int w, h, stride, nc;
  GdkPixbufFormat *format;
  g_autofree char *format_name = NULL;

  /* Only PNG and JPEG (gdk-pixbuf sniffs the content and would hand anything
   * to any loader it has), and only sizes within the memory budget: the
   * header is read first, so a small file declaring a huge image is refused
   * before gdk-pixbuf allocates its pixels (4 bytes per pixel at most) and
   * we our float32 copy (12). */
  if (!has_png_or_jpeg_magic (file))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a PNG or JPEG image", file);
      return NULL;
    }
  format = gdk_pixbuf_get_file_info (file, &w, &h);
  if (format != NULL)
    format_name = gdk_pixbuf_format_get_name (format);
  if (format == NULL || w <= 0 || h <= 0
      || !(g_str_equal (format_name, "png") || g_str_equal (format_name, "jpeg")))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a readable PNG or JPEG image%s%s%s", file,
                   format_name != NULL ? " (it is " : "", format_name != NULL ? format_name : "",
                   format_name != NULL ? ")" : "");
      return NULL;
    }
  if ((guint64) w * (guint64) h * 16 > som_memory_budget ())
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                   "%s: a %d×%d image is beyond the memory budget of %" G_GUINT64_FORMAT
                   " bytes (SOMSCOPE_MEMORY_BUDGET)", file, w, h, som_memory_budget ());
      return NULL;
    }
  pixbuf = gdk_pixbuf_new_from_file (file, &local);
  if (pixbuf == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: unreadable image (%s)", file, local->message);
      return NULL;
    }
  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB || gdk_pixbuf_get_bits_per_sample (pixbuf) != 8)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, "%s: unsupported pixel format", file);
      return NULL;
    }
  w = gdk_pixbuf_get_width (pixbuf);
  h = gdk_pixbuf_get_height (pixbuf);
  stride = gdk_pixbuf_get_rowstride (pixbuf);
  nc = gdk_pixbuf_get_n_channels (pixbuf);
  shape[0] = 3;
  shape[1] = h;
  shape[2] = w;
  out = som_array_new (SOM_DTYPE_F32, 3, shape, &local);
  if (out == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: %s", file, local->message);
      return NULL;
    }
  px = gdk_pixbuf_read_pixels (pixbuf);
  f = out->data;
  /* Alpha is dropped, as PIL's convert("RGB") does. */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        f[((gsize) c * h + y) * w + x] = table[px[(gsize) y * stride + (gsize) x * nc + c]];
  return out;
}

SomArray *
som_dataset_read_image (SomDataset *self, gsize index, GError **error)
{
  gsize shape[3] = { self->channels, self->height, self->width };
  gsize per;
  SomArray *out;

  g_return_val_if_fail (SOM_IS_DATASET (self), NULL);
  if (index >= self->count)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: image %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                   " requested", self->path, index, self->count);
      return NULL;
    }
  if (self->files != NULL)
    return decode_file (g_ptr_array_index (self->files, index), error);

  per = shape[0] * shape[1] * shape[2];
  out = som_array_new (SOM_DTYPE_F32, 3, shape, error);
  if (out == NULL)
    return NULL;
  if (self->fimages != NULL)
    memcpy (out->data, (float *) self->fimages->data + index * per, per * sizeof (float));
  else
    {
      const float *table = u8_table ();
      const guint8 *p = self->pixels + index * per;
      float *f = out->data;
      for (gsize i = 0; i < per; i++)
        f[i] = table[p[i]];
    }
  return out;
}

SomArray *
som_dataset_read_batch (SomDataset *self, gsize start, gsize n, GError **error)
{
  gsize shape[4] = { n, self->channels, self->height, self->width };
  gsize per = (gsize) self->channels * self->height * self->width;
  g_autoptr(SomArray) out = NULL;
  float *f;

  g_return_val_if_fail (SOM_IS_DATASET (self), NULL);
  if (start > self->count || n > self->count - start)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: images %" G_GSIZE_FORMAT "…%" G_GSIZE_FORMAT
                   " requested of %" G_GSIZE_FORMAT, self->path, start, start + n, self->count);
      return NULL;
    }
  out = som_array_new (SOM_DTYPE_F32, 4, shape, error);
  if (out == NULL)
    return NULL;
  f = out->data;
  if (self->files != NULL)
    {
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(SomArray) img = decode_file (g_ptr_array_index (self->files, start + i), error);

          if (img == NULL)
            return NULL;
          if (img->shape[1] != self->height || img->shape[2] != self->width)
            {
              g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                           "%s: image is %" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT ", the first one %u×%u "
                           "(give --resize HxW to bring them to one size)",
                           (const char *) g_ptr_array_index (self->files, start + i),
                           img->shape[1], img->shape[2], self->height, self->width);
              return NULL;
            }
          memcpy (f + i * per, img->data, per * sizeof (float));
        }
    }
  else if (self->fimages != NULL)
    memcpy (f, (float *) self->fimages->data + start * per, n * per * sizeof (float));
  else
    {
      const float *table = u8_table ();
      const guint8 *p = self->pixels + start * per;
      for (gsize i = 0; i < n * per; i++)
        f[i] = table[p[i]];
    }
  return g_steal_pointer (&out);
}
