/* som-preprocess.h: from dataset images to model inputs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "som-array.h"
#include "som-dataset.h"

G_BEGIN_DECLS

/* The user's preprocessing flags (contracts.md, "Datasets"). */
typedef struct
{
  guint  pad;                      /* zero padding on each side, pixel space */
  guint  resize_height;            /* 0: no --resize */
  guint  resize_width;
  guint  n_mean;                   /* 0, 1 or 3 values */
  float  mean[3];
  guint  n_std;                    /* 0, 1 or 3 values */
  float  std[3];
} SomPreprocessOptions;

/* "HxW" (or "S" for a square); SOM_ERROR_INVALID on anything else. */
gboolean  som_preprocess_parse_resize  (const char *text,
                                        guint      *height,
                                        guint      *width,
                                        GError    **error);
/* "M" or "M,M,M"; @flag names the option in the error ("--mean"). */
gboolean  som_preprocess_parse_values  (const char *text,
                                        const char *flag,
                                        float       values[3],
                                        guint      *n_values,
                                        GError    **error);

/* The resolved pipeline for one dataset and one model input:
 *   uint8 → [0,1]; grey → 3 channels (model wants 3); pad; resize;
 *   (pixel space ends here: attacks perturb these images)
 *   mean/std; channels-last layout when the model wants it. */
typedef struct _SomPreprocess SomPreprocess;

/* @model_channels/@model_height/@model_width: the model's image input (0 for
 * a size the model leaves open; all 0 when there is no model: the images
 * keep their channels and their size after pad/resize).  Image folders are
 * resized to the model's size unless --resize is given; IDX, CIFAR and npz
 * images are not, and a mismatch is an error naming the flag that fixes it. */
SomPreprocess *som_preprocess_new              (SomDataset                 *dataset,
                                                const SomPreprocessOptions *options,
                                                guint                       model_channels,
                                                guint                       model_height,
                                                guint                       model_width,
                                                gboolean                    channels_last,
                                                GError                    **error);
void           som_preprocess_free             (SomPreprocess *self);
SomDataset    *som_preprocess_get_dataset      (SomPreprocess *self);
const SomPreprocessOptions *som_preprocess_get_options (SomPreprocess *self);
/* The shape of one pixel-space image (C×H×W, after channels, pad and resize). */
void           som_preprocess_get_shape        (SomPreprocess *self,
                                                guint         *channels,
                                                guint         *height,
                                                guint         *width);
gboolean       som_preprocess_get_channels_last (SomPreprocess *self);
/* Per-channel mean and std as applied (1 and 0 when no flag was given);
 * @mean and @std hold the image's channel count. */
void           som_preprocess_get_normalization (SomPreprocess *self,
                                                 float          mean[3],
                                                 float          std[3]);

/* Pixel space: images [start, start + n) as N×C×H×W float32 in [0,1]. */
SomArray      *som_preprocess_read_pixels      (SomPreprocess *self,
                                                gsize          start,
                                                gsize          n,
                                                GError       **error);
/* Normalization, in place on an N×C×H×W batch: (x − mean[c]) / std[c]. */
void           som_preprocess_normalize        (SomPreprocess *self,
                                                SomArray      *batch);
/* The model's layout: N×H×W×C for channels-last models (a new array; the
 * batch is consumed), the batch itself otherwise. */
SomArray      *som_preprocess_to_model_layout  (SomPreprocess *self,
                                                SomArray      *batch);
/* All of the above: what to feed the model for images [start, start + n). */
SomArray      *som_preprocess_read_model_input (SomPreprocess *self,
                                                gsize          start,
                                                gsize          n,
                                                GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomPreprocess, som_preprocess_free)

/* The building blocks, on float32 N×C×H×W (or C×H×W) arrays. */
SomArray      *som_image_pad                   (const SomArray *images,
                                                guint           pad);
/* Bilinear, half-pixel centres, no antialiasing: PyTorch's
 * interpolate(mode="bilinear", align_corners=False) = torchvision's
 * resize(antialias=False). */
SomArray      *som_image_resize_bilinear       (const SomArray *images,
                                                guint           height,
                                                guint           width);

G_END_DECLS
