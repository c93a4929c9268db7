/* som-ops-private.h: helpers shared by the operator files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-model-private.h"

G_BEGIN_DECLS

/* AVX-512, AVX2 and baseline versions of a hot function (the build targets
 * baseline x86-64), chosen at load time.  Not under the sanitizers: their
 * ifunc resolvers run before the sanitizer runtime is up (TSan crashes at
 * load).  A file using it compiles with fp-contract=off when the versions
 * must agree bit for bit: GCC's avx512f target contracts into FMAs. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) \
    && !defined(__SANITIZE_THREAD__)
#define SOM_SIMD_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define SOM_SIMD_CLONES
#endif

void     _som_set_shape          (SomTensor    *t,
                                  SomDType      dtype,
                                  guint         ndim,
                                  const gint64 *shape);
gboolean _som_need_inputs        (SomOpCtx     *c,
                                  guint         n_required,
                                  GError      **error);
gboolean _som_need_values        (SomOpCtx     *c,
                                  guint         i,
                                  GError      **error);
gboolean _som_norm_axis          (SomOpCtx     *c,
                                  gint64        axis,
                                  guint         ndim,
                                  gboolean      allow_end,
                                  guint        *out,
                                  GError      **error);
void     _som_strided_copy       (gpointer      dst,
                                  gconstpointer src,
                                  gsize         esize,
                                  guint         ndim,
                                  const gint64 *shape,
                                  const gint64 *strides,
                                  gint64        offset);
void     _som_contiguous_strides (guint         ndim,
                                  const gint64 *shape,
                                  gint64       *strides);
gboolean _som_broadcast_shape    (SomOpCtx     *c,
                                  SomTensor   **ts,
                                  guint         n,
                                  guint        *ndim,
                                  gint64       *shape,
                                  GError      **error);
void     _som_broadcast_strides  (const SomTensor *t,
                                  guint         ndim,
                                  const gint64 *shape,
                                  gint64       *strides);

/* Steps the multi-index @idx (@nd dimensions, the last fastest) to the next
 * position in @shape; after the last it wraps to all zeros. */
static inline void
_som_index_next (gint64       *idx,
                 const gint64 *shape,
                 guint         nd)
{
  for (int d = (int) nd - 1; d >= 0; d--)
    {
      if (++idx[d] < shape[d])
        return;
      idx[d] = 0;
    }
}

/* The window of a Conv or pool node.  Spatial dimensions are right-aligned
 * in three slots: 1-D uses slot 2, 2-D slots 1–2, 3-D all three; unused
 * slots have size 1.  Gradients (issue 4) use the same geometry. */
typedef struct
{
  guint  nsp;
  gint64 in[3], k[3], s[3], d[3], pb[3], pe[3], out[3];
} SomWindow;

/* @kernel: the kernel's spatial sizes (x->ndim - 2 entries); @is_pool
 * enables ceil_mode. */
gboolean _som_window_params      (SomOpCtx     *c,
                                  const SomTensor *x,
                                  const gint64 *kernel,
                                  gboolean      is_pool,
                                  SomWindow    *w,
                                  GError      **error);

/* Where a pool window stands along one axis, at one output position: its
 * taps [t0, t1) fall inside the input, @padded of them inside the padded
 * input. */
typedef struct
{
  gint64 t0, t1, padded;
} SomWindowTaps;

/* Fills taps[a] with w->out[a] entries for each slot a, in one block that
 * the caller frees with g_free (taps[0]). */
void     _som_window_taps        (const SomWindow *w,
                                  SomWindowTaps *taps[3]);

/* AveragePool's divisor at the output position of @a, @i and @j (one per
 * slot): the taps inside the input, or with @include_pad the padded input. */
static inline gint64
_som_window_taps_count (const SomWindowTaps *a,
                        const SomWindowTaps *i,
                        const SomWindowTaps *j,
                        gboolean             include_pad)
{
  if (include_pad)
    return a->padded * i->padded * j->padded;
  return (a->t1 - a->t0) * (i->t1 - i->t0) * (j->t1 - j->t0);
}

/* The determinant of an M×M matrix (row-major, double) by LU with partial
 * pivoting, for Det and its gradient; @a is overwritten. */
double   _som_det_lu             (double       *a,
                                  gint64        M);

#define SOM_DECLARE_OP(name) \
  gboolean _som_##name##_shape (SomOpCtx *c, GError **error); \
  gboolean _som_##name##_compute (SomOpCtx *c, GError **error);

SOM_DECLARE_OP (conv)
SOM_DECLARE_OP (pool)
SOM_DECLARE_OP (gemm)
SOM_DECLARE_OP (matmul)
SOM_DECLARE_OP (batchnorm)
SOM_DECLARE_OP (softmax)
SOM_DECLARE_OP (reduce)
SOM_DECLARE_OP (layernorm)
SOM_DECLARE_OP (instnorm)
SOM_DECLARE_OP (gather_elements)
SOM_DECLARE_OP (scatter_elements)
SOM_DECLARE_OP (scatter_nd)
SOM_DECLARE_OP (depth_space)
SOM_DECLARE_OP (onehot)
SOM_DECLARE_OP (isx)
SOM_DECLARE_OP (resize)
SOM_DECLARE_OP (conv_transpose)
SOM_DECLARE_OP (topk)
SOM_DECLARE_OP (einsum)
SOM_DECLARE_OP (loss)
SOM_DECLARE_OP (eyelike)
SOM_DECLARE_OP (compress)
SOM_DECLARE_OP (gathernd)
SOM_DECLARE_OP (lrn)
SOM_DECLARE_OP (reverse_sequence)
SOM_DECLARE_OP (det)
SOM_DECLARE_OP (window_fn)
SOM_DECLARE_OP (nonzero)
SOM_DECLARE_OP (maxunpool)
gboolean _som_mvn_compute (SomOpCtx *c, GError **error);
/* CastLike computes with Cast's function */
gboolean _som_castlike_shape (SomOpCtx *c, GError **error);
gboolean _som_same_shape_shape (SomOpCtx *c, GError **error);
gboolean _som_trilu_compute (SomOpCtx *c, GError **error);
gboolean _som_cumsum_compute (SomOpCtx *c, GError **error);
gboolean _som_hardmax_compute (SomOpCtx *c, GError **error);
gboolean _som_shrink_compute (SomOpCtx *c, GError **error);

/* Sigmoid's vectors: "avx512f", "avx2" or "generic" (tests; NULL: the widest
 * this CPU runs, the default).  FALSE when this CPU cannot run them. */
gboolean _som_sigmoid_use        (const char   *name);

G_END_DECLS
