/* som-model-private.h: the graph IR, tensors and operator table shared by the
 * ONNX loader, the executor and the operators (and, later, gradients)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <string.h>

#include "som-model.h"

G_BEGIN_DECLS

/* A tensor inside the executor: float32, int64 or bool (one byte).  Views
 * (Reshape, Flatten, Identity…) share the data of @base.  Refcounted
 * atomically: constants are shared by concurrent runs. */
typedef struct _SomTensor SomTensor;
struct _SomTensor
{
  gatomicrefcount ref;
  SomDType        dtype;      /* SOM_DTYPE_F32, SOM_DTYPE_I64 or SOM_DTYPE_BOOL */
  guint           ndim;
  gint64          shape[SOM_ARRAY_MAX_DIMS];
  gsize           n;          /* number of elements */
  gpointer        data;       /* NULL while only the shape is known */
  SomTensor      *base;       /* owner of data for views, else NULL */
};

SomTensor *_som_tensor_new_shape    (SomDType      dtype,
                                     guint         ndim,
                                     const gint64 *shape);
/* Allocates t->data (not zeroed) unless already set; FALSE on budget. */
gboolean   _som_tensor_alloc        (SomTensor    *t,
                                     GError      **error);
SomTensor *_som_tensor_new          (SomDType      dtype,
                                     guint         ndim,
                                     const gint64 *shape,
                                     GError      **error);
SomTensor *_som_tensor_ref          (SomTensor    *t);
void       _som_tensor_unref        (SomTensor    *t);
SomTensor *_som_tensor_view         (SomTensor    *src,
                                     guint         ndim,
                                     const gint64 *shape);
SomTensor *_som_tensor_from_array   (const SomArray *a,
                                     GError      **error);
SomArray  *_som_tensor_to_array     (const SomTensor *t,
                                     GError      **error);
gsize      _som_dtype_size          (SomDType      dtype);
char      *_som_shape_string        (guint         ndim,
                                     const gint64 *shape);
gboolean   _som_tensor_equal        (const SomTensor *a,
                                     const SomTensor *b);
/* Reads a scalar or 1-element tensor as int64/double. */
gint64     _som_tensor_get_i64      (const SomTensor *t,
                                     gsize         i);
double     _som_tensor_get_f64      (const SomTensor *t,
                                     gsize         i);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomTensor, _som_tensor_unref)

/* Scratch and tensor memory, 64-byte aligned, through a cache of freed
 * buffers of the same size (som-tensor.c): no page faults batch after batch.
 * _som_buffer_alloc returns NULL only when @bytes is absurd. */
gpointer   _som_buffer_alloc        (gsize         bytes);
void       _som_buffer_free         (gpointer      p);
void       _som_buffer_cache_clear  (void);
/* Bytes of buffers in use (cached ones not counted) and their peak since
 * the last reset: a debug counter for tests. */
gsize      _som_buffer_live_bytes   (void);
gsize      _som_buffer_peak_bytes   (void);
void       _som_buffer_peak_reset   (void);

typedef struct
{
  char       *name;
  int         type;           /* ONNX AttributeProto.AttributeType */
  gint64      i;
  float       f;
  char       *s;
  gint64     *ints;
  guint       n_ints;
  float      *floats;
  guint       n_floats;
  SomTensor  *t;
} SomAttr;

typedef struct _SomNode SomNode;
typedef struct _SomOpDef SomOpDef;

struct _SomNode
{
  char        *op;
  char        *name;
  char        *domain;
  gint64       opset;         /* the opset of the node's domain */
  guint        n_in;
  int         *in;            /* value ids; -1 for an absent optional input */
  guint        n_out;
  int         *out;           /* value ids; -1 for an absent optional output */
  guint        n_attrs;
  SomAttr     *attrs;
  const SomOpDef *def;        /* NULL: unsupported */
  guint        index;         /* topological position */
  gboolean     folded;        /* every output is a load-time constant */
  /* Conv: weights prepared once for a faster kernel (Winograd; the direct
   * kernels' forward and input gradient), built on first use (set
   * atomically); freed with g_free.  Keep them last (_som_node_copy). */
  gpointer     kernel_cache;
  gpointer     direct_cache;
  gpointer     direct_grad_cache;
};

/* A copy of @src for running its operator on other inputs (the gradients):
 * everything but the kernel caches, which another thread may be setting and
 * which belong to the original's weights. */
static inline void
_som_node_copy (SomNode *dst, const SomNode *src)
{
  G_STATIC_ASSERT (G_STRUCT_OFFSET (SomNode, direct_grad_cache) + sizeof (gpointer) == sizeof (SomNode));
  memcpy (dst, src, G_STRUCT_OFFSET (SomNode, kernel_cache));
  dst->kernel_cache = NULL;
  dst->direct_cache = NULL;
  dst->direct_grad_cache = NULL;
}

