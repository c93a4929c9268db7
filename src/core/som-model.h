/* som-model.h: an ONNX model, its layers, and the executor with layer taps
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "som-array.h"
#include "som-types.h"

G_BEGIN_DECLS

/* A loaded ONNX graph.  Immutable after som_model_load(): one model may be run
 * from several threads at once (each run owns its intermediates).  It is a
 * GObject, so g_object_ref/unref and g_autoptr(SomModel) work. */
#define SOM_TYPE_MODEL (som_model_get_type ())
G_DECLARE_FINAL_TYPE (SomModel, som_model, SOM, MODEL, GObject)

/* A graph input or output.  shape[i] is -1 where the size is dynamic (the
 * batch dimension) or unknown. */
typedef struct
{
  const char *name;
  SomDType    dtype;               /* SOM_DTYPE_F32 or SOM_DTYPE_I64 */
  guint       ndim;
  gint64      shape[SOM_ARRAY_MAX_DIMS];
} SomValueInfo;

/* A layer is one node output (contracts.md, "Layers").  Owned by the model. */
typedef struct
{
  guint        index;              /* 0-based over all node outputs, graph order */
  const char  *name;               /* the ONNX value name */
  const char  *op;                 /* op_type of the producing node, e.g. "Conv" */
  const char  *node_name;          /* the node's name ("" when the file has none) */
  guint        node_index;         /* the producing node, in topological order */
  guint        output_index;       /* which output of that node */
  SomDType     dtype;              /* SOM_DTYPE_F32 or SOM_DTYPE_I64 */
  guint        ndim;
  gint64       shape[SOM_ARRAY_MAX_DIMS]; /* -1 = batch (dynamic) or unknown */
  guint64      params;             /* weights the node owns (initializers it reads);
                                    * counted on the node's first output only */
  guint64      flops;              /* per image; a multiply-add counts 2 */
  gboolean     default_tap;        /* offered first (contracts.md, "Default taps") */
  gboolean     shape_arith;        /* int64, or computed only from shapes/initializers */
  gboolean     is_graph_output;
} SomLayer;

/* Loading: a clear error (SOM_ERROR_CORRUPT, _UNSUPPORTED, _IO, _TOO_LARGE)
 * naming the file.  A model with an operator the executor lacks still loads
 * (so `inspect` can show it); som_model_check_runnable() and every run report
 * the op, its node, the opset and the supported list. */
SomModel          *som_model_load                 (const char    *path,
                                                   GError       **error);
SomModel          *som_model_load_from_bytes      (GBytes        *bytes,
                                                   const char    *name_for_errors,
                                                   GError       **error);
gboolean           som_model_check_runnable       (SomModel      *model,
                                                   GError       **error);

const char        *som_model_get_path             (SomModel      *model);
/* Opset of a domain ("" is the default ONNX domain); 0 when not imported. */
gint64             som_model_get_opset            (SomModel      *model,
                                                   const char    *domain);
/* NULL-terminated domain names in import order, owned by the model. */
const char * const *som_model_get_opset_domains   (SomModel      *model);
const char        *som_model_get_producer         (SomModel      *model);

/* Graph inputs (initializers excluded) and outputs, in graph order. */
guint              som_model_get_n_inputs         (SomModel      *model);
const SomValueInfo *som_model_get_input           (SomModel      *model,
                                                   guint          i);
guint              som_model_get_n_outputs        (SomModel      *model);
const SomValueInfo *som_model_get_output          (SomModel      *model,
                                                   guint          i);

/* The image input: the single float32 graph input of rank 4 (N×C×H×W, or
 * N×H×W×C when *channels_last is set: a last dim of 1 or 3 with H, W > 4 and
 * a second dim that is not 1 or 3).  Otherwise an error saying what the input
 * is.  Out params may be NULL. */
gboolean           som_model_get_image_shape      (SomModel      *model,
                                                   guint         *channels,
                                                   guint         *height,
                                                   guint         *width,
                                                   gboolean      *channels_last,
                                                   GError       **error);

