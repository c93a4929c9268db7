/* som-array.h: n-dimensional arrays and the numpy .npy/.npz formats
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SOM_ARRAY_MAX_DIMS 8

typedef enum
{
  SOM_DTYPE_F32,
  SOM_DTYPE_F64,
  SOM_DTYPE_I32,
  SOM_DTYPE_I64,
  SOM_DTYPE_U8,
  SOM_DTYPE_I8,
  SOM_DTYPE_BOOL,
  SOM_DTYPE_U16,
  SOM_DTYPE_I16,
  SOM_DTYPE_U32,
  SOM_DTYPE_U64,
  SOM_DTYPE_F16,
} SomDType;

/* A dense, C-ordered array that owns its data (64-byte aligned). */
typedef struct
{
  SomDType dtype;
  guint    ndim;
  gsize    shape[SOM_ARRAY_MAX_DIMS];
  gpointer data;
} SomArray;

gsize     som_dtype_size               (SomDType dtype);
const char *som_dtype_name             (SomDType dtype);

/* Zero-filled; NULL with an error when the size overflows or exceeds the
 * memory budget. */
SomArray *som_array_new                (SomDType     dtype,
                                        guint        ndim,
                                        const gsize *shape,
                                        GError     **error);
SomArray *som_array_new_2d_f32         (gsize        rows,
                                        gsize        cols);
SomArray *som_array_new_1d_i32         (gsize        n);
SomArray *som_array_copy               (const SomArray *array);
/* Rows [@start, @start + @n) of @array along its first axis, as a new array. */
SomArray *som_array_slice_rows         (const SomArray *array,
                                        gsize           start,
                                        gsize           n);
void      som_array_free               (SomArray    *array);
gsize     som_array_n_elements         (const SomArray *array);
gsize     som_array_n_bytes            (const SomArray *array);
/* Converts any numeric array to a new float32 (or int32) array. */
SomArray *som_array_to_f32             (const SomArray *array);
SomArray *som_array_to_i32             (const SomArray *array,
                                        GError        **error);
char     *som_array_shape_string       (const SomArray *array);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomArray, som_array_free)

/* .npy: version 1.0 (2.0 when the header needs it); little-endian only.
 * @name is used in error messages (a path, or "FILE.npz:member"). */
SomArray *som_npy_parse                (const guint8 *data,
                                        gsize         len,
                                        const char   *name,
                                        GError      **error);
/* Only the header: dtype, shape and where the data starts; checks that the
 * shape does not overflow (not that the data is all there). */
gboolean  som_npy_parse_header         (const guint8 *data,
                                        gsize         len,
                                        const char   *name,
                                        SomDType     *dtype,
                                        guint        *ndim,
                                        gsize        *shape,
                                        gsize        *data_offset,
                                        GError      **error);
GBytes   *som_npy_serialize            (const SomArray *array);
SomArray *som_npy_load                 (const char  *path,
                                        GError     **error);
gboolean  som_npy_save                 (const char     *path,
                                        const SomArray *array,
                                        GError        **error);

/* .npz: a zip of .npy members (and of other members, e.g. "meta.json").
 * The writer builds a temporary file beside the target and renames it over
 * the target on close; freeing an unclosed writer removes the temporary. */
typedef struct _SomNpzWriter SomNpzWriter;

SomNpzWriter *som_npz_writer_new       (const char  *path,
                                        gboolean     compress,
                                        GError     **error);
/* @name is the array name without ".npy" (e.g. "codebook", "layer_007/hits") */
/* Deflate the members added from now on (or store them). */
void      som_npz_writer_set_compress  (SomNpzWriter   *writer,
                                        gboolean        compress);
/* Deflate level 1 (fastest) … 9 (smallest); 0 = libzip's default. */
void      som_npz_writer_set_compression_level (SomNpzWriter *writer,
                                        guint           level);
gboolean  som_npz_writer_add_array     (SomNpzWriter   *writer,
                                        const char     *name,
                                        const SomArray *array,
                                        GError        **error);
/* @member is the full member name (e.g. "meta.json") */
gboolean  som_npz_writer_add_bytes     (SomNpzWriter *writer,
                                        const char   *member,
                                        GBytes       *bytes,
                                        GError      **error);
gboolean  som_npz_writer_add_string    (SomNpzWriter *writer,
                                        const char   *member,
                                        const char   *text,
                                        GError      **error);
gboolean  som_npz_writer_close         (SomNpzWriter *writer,
                                        GError      **error);
void      som_npz_writer_free          (SomNpzWriter *writer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomNpzWriter, som_npz_writer_free)

typedef struct _SomNpzReader SomNpzReader;

SomNpzReader *som_npz_reader_open      (const char  *path,
                                        GError     **error);
const char *som_npz_reader_get_path    (SomNpzReader *reader);
/* Member names as stored (with ".npy"); NULL-terminated, owned by the reader. */
const char * const *som_npz_reader_list_members (SomNpzReader *reader);
/* Array names (members ending in ".npy", without the suffix); free with g_strfreev. */
char    **som_npz_reader_list_arrays   (SomNpzReader *reader);
gboolean  som_npz_reader_has_array     (SomNpzReader *reader,
                                        const char   *name);
gboolean  som_npz_reader_has_member    (SomNpzReader *reader,
                                        const char   *member);
/* The sizes a member declares (uncompressed, compressed), before reading it. */
gboolean  som_npz_reader_stat_member   (SomNpzReader *reader,
                                        const char   *member,
                                        guint64      *size,
                                        guint64      *comp_size,
                                        GError      **error);
/* Reads only an array's .npy header (at most ~1 MiB): dtype and shape, and
 * checks that the member's size matches them. */
gboolean  som_npz_reader_read_array_header (SomNpzReader *reader,
                                        const char   *name,
                                        SomDType     *dtype,
                                        guint        *ndim,
                                        gsize        *shape,
                                        GError      **error);
SomArray *som_npz_reader_read_array    (SomNpzReader *reader,
                                        const char   *name,
                                        GError      **error);
GBytes   *som_npz_reader_read_member   (SomNpzReader *reader,
                                        const char   *member,
                                        GError      **error);
void      som_npz_reader_free          (SomNpzReader *reader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomNpzReader, som_npz_reader_free)

/* "X.npy" or "FILE.npz:member": the array a CLI argument names. */
SomArray *som_array_load_spec          (const char  *spec,
                                        GError     **error);

G_END_DECLS