typedef struct
{
  char       *name;
  SomDType    dtype;
  gboolean    known;          /* shape inference succeeded */
  guint       ndim;
  gint64      shape[SOM_ARRAY_MAX_DIMS];
  int         producer;       /* node index, or -1 */
  int         input_index;    /* graph input index, or -1 */
  SomTensor  *constant;       /* initializer or folded value */
  gboolean    data_dependent; /* depends on a graph input's values */
  int         layer;          /* layer index, or -1 */
} SomValue;

/* What an operator sees.  In shape inference, inputs may have data == NULL
 * (only the shape is known): shape() must then either work from shapes or
 * fail with SOM_ERROR_UNSUPPORTED "needs values". */
typedef struct
{
  SomModel     *model;
  SomNode      *node;
  SomTensor   **in;           /* n_in entries; NULL for an absent optional input */
  SomTensor   **out;          /* n_out entries; NULL for an absent optional output */
  guint         n_in;
  guint         n_out;
  const char   *file;         /* for error messages */
} SomOpCtx;

typedef enum
{
  SOM_OP_VIEW       = 1 << 0, /* output 0 is a view of input 0 (no compute) */
  SOM_OP_SHAPE_ONLY = 1 << 1, /* needs only input shapes (Shape, Size) */
  SOM_OP_INPLACE    = 1 << 2, /* elementwise: output 0 may overwrite input 0 of the same shape */
} SomOpFlags;

struct _SomOpDef
{
  const char *name;
  SomOpFlags  flags;
  /* Sets dtype, ndim and shape of every present output. */
  gboolean  (*shape)   (SomOpCtx *c, GError **error);
  /* Outputs are allocated (except views); fills them. */
  gboolean  (*compute) (SomOpCtx *c, GError **error);
};

const SomOpDef *_som_op_lookup      (const char   *op);
const char * const *_som_op_names   (void);

/* Attributes */
const SomAttr *_som_node_attr       (const SomNode *node,
                                     const char    *name);
gint64     _som_node_attr_int       (const SomNode *node,
                                     const char    *name,
                                     gint64         def);
float      _som_node_attr_float     (const SomNode *node,
                                     const char    *name,
                                     float          def);
const char *_som_node_attr_string   (const SomNode *node,
                                     const char    *name,
                                     const char    *def);
/* NULL when absent (then *n = 0) */
const gint64 *_som_node_attr_ints   (const SomNode *node,
                                     const char    *name,
                                     guint         *n);
const float *_som_node_attr_floats  (const SomNode *node,
                                     const char    *name,
                                     guint         *n);

/* "FILE: node NAME (Op): " prefix helper for errors */
void       _som_op_error            (SomOpCtx     *c,
                                     GError      **error,
                                     int           code,
                                     const char   *format,
                                     ...) G_GNUC_PRINTF (4, 5);

/* sgemm-backed helpers used by several operators (som-ops-linalg.c) */
void       _som_parallel_for        (gsize         n,
                                     gsize         grain,
                                     void        (*func) (gsize begin, gsize end, gpointer data),
                                     gpointer      data);
/* C_i = A_i · B_i (op(A) is M×K, op(B) K×N, C row-major with leading
 * dimension N) for i < @nbatch, the matrices at the given element offsets.
 * Products too small for OpenBLAS to thread (it runs those on the calling
 * thread) are spread over the op pool instead, whole products per thread:
 * each is the same single-threaded sgemm call either way. */
void       _som_sgemm_batch         (gboolean      trans_a,
                                     gboolean      trans_b,
                                     gsize         nbatch,
                                     gint64        M,
                                     gint64        N,
                                     gint64        K,
                                     const float  *a,
                                     const gint64 *a_off,
                                     const float  *b,
                                     const gint64 *b_off,
                                     float        *c,
                                     const gint64 *c_off);

/* The model's IR, for the executor and (later) gradients. */
guint      _som_model_get_n_nodes   (SomModel     *model);
SomNode   *_som_model_get_node      (SomModel     *model,
                                     guint         i);
SomValue  *_som_model_get_value     (SomModel     *model,
                                     int           id);
guint      _som_model_get_n_values  (SomModel     *model);
/* Runs the graph keeping every value (for gradients): returns an array of
 * n_values SomTensor* (NULL where not computed), free with _som_values_free. */
SomTensor **_som_model_forward_all  (SomModel            *model,
                                     SomTensor * const   *inputs,
                                     GCancellable        *cancellable,
                                     GError             **error);
void       _som_values_free         (SomModel     *model,
                                     SomTensor   **values);

/* Converts an ONNX TensorProto (already unpacked). @dir: the model's folder
 * for external data (NULL: refuse external data). */
const char *_som_onnx_type_name      (int           onnx_type);
struct Onnx__TensorProto;
SomTensor *_som_onnx_tensor_convert (const struct Onnx__TensorProto *tp,
                                     const char   *dir,
                                     const char   *file,
                                     GError      **error);

G_END_DECLS