guint              som_model_get_n_layers         (SomModel      *model);
const SomLayer    *som_model_get_layer            (SomModel      *model,
                                                   guint          index);
/* By value name or by index ("7", "007", "layer_007"); unknown: an error
 * (SOM_ERROR_INVALID) listing the closest names. */
const SomLayer    *som_model_find_layer           (SomModel      *model,
                                                   const char    *name_or_index,
                                                   GError       **error);
/* Layer indices of the default taps, in graph order. */
GArray            *som_model_get_default_taps     (SomModel      *model);
/* Resolves CLI layer arguments: each spec is a name, an index, a comma list
 * of those, "all" (every layer that is not shape arithmetic) or "default".
 * Returns a GArray of guint, graph order kept as given, duplicates dropped. */
GArray            *som_model_resolve_layers       (SomModel      *model,
                                                   const char * const *specs,
                                                   GError       **error);
/* "layer_007": the member name of a layer in .npz files and sessions. */
char              *som_layer_member_name          (guint          index);
/* A label for places where the full value name does not fit: PyTorch names
 * values after their module path and op ("/layer1/layer1.0/relu1/Relu_output_0"),
 * and the last two modules ("layer1.0/relu1") say the same.  @op may be NULL. */
char              *som_layer_short_name           (const char    *name,
                                                   const char    *op);
guint64            som_model_get_flops_per_image  (SomModel      *model);
guint64            som_model_get_n_params         (SomModel      *model);

/* The ops the executor supports, NULL-terminated, sorted (static). */
const char * const *som_model_supported_ops       (void);

/* Runs the graph on a batch.
 * @inputs: one array per graph input, in graph order; float32 for float
 *   inputs (N first), int64 where the graph wants int64.
 * @taps: layer indices whose values to return (NULL/0: none).
 * @outputs: (out) (optional): a GPtrArray of SomArray*, one per graph output,
 *   with its free func set.  Pass NULL when only taps are wanted (saves memory).
 * @tap_values: (out) (optional): a GPtrArray of SomArray*, one per tap.
 * Intermediates are freed as soon as their last consumer ran.  BLAS threads
 * are the process's OpenBLAS setting.  Cancelling stops between nodes with
 * G_IO_ERROR_CANCELLED. */
gboolean           som_model_run                  (SomModel       *model,
                                                   const SomArray * const *inputs,
                                                   guint           n_inputs,
                                                   const guint    *taps,
                                                   guint           n_taps,
                                                   GPtrArray     **outputs,
                                                   GPtrArray     **tap_values,
                                                   GCancellable   *cancellable,
                                                   GError        **error);

/* For image classifiers: @images is N×C×H×W float32 (already preprocessed, in
 * the layout of som_model_get_image_shape(); channels-last models get
 * N×H×W×C).  Returns graph output 0 (the logits, N×K) and, when @tap_values
 * is given, one SomArray per tap. */
SomArray          *som_model_run_images           (SomModel       *model,
                                                   const SomArray *images,
                                                   const guint    *taps,
                                                   guint           n_taps,
                                                   GPtrArray     **tap_values,
                                                   GCancellable   *cancellable,
                                                   GError        **error);

/* Like som_model_run_images(), for taps wanted as codes: each tap is reduced
 * as soon as its node has run, to N×C channel means (mean over every
 * dimension after the channels, in double) or, for an N×D value, taken as
 * it is (float32).  The tap itself is then freed after its last consumer, so
 * a pass holds only the activations still to be consumed, not every tap.
 * @means: (out): a GPtrArray of SomArray*, one per tap. */
SomArray          *som_model_run_images_means     (SomModel       *model,
                                                   const SomArray *images,
                                                   const guint    *taps,
                                                   guint           n_taps,
                                                   GPtrArray     **means,
                                                   GCancellable   *cancellable,
                                                   GError        **error);

/* An ONNX TensorProto file (.pb, as in ONNX's test data) as a SomArray
 * (float32, float64 → float32, int64, int32, bool, uint8 kept). */
SomArray          *som_onnx_tensor_load           (const char    *path,
                                                   char         **name_out,
                                                   GError       **error);

G_END_DECLS
