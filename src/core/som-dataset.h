/* som-dataset.h: labelled image datasets (IDX, CIFAR-10, image folders, ADV.npz)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "som-array.h"
#include "som-types.h"

G_BEGIN_DECLS

typedef enum
{
  SOM_DATASET_IDX,          /* MNIST-style IDX images, raw or .gz */
  SOM_DATASET_CIFAR,        /* CIFAR-10 binary batches */
  SOM_DATASET_FOLDER,       /* one subfolder per class, PNG/JPEG */
  SOM_DATASET_NPZ,          /* an ADV.npz written by `attack` */
} SomDatasetKind;

typedef struct
{
  const char *labels_path;       /* IDX labels file; NULL: the one beside the images */
  const char *class_names_path;  /* one name per line; NULL: the format's own names */
  gsize       limit;             /* 0: every image; else the first @limit (folders: round robin) */
} SomDatasetOptions;

/* A dataset opened from a path (contracts.md, "Datasets").  The images of IDX
 * and CIFAR files stay uint8 in memory, image folders are decoded when a batch
 * asks for them; floats exist only for the batch being read.  Immutable after
 * som_dataset_open(), so batches may be read from several threads at once. */
#define SOM_TYPE_DATASET (som_dataset_get_type ())
G_DECLARE_FINAL_TYPE (SomDataset, som_dataset, SOM, DATASET, GObject)

/* @path: an IDX images file (raw or .gz), a CIFAR-10 .bin batch, the
 * `cifar-10-batches-bin` folder (test_batch.bin; "FOLDER:train" for
 * data_batch_1…5.bin), an image folder, or an ADV.npz.  @options may be NULL.
 * Errors are SOM_ERROR_* (or G_IO_ERROR_CANCELLED) naming the file. */
SomDataset         *som_dataset_open             (const char              *path,
                                                  const SomDatasetOptions *options,
                                                  GCancellable            *cancellable,
                                                  GError                 **error);

const char         *som_dataset_get_path         (SomDataset *self);
SomDatasetKind      som_dataset_get_kind         (SomDataset *self);
const char         *som_dataset_kind_name        (SomDatasetKind kind);
gsize               som_dataset_get_count        (SomDataset *self);

/* The images' own shape (before preprocessing).  For an image folder, whose
 * images may differ in size, height and width are those of the first image and
 * som_dataset_has_uniform_size() is FALSE; channels is 3 (RGB). */
void                som_dataset_get_image_shape  (SomDataset *self,
                                                  guint      *channels,
                                                  guint      *height,
                                                  guint      *width);
gboolean            som_dataset_has_uniform_size (SomDataset *self);

/* Labels: NULL when none were found (then @labels_path explains in
 * som_dataset_get_labels_note()).  Owned by the dataset. */
gboolean            som_dataset_has_labels       (SomDataset *self);
const gint32       *som_dataset_get_labels       (SomDataset *self);
const char         *som_dataset_get_labels_path  (SomDataset *self);
/* Why labels are missing, e.g. "no labels file beside X (looked for Y)". */
const char         *som_dataset_get_labels_note  (SomDataset *self);
/* A GError (SOM_ERROR_INVALID) saying that the labels are missing and why;
 * for commands that need them. */
gboolean            som_dataset_require_labels   (SomDataset *self,
                                                  GError    **error);

/* Class names (never NULL; "0", "1", … when nothing better is known). */
guint               som_dataset_get_n_classes    (SomDataset *self);
const char * const *som_dataset_get_class_names  (SomDataset *self);

/* Reads images [start, start + n) at their own size as float32 in [0,1]:
 * N×C×H×W, except that for an image folder each image is returned by
 * som_dataset_read_image() since sizes may differ.  For image folders this
 * fails unless every image in the range has the size of the first one. */
SomArray           *som_dataset_read_batch       (SomDataset *self,
                                                  gsize       start,
                                                  gsize       n,
                                                  GError    **error);
/* One image, C×H×W float32 in [0,1] at its own size. */
SomArray           *som_dataset_read_image       (SomDataset *self,
                                                  gsize       index,
                                                  GError    **error);
/* The file an image came from (image folders; the dataset path otherwise). */
const char         *som_dataset_get_image_source (SomDataset *self,
                                                  gsize       index);

/* Fashion-MNIST's class names, in label order (10, static). */
const char * const *som_fashion_mnist_class_names (void);

G_END_DECLS
