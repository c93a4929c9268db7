/* test-onnx-model.c: loading, shape inference, layers, default taps, folding,
 * external data, concurrency, and bad input (truncated, corrupted, unsupported)
 *
 * Models are built here with protobuf-c, so every case is small and exact.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "som.h"
#include "som-model-private.h"
#include "som-ops-private.h"

/* ---- a tiny graph builder -------------------------------------------------- */

typedef struct
{
  GPtrArray *mem;      /* everything allocated, freed with g_free */
  GPtrArray *nodes, *inits, *inputs, *outputs;
  gint64     opset;
} Builder;

static gpointer
bnew (Builder *b, gsize size)
{
  gpointer p = g_malloc0 (size);
  g_ptr_array_add (b->mem, p);
  return p;
}

static char *
bstr (Builder *b, const char *s)
{
  char *p = g_strdup (s);
  g_ptr_array_add (b->mem, p);
  return p;
}

static Builder *
builder_new (gint64 opset)
{
  Builder *b = g_new0 (Builder, 1);
  b->mem = g_ptr_array_new_with_free_func (g_free);
  b->nodes = g_ptr_array_new ();
  b->inits = g_ptr_array_new ();
  b->inputs = g_ptr_array_new ();
  b->outputs = g_ptr_array_new ();
  b->opset = opset;
  return b;
}

static void
builder_free (Builder *b)
{
  g_ptr_array_unref (b->mem);
  g_ptr_array_unref (b->nodes);
  g_ptr_array_unref (b->inits);
  g_ptr_array_unref (b->inputs);
  g_ptr_array_unref (b->outputs);
  g_free (b);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Builder, builder_free)

static Onnx__ValueInfoProto *
value_info (Builder *b, const char *name, int elem, int ndim, const gint64 *dims)
{
  Onnx__ValueInfoProto *vi = bnew (b, sizeof *vi);
  Onnx__TypeProto *tp = bnew (b, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = bnew (b, sizeof *tt);
  Onnx__TensorShapeProto *sp = bnew (b, sizeof *sp);

  onnx__value_info_proto__init (vi);
  onnx__type_proto__init (tp);
  onnx__type_proto__tensor__init (tt);
  onnx__tensor_shape_proto__init (sp);
  vi->name = bstr (b, name);
  vi->type = tp;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  tt->has_elem_type = TRUE;
  tt->elem_type = elem;
  tt->shape = sp;
  sp->n_dim = ndim;
  sp->dim = bnew (b, sizeof (gpointer) * MAX (ndim, 1));
  for (int i = 0; i < ndim; i++)
    {
      Onnx__TensorShapeProto__Dimension *d = bnew (b, sizeof *d);
      onnx__tensor_shape_proto__dimension__init (d);
      if (dims[i] < 0)
        {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
          d->dim_param = bstr (b, "batch");
        }
      else
        {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
          d->dim_value = dims[i];
        }
      sp->dim[i] = d;
    }
  return vi;
}

static void
add_input (Builder *b, const char *name, int ndim, const gint64 *dims)
{
  g_ptr_array_add (b->inputs, value_info (b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, ndim, dims));
}

static void
add_output (Builder *b, const char *name)
{
  g_ptr_array_add (b->outputs, value_info (b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL));
  /* rank unknown: clear the shape */
  ((Onnx__ValueInfoProto *) g_ptr_array_index (b->outputs, b->outputs->len - 1))->type->tensor_type->shape = NULL;
}

static Onnx__TensorProto *
tensor (Builder *b, const char *name, int type, int ndim, const gint64 *dims, gconstpointer data, gsize bytes)
{
  Onnx__TensorProto *t = bnew (b, sizeof *t);
  onnx__tensor_proto__init (t);
  t->name = bstr (b, name);
  t->has_data_type = TRUE;
  t->data_type = type;
  t->n_dims = ndim;
  t->dims = bnew (b, sizeof (gint64) * MAX (ndim, 1));
  memcpy (t->dims, dims, sizeof (gint64) * ndim);
  t->has_raw_data = TRUE;
  t->raw_data.len = bytes;
  t->raw_data.data = bnew (b, MAX (bytes, 1));
  memcpy (t->raw_data.data, data, bytes);
  return t;
}

/* A float initializer filled with a deterministic pattern */
static void
add_weight (Builder *b, const char *name, int ndim, const gint64 *dims, float scale)
{
  gsize n = 1;
  g_autofree float *v = NULL;

  for (int i = 0; i < ndim; i++)
    n *= dims[i];
  v = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    v[i] = scale * (float) ((int) ((i * 7919) % 23) - 11) / 11.0f;
  g_ptr_array_add (b->inits, tensor (b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, ndim, dims, v, n * 4));
}

static void
add_ints (Builder *b, const char *name, int n, const gint64 *v)
{
  gint64 dims[1] = { n };
  g_ptr_array_add (b->inits, tensor (b, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, dims, v, n * 8));
}

static Onnx__NodeProto *
add_node (Builder *b, const char *op, const char *name, const char *ins, const char *outs)
{
  Onnx__NodeProto *n = bnew (b, sizeof *n);
  g_auto(GStrv) iv = g_strsplit (ins, ",", -1);
  g_auto(GStrv) ov = g_strsplit (outs, ",", -1);

  onnx__node_proto__init (n);
  n->op_type = bstr (b, op);
  n->name = bstr (b, name);
  n->n_input = *ins ? g_strv_length (iv) : 0;
  n->input = bnew (b, sizeof (char *) * (n->n_input + 1));
  for (gsize i = 0; i < n->n_input; i++)
    n->input[i] = bstr (b, iv[i]);
  n->n_output = g_strv_length (ov);
  n->output = bnew (b, sizeof (char *) * (n->n_output + 1));
  for (gsize i = 0; i < n->n_output; i++)
    n->output[i] = bstr (b, ov[i]);
  n->attribute = bnew (b, sizeof (gpointer) * 8);
  g_ptr_array_add (b->nodes, n);
  return n;
}

static void
attr_ints (Builder *b, Onnx__NodeProto *n, const char *name, int count, const gint64 *v)
{
  Onnx__AttributeProto *a = bnew (b, sizeof *a);
  onnx__attribute_proto__init (a);
  a->name = bstr (b, name);
  a->has_type = TRUE;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  a->n_ints = count;
  a->ints = bnew (b, sizeof (gint64) * MAX (count, 1));
  memcpy (a->ints, v, sizeof (gint64) * count);
  n->attribute[n->n_attribute++] = a;
}

static void
attr_int (Builder *b, Onnx__NodeProto *n, const char *name, gint64 v)
{
  Onnx__AttributeProto *a = bnew (b, sizeof *a);
  onnx__attribute_proto__init (a);
  a->name = bstr (b, name);
  a->has_type = TRUE;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->has_i = TRUE;
  a->i = v;
  n->attribute[n->n_attribute++] = a;
}

static void
attr_string (Builder *b, Onnx__NodeProto *n, const char *name, const char *v)
{
  Onnx__AttributeProto *a = bnew (b, sizeof *a);
  onnx__attribute_proto__init (a);
  a->name = bstr (b, name);
  a->has_type = TRUE;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  a->has_s = TRUE;
  a->s.data = (guint8 *) bstr (b, v);
  a->s.len = strlen (v);
  n->attribute[n->n_attribute++] = a;
}

static GBytes *
builder_pack (Builder *b)
{
  Onnx__ModelProto m;
  Onnx__GraphProto g;
  Onnx__OperatorSetIdProto op;
  Onnx__OperatorSetIdProto *ops[1] = { &op };
  gsize len;
  guint8 *buf;

  onnx__model_proto__init (&m);
  onnx__graph_proto__init (&g);
  onnx__operator_set_id_proto__init (&op);
  op.domain = (char *) "";
  op.has_version = TRUE;
  op.version = b->opset;
  m.has_ir_version = TRUE;
  m.ir_version = 8;
  m.producer_name = (char *) "test-onnx-model";
  m.n_opset_import = 1;
  m.opset_import = ops;
  m.graph = &g;
  g.name = (char *) "test";
  g.n_node = b->nodes->len;
  g.node = (Onnx__NodeProto **) b->nodes->pdata;
  g.n_initializer = b->inits->len;
  g.initializer = (Onnx__TensorProto **) b->inits->pdata;
  g.n_input = b->inputs->len;
  g.input = (Onnx__ValueInfoProto **) b->inputs->pdata;
  g.n_output = b->outputs->len;
  g.output = (Onnx__ValueInfoProto **) b->outputs->pdata;
  len = onnx__model_proto__get_packed_size (&m);
  buf = g_malloc (len);
  onnx__model_proto__pack (&m, buf);
  return g_bytes_new_take (buf, len);
}

/* A small CNN: Conv→BN→Relu, a residual Add→Relu, MaxPool, the
 * Shape/Gather/Unsqueeze/Concat/Reshape chain of x.view(x.size(0), -1), Gemm. */
static GBytes *
build_cnn (void)
{
  g_autoptr(Builder) b = builder_new (13);
  gint64 in[4] = { -1, 1, 8, 8 }, w1[4] = { 4, 1, 3, 3 }, c4[1] = { 4 }, w2[4] = { 4, 4, 3, 3 };
  gint64 fc[2] = { 3, 64 }, fb[1] = { 3 }, one[1] = { 1 }, pads[4] = { 1, 1, 1, 1 }, k2[2] = { 2, 2 };
  gint64 zero[1] = { 0 }, minus1[1] = { -1 };
  Onnx__NodeProto *n;

  add_input (b, "input", 4, in);
  add_weight (b, "w1", 4, w1, 0.5f);
  add_weight (b, "b1", 1, c4, 0.1f);
  add_weight (b, "bn_scale", 1, c4, 1.0f);
  add_weight (b, "bn_bias", 1, c4, 0.2f);
  add_weight (b, "bn_mean", 1, c4, 0.1f);
  {
    float var[4] = { 1.0f, 0.5f, 2.0f, 1.5f };
    g_ptr_array_add (b->inits, tensor (b, "bn_var", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, c4, var, 16));
  }
  add_weight (b, "w2", 4, w2, 0.3f);
  add_weight (b, "fc_w", 2, fc, 0.2f);
  add_weight (b, "fc_b", 1, fb, 0.1f);
  add_ints (b, "zero", 1, zero);
  add_ints (b, "minus1", 1, minus1);
  (void) one;

  n = add_node (b, "Conv", "conv1", "input,w1,b1", "c1");
  attr_ints (b, n, "pads", 4, pads);
  add_node (b, "BatchNormalization", "bn1", "c1,bn_scale,bn_bias,bn_mean,bn_var", "bn1");
  add_node (b, "Relu", "relu1", "bn1", "r1");
  n = add_node (b, "Conv", "conv2", "r1,w2", "c2");
  attr_ints (b, n, "pads", 4, pads);
  add_node (b, "Add", "add", "c2,r1", "sum");
  add_node (b, "Relu", "relu2", "sum", "r2");
  n = add_node (b, "MaxPool", "pool", "r2", "p");
  attr_ints (b, n, "kernel_shape", 2, k2);
  attr_ints (b, n, "strides", 2, k2);
  add_node (b, "Shape", "shape", "p", "s");
  n = add_node (b, "Gather", "gather", "s,zero", "g");
  n = add_node (b, "Concat", "concat", "g,minus1", "newshape");
  attr_int (b, n, "axis", 0);
  add_node (b, "Reshape", "reshape", "p,newshape", "flat");
  n = add_node (b, "Gemm", "fc", "flat,fc_w,fc_b", "logits");
  attr_int (b, n, "transB", 1);
  add_output (b, "logits");
  return builder_pack (b);
}

/* ---- a reference for the CNN, computed naively here --------------------------- */

static void
reference_cnn (const float *x, int N, float *logits)
{
  /* the same weights as build_cnn */
#define W(i, s) ((s) * (float) ((((i) * 7919) % 23) - 11) / 11.0f)
  float var[4] = { 1.0f, 0.5f, 2.0f, 1.5f };
  for (int n = 0; n < N; n++)
    {
      float r1[4][8][8], r2[4][8][8], p[4][4][4];
      for (int m = 0; m < 4; m++)
        for (int i = 0; i < 8; i++)
          for (int j = 0; j < 8; j++)
            {
              float acc = W (m, 0.1f);
              for (int ki = 0; ki < 3; ki++)
                for (int kj = 0; kj < 3; kj++)
                  {
                    int ii = i + ki - 1, jj = j + kj - 1;
                    if (ii >= 0 && ii < 8 && jj >= 0 && jj < 8)
                      acc += x[n * 64 + ii * 8 + jj] * W (m * 9 + ki * 3 + kj, 0.5f);
                  }
              acc = (acc - W (m, 0.1f)) / sqrtf (var[m] + 1e-5f) * W (m, 1.0f) + W (m, 0.2f);
              r1[m][i][j] = acc > 0 ? acc : 0;
            }
      for (int m = 0; m < 4; m++)
        for (int i = 0; i < 8; i++)
          for (int j = 0; j < 8; j++)
            {
              float acc = 0;
              for (int c = 0; c < 4; c++)
                for (int ki = 0; ki < 3; ki++)
                  for (int kj = 0; kj < 3; kj++)
                    {
                      int ii = i + ki - 1, jj = j + kj - 1;
                      if (ii >= 0 && ii < 8 && jj >= 0 && jj < 8)
                        acc += r1[c][ii][jj] * W (((m * 4 + c) * 3 + ki) * 3 + kj, 0.3f);
                    }
              acc += r1[m][i][j];
              r2[m][i][j] = acc > 0 ? acc : 0;
            }
      for (int m = 0; m < 4; m++)
        for (int i = 0; i < 4; i++)
          for (int j = 0; j < 4; j++)
            p[m][i][j] = MAX (MAX (r2[m][2 * i][2 * j], r2[m][2 * i][2 * j + 1]),
                              MAX (r2[m][2 * i + 1][2 * j], r2[m][2 * i + 1][2 * j + 1]));
      for (int k = 0; k < 3; k++)
        {
          float acc = W (k, 0.1f);
          for (int f = 0; f < 64; f++)
            acc += ((float *) p)[f] * W (k * 64 + f, 0.2f);
          logits[n * 3 + k] = acc;
        }
    }
#undef W
}

static SomArray *
make_input (int N)
{
  gsize shape[4] = { N, 1, 8, 8 };
  SomArray *a = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  for (gsize i = 0; i < som_array_n_elements (a); i++)
    ((float *) a->data)[i] = sinf ((float) i * 0.37f);
  return a;
}

static void
test_cnn_layers (void)
{
  g_autoptr(GBytes) bytes = build_cnn ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = som_model_load_from_bytes (bytes, "cnn.onnx", &error);
  g_autoptr(GArray) taps = NULL;
  const SomLayer *l;
  const char *expected_taps[] = { "r1", "r2", "p", "logits" };

  g_assert_no_error (error);
  if (g_getenv ("DUMP_CNN"))
    g_file_set_contents (g_getenv ("DUMP_CNN"), g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL);
  g_assert_cmpuint (som_model_get_n_layers (model), ==, 12);
  /* shapes with the batch as -1 */
  l = som_model_find_layer (model, "p", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (l->ndim, ==, 4);
  g_assert_cmpint (l->shape[0], ==, -1);
  g_assert_cmpint (l->shape[1], ==, 4);
  g_assert_cmpint (l->shape[2], ==, 4);
  l = som_model_find_layer (model, "flat", &error);
  g_assert_cmpint (l->shape[0], ==, -1);
  g_assert_cmpint (l->shape[1], ==, 64);
  g_assert_false (l->shape_arith);
  l = som_model_find_layer (model, "g", &error);
  g_assert_true (l->shape_arith);
  g_assert_cmpint (som_model_find_layer (model, "logits", NULL)->shape[1], ==, 3);
  /* params and flops of conv1: 36 + 4 weights; 2·4·64·9 flops */
  l = som_model_find_layer (model, "c1", &error);
  g_assert_cmpuint (l->params, ==, 40);
  g_assert_cmpuint (l->flops, ==, 2 * 4 * 64 * 9);
  /* by index and "layer_NNN" */
  g_assert_true (som_model_find_layer (model, "2", NULL) == som_model_find_layer (model, "r1", NULL));
  g_assert_true (som_model_find_layer (model, "layer_002", NULL) == som_model_find_layer (model, "r1", NULL));
  /* the default taps of contracts.md */
  taps = som_model_get_default_taps (model);
  g_assert_cmpuint (taps->len, ==, G_N_ELEMENTS (expected_taps));
  for (guint i = 0; i < taps->len; i++)
    g_assert_cmpstr (som_model_get_layer (model, g_array_index (taps, guint, i))->name, ==, expected_taps[i]);
  /* a wrong name lists the closest */
  g_assert_null (som_model_find_layer (model, "relu", &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "r1"));
  g_clear_error (&error);
  {
    const char *specs[] = { "all", NULL };
    g_autoptr(GArray) all = som_model_resolve_layers (model, specs, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (all->len, ==, 9); /* 12 minus Shape, Gather and Concat (shape arithmetic) */
  }
  {
    guint c, h, w;
    gboolean cl;
    g_assert_true (som_model_get_image_shape (model, &c, &h, &w, &cl, &error));
    g_assert_cmpuint (c, ==, 1);
    g_assert_cmpuint (h, ==, 8);
    g_assert_false (cl);
  }
}

static void
test_cnn_run (void)
{
  g_autoptr(GBytes) bytes = build_cnn ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = som_model_load_from_bytes (bytes, "cnn.onnx", &error);

  for (int N = 1; N <= 5; N += 4)
    {
      g_autoptr(SomArray) x = make_input (N);
      g_autoptr(GPtrArray) taps = NULL;
      guint tap[2] = { som_model_find_layer (model, "flat", NULL)->index,
                       som_model_find_layer (model, "newshape", NULL)->index };
      g_autoptr(SomArray) logits = som_model_run_images (model, x, tap, 2, &taps, NULL, &error);
      g_autofree float *ref = g_new (float, N * 3);

      g_assert_no_error (error);
      g_assert_cmpuint (logits->ndim, ==, 2);
      g_assert_cmpuint (logits->shape[0], ==, N);
      reference_cnn (x->data, N, ref);
      for (int i = 0; i < N * 3; i++)
        g_assert_cmpfloat_with_epsilon (((float *) logits->data)[i], ref[i], 1e-4 * MAX (1, fabsf (ref[i])));
      g_assert_cmpuint (((SomArray *) taps->pdata[0])->shape[1], ==, 64);
      /* a folded shape value is still a tap; its batch entry stays from the run */
      g_assert_cmpuint (((SomArray *) taps->pdata[1])->dtype, ==, SOM_DTYPE_I64);
      g_assert_cmpint (((gint64 *) ((SomArray *) taps->pdata[1])->data)[0], ==, N);
    }
}

typedef struct
{
  SomModel *model;
  SomArray *x;
  SomArray *result;
} ThreadData;

static gpointer
run_thread (gpointer data)
{
  ThreadData *td = data;
  td->result = som_model_run_images (td->model, td->x, NULL, 0, NULL, NULL, NULL);
  return NULL;
}

static void
test_concurrent_runs (void)
{
  g_autoptr(GBytes) bytes = build_cnn ();
  g_autoptr(SomModel) model = som_model_load_from_bytes (bytes, "cnn.onnx", NULL);
  g_autoptr(SomArray) x = make_input (7);
  g_autoptr(SomArray) single = som_model_run_images (model, x, NULL, 0, NULL, NULL, NULL);
  ThreadData td[3];
  GThread *threads[3];

  for (int i = 0; i < 3; i++)
    {
      td[i] = (ThreadData) { model, x, NULL };
      threads[i] = g_thread_new ("run", run_thread, &td[i]);
    }
  for (int i = 0; i < 3; i++)
    {
      g_thread_join (threads[i]);
      g_assert_nonnull (td[i].result);
      g_assert_cmpmem (td[i].result->data, som_array_n_bytes (td[i].result), single->data, som_array_n_bytes (single));
      som_array_free (td[i].result);
    }
}

static void
test_cancel (void)
{
  g_autoptr(GBytes) bytes = build_cnn ();
  g_autoptr(SomModel) model = som_model_load_from_bytes (bytes, "cnn.onnx", NULL);
  g_autoptr(SomArray) x = make_input (2);
  g_autoptr(GCancellable) c = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SomArray) r = NULL;

  g_cancellable_cancel (c);
  r = som_model_run_images (model, x, NULL, 0, NULL, c, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_wrong_input_shape (void)
{
  g_autoptr(GBytes) bytes = build_cnn ();
  g_autoptr(SomModel) model = som_model_load_from_bytes (bytes, "cnn.onnx", NULL);
  gsize shape[4] = { 2, 1, 9, 8 };
  g_autoptr(SomArray) x = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomArray) r = som_model_run_images (model, x, NULL, 0, NULL, NULL, &error);

  g_assert_null (r);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "cnn.onnx"));
}

/* ---- bad input -------------------------------------------------------------- */

static void
check_bad (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = som_model_load_from_bytes (bytes, "bad.onnx", &error);

  if (model == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == SOM_ERROR);
      g_assert_nonnull (strstr (error->message, "bad.onnx"));
      return;
    }
  /* A mutation can leave a valid model: running it must then fail cleanly or work. */
  {
    g_autoptr(SomArray) x = make_input (2);
    g_autoptr(SomArray) r = som_model_run_images (model, x, NULL, 0, NULL, NULL, &error);
    g_assert_true ((r == NULL) == (error != NULL));
  }
}

static void
test_truncated (void)
{
  g_autoptr(GBytes) bytes = build_cnn ();
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  guint n_failed = 0, n = 0;

  for (gsize cut = 0; cut < len; cut += MAX (1, len / 97))
    {
      g_autoptr(GBytes) part = g_bytes_new (data, cut);
      g_autoptr(GError) error = NULL;
      g_autoptr(SomModel) model = som_model_load_from_bytes (part, "bad.onnx", &error);
      n++;
      if (model == NULL)
        {
          n_failed++;
          g_assert_true (error->domain == SOM_ERROR);
          g_assert_nonnull (strstr (error->message, "bad.onnx"));
        }
      else
        check_bad (part);
    }
  /* nearly every cut must be refused (a cut at a field boundary can be a valid, smaller model) */
  g_assert_cmpuint (n_failed, >=, n * 8 / 10);
}

static void
test_corrupted (void)
{
  g_autoptr(GBytes) bytes = build_cnn ();
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  GRand *rand = g_rand_new_with_seed (42);

  for (int i = 0; i < 300; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (data, len);
      g_autoptr(GBytes) bad = NULL;
      for (int k = 0; k < 1 + i % 4; k++)
        copy[g_rand_int_range (rand, 0, len)] ^= (guint8) g_rand_int_range (rand, 1, 256);
      bad = g_bytes_new (copy, len);
      check_bad (bad);
    }
  g_rand_free (rand);
}

static void
test_unsupported_op (void)
{
  g_autoptr(Builder) b = builder_new (13);
  gint64 in[2] = { -1, 4 };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(GPtrArray) outs = NULL;
  g_autoptr(SomArray) x = NULL;
  gsize shape[2] = { 2, 4 };

  add_input (b, "x", 2, in);
  add_node (b, "Relu", "first", "x", "y");
  add_node (b, "FancyOp", "the_fancy_node", "y", "z");
  add_output (b, "z");
  bytes = builder_pack (b);
  model = som_model_load_from_bytes (bytes, "fancy.onnx", &error);
  /* loads (inspect shows it) ... */
  g_assert_no_error (error);
  g_assert_cmpuint (som_model_get_n_layers (model), ==, 2);
  g_assert_cmpstr (som_model_get_layer (model, 1)->op, ==, "FancyOp");
  /* ... but does not run, and says why */
  g_assert_false (som_model_check_runnable (model, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "fancy.onnx"));
  g_assert_nonnull (strstr (error->message, "FancyOp"));
  g_assert_nonnull (strstr (error->message, "the_fancy_node"));
  g_assert_nonnull (strstr (error->message, "opset 13"));
  g_assert_nonnull (strstr (error->message, "Conv"));
  g_clear_error (&error);
  x = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);
  {
    const SomArray *ins[1] = { x };
    g_assert_false (som_model_run (model, ins, 1, NULL, 0, &outs, NULL, NULL, &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED);
  }
  g_clear_error (&error);
  /* a model whose input is not an image */
  g_assert_false (som_model_get_image_shape (model, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "not an image"));
  g_clear_error (&error);
  g_assert_null (som_model_run_images (model, x, NULL, 0, NULL, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED);
}

static void
test_bad_graphs (void)
{
  gint64 in[2] = { -1, 4 }, d[1] = { 3 };
  /* a node reading a value nobody makes */
  {
    g_autoptr(Builder) b = builder_new (13);
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(SomModel) model = NULL;
    add_input (b, "x", 2, in);
    add_node (b, "Add", "add", "x,ghost", "y");
    add_output (b, "y");
    bytes = builder_pack (b);
    model = som_model_load_from_bytes (bytes, "ghost.onnx", &error);
    g_assert_null (model);
    g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, "ghost"));
  }
  /* an initializer with fewer bytes than its dims say */
  {
    g_autoptr(Builder) b = builder_new (13);
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(SomModel) model = NULL;
    float v[2] = { 1, 2 };
    add_input (b, "x", 2, in);
    g_ptr_array_add (b->inits, tensor (b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d, v, 8));
    add_node (b, "Add", "add", "x,w", "y");
    add_output (b, "y");
    bytes = builder_pack (b);
    model = som_model_load_from_bytes (bytes, "short.onnx", &error);
    g_assert_null (model);
    g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, "short.onnx"));
  }
  /* an int8 initializer: a clear "unsupported data type" */
  {
    g_autoptr(Builder) b = builder_new (13);
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(SomModel) model = NULL;
    gint8 v[3] = { 1, 2, 3 };
    add_input (b, "x", 2, in);
    g_ptr_array_add (b->inits, tensor (b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 1, d, v, 3));
    add_node (b, "Add", "add", "x,w", "y");
    add_output (b, "y");
    bytes = builder_pack (b);
    model = som_model_load_from_bytes (bytes, "int8.onnx", &error);
    g_assert_null (model);
    g_assert_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "INT8"));
  }
  /* absurd sizes computed inside the graph: refused, never an overflow */
  {
    const char *ops[] = { "ConstantOfShape", "Reshape", "Tile", "Expand" };
    for (guint k = 0; k < G_N_ELEMENTS (ops); k++)
      {
        g_autoptr(Builder) b = builder_new (13);
        g_autoptr(GBytes) bytes = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(SomModel) model = NULL;
        g_autoptr(GPtrArray) outs = NULL;
        gint64 huge[2] = { G_GINT64_CONSTANT (1) << 40, G_GINT64_CONSTANT (1) << 40 };
        gint64 in2[2] = { 2, 4 };
        gsize shape[2] = { 2, 4 };
        g_autoptr(SomArray) x = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);
        const SomArray *ins[1] = { x };
        add_input (b, "x", 2, in2);
        add_ints (b, "huge", 2, huge);
        if (k == 0)
          add_node (b, ops[k], "big", "huge", "y");
        else
          add_node (b, ops[k], "big", "x,huge", "y");
        add_output (b, "y");
        bytes = builder_pack (b);
        model = som_model_load_from_bytes (bytes, "huge.onnx", &error);
        g_assert_no_error (error);
        g_assert_false (som_model_run (model, ins, 1, NULL, 0, &outs, NULL, NULL, &error));
        g_assert_true (error->domain == SOM_ERROR);
        g_assert_nonnull (strstr (error->message, "huge.onnx"));
      }
  }
  /* not protobuf at all, and an empty file */
  {
    g_autoptr(GBytes) junk = g_bytes_new_static ("\xff\xff\xff\xff garbage", 13);
    g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
    g_autoptr(GError) error = NULL;
    g_assert_null (som_model_load_from_bytes (junk, "junk.onnx", &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
    g_clear_error (&error);
    g_assert_null (som_model_load_from_bytes (empty, "empty.onnx", &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
    g_clear_error (&error);
    g_assert_null (som_model_load ("/nonexistent/model.onnx", &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_IO);
  }
}

static void
test_external_data (void)
{
  g_autofree char *dir = g_dir_make_tmp ("somscope-ext-XXXXXX", NULL);
  g_autofree char *bin = g_build_filename (dir, "weights.bin", NULL);
  g_autofree char *path = g_build_filename (dir, "model.onnx", NULL);
  float w[3] = { 1.5f, -2.0f, 0.25f };
  gint64 in[2] = { -1, 3 }, d[1] = { 3 };
  const char *locations[] = { "weights.bin", "../weights.bin", "/etc/passwd" };

  g_assert_true (g_file_set_contents (bin, (const char *) w, sizeof w, NULL));
  for (guint k = 0; k < G_N_ELEMENTS (locations); k++)
    {
      g_autoptr(Builder) b = builder_new (13);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(SomModel) model = NULL;
      Onnx__TensorProto *t = tensor (b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d, w, 0);
      Onnx__StringStringEntryProto *e = bnew (b, sizeof *e);

      t->has_raw_data = FALSE;
      t->has_data_location = TRUE;
      t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
      onnx__string_string_entry_proto__init (e);
      e->key = bstr (b, "location");
      e->value = bstr (b, locations[k]);
      t->n_external_data = 1;
      t->external_data = bnew (b, sizeof (gpointer));
      t->external_data[0] = e;
      add_input (b, "x", 2, in);
      g_ptr_array_add (b->inits, t);
      add_node (b, "Mul", "mul", "x,w", "y");
      add_output (b, "y");
      bytes = builder_pack (b);
      g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL));
      model = som_model_load (path, &error);
      if (k == 0)
        {
          gsize shape[2] = { 1, 3 };
          g_autoptr(SomArray) x = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);
          g_autoptr(GPtrArray) outs = NULL;
          const SomArray *ins[1] = { x };
          g_assert_no_error (error);
          for (int i = 0; i < 3; i++)
            ((float *) x->data)[i] = 2.0f;
          g_assert_true (som_model_run (model, ins, 1, NULL, 0, &outs, NULL, NULL, &error));
          g_assert_cmpfloat (((float *) ((SomArray *) outs->pdata[0])->data)[1], ==, -4.0f);
        }
      else
        {
          g_assert_null (model);
          g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
          g_assert_nonnull (strstr (error->message, "outside the model's folder"));
        }
    }
  g_remove (bin);
  g_remove (path);
  g_rmdir (dir);
}

static void
test_demo_model_bytes (void)
{
  /* The bundled demo model, cut and flipped: clear errors, never a crash. */
  g_autofree char *path = g_build_filename (g_getenv ("SOMSCOPE_SOURCE_DIR") ? g_getenv ("SOMSCOPE_SOURCE_DIR") : ".",
                                            "data", "models", "fashion-resnet.onnx", NULL);
  g_autofree char *contents = NULL;
  gsize len;
  GRand *rand;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  for (gsize cut = 1; cut < len; cut += len / 23)
    {
      g_autoptr(GBytes) part = g_bytes_new (contents, cut);
      g_autoptr(GError) error = NULL;
      g_autoptr(SomModel) model = som_model_load_from_bytes (part, "bad.onnx", &error);
      g_assert_null (model);
      g_assert_nonnull (strstr (error->message, "bad.onnx"));
    }
  rand = g_rand_new_with_seed (7);
  for (int i = 0; i < 20; i++)
    {
      g_autofree char *copy = g_memdup2 (contents, len);
      g_autoptr(GBytes) bad = NULL;
      /* flip bytes in the first kilobytes, where the graph structure is */
      for (int k = 0; k < 3; k++)
        copy[g_rand_int_range (rand, 0, MIN (len, 4096))] ^= 0x5a;
      bad = g_bytes_new_take (g_steal_pointer (&copy), len);
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(SomModel) model = som_model_load_from_bytes (bad, "bad.onnx", &error);
        g_assert_true ((model == NULL) == (error != NULL));
      }
    }
  g_rand_free (rand);
}

/* Einsum as real exports use it: batched matmul, transpose, ellipsis sum, diagonal */
static void
test_einsum (void)
{
  g_autoptr(Builder) b = builder_new (13);
  gint64 da[3] = { 2, 3, 4 }, db[3] = { 2, 4, 5 }, dc[2] = { 3, 3 };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(GPtrArray) outs = NULL;
  gsize sa[3] = { 2, 3, 4 }, sb[3] = { 2, 4, 5 }, sc[2] = { 3, 3 };
  g_autoptr(SomArray) A = som_array_new (SOM_DTYPE_F32, 3, sa, NULL);
  g_autoptr(SomArray) B = som_array_new (SOM_DTYPE_F32, 3, sb, NULL);
  g_autoptr(SomArray) C = som_array_new (SOM_DTYPE_F32, 2, sc, NULL);
  const SomArray *ins[3] = { A, B, C };
  float *a = A->data, *bb = B->data, *cc = C->data;

  add_input (b, "A", 3, da);
  add_input (b, "B", 3, db);
  add_input (b, "C", 2, dc);
  attr_string (b, add_node (b, "Einsum", "mm", "A,B", "mm"), "equation", "bij,bjk->bik");
  attr_string (b, add_node (b, "Einsum", "tr", "A", "tr"), "equation", "bij -> bji");
  attr_string (b, add_node (b, "Einsum", "sum", "A", "sum"), "equation", "...j->...");
  attr_string (b, add_node (b, "Einsum", "diag", "C", "diag"), "equation", "ii->i");
  attr_string (b, add_node (b, "Einsum", "implicit", "A,B", "implicit"), "equation", "bij,bjk");
  add_output (b, "mm");
  add_output (b, "tr");
  add_output (b, "sum");
  add_output (b, "diag");
  add_output (b, "implicit");
  bytes = builder_pack (b);
  model = som_model_load_from_bytes (bytes, "einsum.onnx", &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < 24; i++)
    a[i] = sinf (i * 0.7f);
  for (gsize i = 0; i < 40; i++)
    bb[i] = cosf (i * 0.3f);
  for (gsize i = 0; i < 9; i++)
    cc[i] = (float) i;
  g_assert_true (som_model_run (model, ins, 3, NULL, 0, &outs, NULL, NULL, &error));
  g_assert_no_error (error);
  for (int n = 0; n < 2; n++)
    for (int i = 0; i < 3; i++)
      for (int k = 0; k < 5; k++)
        {
          double ref = 0;
          for (int j = 0; j < 4; j++)
            ref += a[(n * 3 + i) * 4 + j] * bb[(n * 4 + j) * 5 + k];
          g_assert_cmpfloat_with_epsilon (((float *) ((SomArray *) outs->pdata[0])->data)[(n * 3 + i) * 5 + k], ref, 1e-5);
        }
  /* implicit output: the labels that appear once, sorted (i, k); b is summed as numpy does */
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 5; k++)
      {
        double ref = 0;
        for (int n = 0; n < 2; n++)
          for (int j = 0; j < 4; j++)
            ref += a[(n * 3 + i) * 4 + j] * bb[(n * 4 + j) * 5 + k];
        g_assert_cmpfloat_with_epsilon (((float *) ((SomArray *) outs->pdata[4])->data)[i * 5 + k], ref, 1e-5);
      }
  for (int n = 0; n < 2; n++)
    for (int i = 0; i < 3; i++)
      {
        double ref = 0;
        for (int j = 0; j < 4; j++)
          {
            ref += a[(n * 3 + i) * 4 + j];
            g_assert_cmpfloat (((float *) ((SomArray *) outs->pdata[1])->data)[(n * 4 + j) * 3 + i], ==,
                               a[(n * 3 + i) * 4 + j]);
          }
        g_assert_cmpfloat_with_epsilon (((float *) ((SomArray *) outs->pdata[2])->data)[n * 3 + i], ref, 1e-5);
      }
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat (((float *) ((SomArray *) outs->pdata[3])->data)[i], ==, (float) (i * 4));
  g_assert_cmpuint (((SomArray *) outs->pdata[4])->ndim, ==, 2);
}

/* A two-operand Einsum by its definition, in double: every combination of
 * the labels' values (letters only, no ellipsis) */
static void
reference_einsum (const char *eq, const SomArray *A, const SomArray *B, double *out)
{
  g_auto(GStrv) sides = g_strsplit (eq, "->", 2);
  g_auto(GStrv) terms = g_strsplit (sides[0], ",", 2);
  const char *ta = terms[0], *tb = terms[1], *to = sides[1];
  const SomArray *ops[2] = { A, B };
  const char *ts[2] = { ta, tb };
  gint64 size[128] = { 0 }, val[128] = { 0 };
  char labels[64];
  guint nl = 0;
  gsize on = 1;

  for (guint t = 0; t < 2; t++)
    for (guint d = 0; ts[t][d]; d++)
      {
        gboolean seen = FALSE;
        size[(int) ts[t][d]] = ops[t]->shape[d];
        for (guint l = 0; l < nl; l++)
          seen |= labels[l] == ts[t][d];
        if (!seen)
          labels[nl++] = ts[t][d];
      }
  for (guint d = 0; to[d]; d++)
    on *= size[(int) to[d]];
  memset (out, 0, sizeof (double) * on);
  for (;;)
    {
      double prod = 1;
      gsize yo = 0;
      for (guint t = 0; t < 2; t++)
        {
          gsize off = 0;
          for (guint d = 0; ts[t][d]; d++)
            off = off * ops[t]->shape[d] + val[(int) ts[t][d]];
          prod *= ((const float *) ops[t]->data)[off];
        }
      for (guint d = 0; to[d]; d++)
        yo = yo * size[(int) to[d]] + val[(int) to[d]];
      out[yo] += prod;
      {
        int l = (int) nl - 1;
        for (; l >= 0; l--)
          {
            if (++val[(int) labels[l]] < size[(int) labels[l]])
              break;
            val[(int) labels[l]] = 0;
          }
        if (l < 0)
          break;
      }
    }
}

/* Einsums that run as batched matrix products (operands and result as
 * they lie, transposed, or copied into place) against the definition */
static void
test_einsum_matmul (void)
{
  static const struct { const char *eq; gint64 da[4], db[4]; } cases[] = {
    { "bhid,bhjd->bhij", { 2, 3, 5, 4 }, { 2, 3, 7, 4 } },        /* attention scores: B transposed */
    { "bhij,bhjd->bhid", { 2, 3, 5, 7 }, { 2, 3, 7, 4 } },        /* attention output: as they lie */
    { "bhid,bhjd->bhij", { 2, 2, 49, 32 }, { 2, 2, 49, 32 } },    /* MaxViT's size: spread over threads */
    { "bji,bjk->bik", { 3, 4, 5, -1 }, { 3, 4, 6, -1 } },         /* A transposed */
    { "bij,bkj->bki", { 3, 5, 4, -1 }, { 3, 6, 4, -1 } },         /* the result transposed */
    { "ij,jk->ik", { 5, 6, -1, -1 }, { 6, 7, -1, -1 } },
    { "bi,bi->b", { 4, 9, -1, -1 }, { 4, 9, -1, -1 } },           /* dot products */
    { "i,j->ij", { 5, -1, -1, -1 }, { 3, -1, -1, -1 } },          /* outer product: nothing summed */
    { "abcd,cdbe->aeb", { 3, 2, 4, 5 }, { 4, 5, 2, 6 } },         /* everything copied */
    { "xab,yba->xy", { 2, 1, 3, -1 }, { 4, 3, 1, -1 } },          /* labels of size 1 */
  };

  for (guint ci = 0; ci < G_N_ELEMENTS (cases); ci++)
    {
      g_autoptr(Builder) b = builder_new (13);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(SomModel) model = NULL;
      g_autoptr(GPtrArray) outs = NULL;
      g_autoptr(SomArray) A = NULL;
      g_autoptr(SomArray) B = NULL;
      g_autofree double *ref = NULL;
      gsize sa[4], sb[4], na = 0, nb = 0;
      const SomArray *ins[2];
      const SomArray *y;
      gsize n;

      while (na < 4 && cases[ci].da[na] > 0)
        sa[na] = cases[ci].da[na], na++;
      while (nb < 4 && cases[ci].db[nb] > 0)
        sb[nb] = cases[ci].db[nb], nb++;
      A = som_array_new (SOM_DTYPE_F32, na, sa, NULL);
      B = som_array_new (SOM_DTYPE_F32, nb, sb, NULL);
      for (gsize i = 0; i < som_array_n_elements (A); i++)
        ((float *) A->data)[i] = sinf (i * 0.37f + ci);
      for (gsize i = 0; i < som_array_n_elements (B); i++)
        ((float *) B->data)[i] = cosf (i * 0.21f - ci);
      add_input (b, "A", na, cases[ci].da);
      add_input (b, "B", nb, cases[ci].db);
      attr_string (b, add_node (b, "Einsum", "e", "A,B", "y"), "equation", cases[ci].eq);
      add_output (b, "y");
      bytes = builder_pack (b);
      model = som_model_load_from_bytes (bytes, "einsum.onnx", &error);
      g_assert_no_error (error);
      ins[0] = A;
      ins[1] = B;
      g_assert_true (som_model_run (model, ins, 2, NULL, 0, &outs, NULL, NULL, &error));
      g_assert_no_error (error);
      y = outs->pdata[0];
      n = som_array_n_elements (y);
      ref = g_new (double, n);
      reference_einsum (cases[ci].eq, A, B, ref);
      for (gsize i = 0; i < n; i++)
        if (fabs (((float *) y->data)[i] - ref[i]) > 1e-5 * (1 + fabs (ref[i])))
          g_error ("%s: element %" G_GSIZE_FORMAT " is %.9g, reference %.9g", cases[ci].eq, i,
                   ((float *) y->data)[i], ref[i]);
    }
}

/* Add and Mul on outputs large enough to be split over threads (the split
 * falls inside rows): every element as a plain loop computes it */
static void
test_broadcast_split (void)
{
  static const struct { gint64 db[4]; guint nd; } cases[] = {
    { { 3, 5, 67, 71 }, 4 },   /* same shape: one long run */
    { { 3, 5, 1, 1 }, 4 },     /* per channel (squeeze-excitation) */
    { { 71, -1, -1, -1 }, 1 }, /* a row vector */
    { { 1, 5, 67, 1 }, 4 },    /* runs of one element */
  };
  gint64 da[4] = { 3, 5, 67, 71 };
  gsize sa[4] = { 3, 5, 67, 71 };

  for (guint ci = 0; ci < G_N_ELEMENTS (cases); ci++)
    for (int op = 0; op < 2; op++)
      {
        g_autoptr(Builder) b = builder_new (13);
        g_autoptr(GBytes) bytes = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(SomModel) model = NULL;
        g_autoptr(GPtrArray) outs = NULL;
        g_autoptr(SomArray) A = som_array_new (SOM_DTYPE_F32, 4, sa, NULL);
        g_autoptr(SomArray) B = NULL;
        gsize sb[4];
        const SomArray *ins[2];
        const float *y, *pa, *pb;

        for (guint d = 0; d < cases[ci].nd; d++)
          sb[d] = cases[ci].db[d];
        B = som_array_new (SOM_DTYPE_F32, cases[ci].nd, sb, NULL);
        for (gsize i = 0; i < som_array_n_elements (A); i++)
          ((float *) A->data)[i] = sinf (i * 0.01f);
        for (gsize i = 0; i < som_array_n_elements (B); i++)
          ((float *) B->data)[i] = 1.0f + cosf (i * 0.3f);
        add_input (b, "A", 4, da);
        add_input (b, "B", cases[ci].nd, cases[ci].db);
        add_node (b, op ? "Mul" : "Add", "op", "A,B", "y");
        add_output (b, "y");
        bytes = builder_pack (b);
        model = som_model_load_from_bytes (bytes, "bcast.onnx", &error);
        g_assert_no_error (error);
        ins[0] = A;
        ins[1] = B;
        g_assert_true (som_model_run (model, ins, 2, NULL, 0, &outs, NULL, NULL, &error));
        g_assert_no_error (error);
        y = ((SomArray *) outs->pdata[0])->data;
        pa = A->data;
        pb = B->data;
        for (gint64 n = 0; n < 3; n++)
          for (gint64 c = 0; c < 5; c++)
            for (gint64 h = 0; h < 67; h++)
              for (gint64 w = 0; w < 71; w++)
                {
                  gsize i = ((n * 5 + c) * 67 + h) * 71 + w, j;
                  float want;
                  switch (ci)
                    {
                    case 0: j = i; break;
                    case 1: j = n * 5 + c; break;
                    case 2: j = w; break;
                    default: j = c * 67 + h; break;
                    }
                  want = op ? pa[i] * pb[j] : pa[i] + pb[j];
                  g_assert_cmpfloat (y[i], ==, want);
                }
      }
}

/* Sigmoid (vectorized e^x), HardSigmoid and HardSwish (comparisons instead
 * of fminf/fmaxf) against their definitions: Sigmoid within 3e-7 relative
 * of 1 / (1 + e^-x) in double, the hard ones exactly as fmaxf (0, fminf
 * (1, v)) computes them; extremes, signed zeros, infinities and NaN, and a
 * length that leaves a partial vector at the end.  Sigmoid in every vector
 * width this CPU runs, the same to the bit in each. */
static void
check_activations (float *sigmoid_seen)
{
  const char *ops[3] = { "Sigmoid", "HardSigmoid", "HardSwish" };
  gint64 dims[1] = { 4099 };
  gsize n = 4099;
  static const float special[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, 3.0f, -3.0f, 2.9999998f, -2.5f, 2.5f,
                                   86.9f, 87.0f, 87.1f, 88.0f, 88.1f, 89.0f, 100.0f, 200.0f,
                                   -86.9f, -87.0f, -87.1f, -88.0f, -88.1f, -89.0f, -100.0f, -200.0f,
                                   INFINITY, -INFINITY, NAN, -NAN };

  for (guint oi = 0; oi < G_N_ELEMENTS (ops); oi++)
    {
      g_autoptr(Builder) b = builder_new (13);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(SomModel) model = NULL;
      g_autoptr(GPtrArray) outs = NULL;
      g_autoptr(SomArray) X = som_array_new (SOM_DTYPE_F32, 1, &n, NULL);
      const SomArray *ins[1] = { X };
      float *x = X->data;
      const float *y;
      double worst = 0;

      for (gsize i = 0; i < n; i++)
        x[i] = i < G_N_ELEMENTS (special) ? special[i] : (float) ((double) i / n * 220.0 - 110.0);
      add_input (b, "X", 1, dims);
      add_node (b, ops[oi], "a", "X", "y");
      add_output (b, "y");
      bytes = builder_pack (b);
      model = som_model_load_from_bytes (bytes, "act.onnx", &error);
      g_assert_no_error (error);
      g_assert_true (som_model_run (model, ins, 1, NULL, 0, &outs, NULL, NULL, &error));
      g_assert_no_error (error);
      y = ((SomArray *) outs->pdata[0])->data;
      for (gsize i = 0; i < n; i++)
        {
          if (oi == 0)
            {
              double want = 1.0 / (1.0 + exp (-(double) x[i])), err;
              if (isnan (x[i]))
                {
                  g_assert_true (isnan (y[i]));
                  continue;
                }
              /* below 1e-37 the exact value and our 0 are both below float's normal range */
              err = want < 1e-37 ? fabs (y[i] - want) : fabs (y[i] - want) / want;
              worst = MAX (worst, err);
              if (err > 3e-7)
                g_error ("Sigmoid (%.9g) = %.9g, exact %.9g", x[i], y[i], want);
            }
          else
            {
              volatile float v = oi == 1 ? 0.2f * x[i] + 0.5f : x[i] / 6.0f + 0.5f;
              float want = fmaxf (0, fminf (1, v));
              if (oi == 2)
                want *= x[i];
              if (isnan (want))
                g_assert_true (isnan (y[i]));
              else
                g_assert_cmpmem (&y[i], sizeof (float), &want, sizeof (float));
            }
        }
      if (oi == 0)
        {
          g_test_message ("Sigmoid: largest relative error %.3g", worst);
          if (!isnan (sigmoid_seen[n]))
            g_assert_cmpmem (y, sizeof (float) * n, sigmoid_seen, sizeof (float) * n);
          memcpy (sigmoid_seen, y, sizeof (float) * n);
          sigmoid_seen[n] = 0;
        }
    }
}

static void
test_activations (void)
{
  const char *sets[] = { "avx512f", "avx2", "generic" };
  g_autofree float *seen = g_new (float, 4099 + 1);
  guint ran = 0;

  seen[4099] = NAN;
  for (guint i = 0; i < G_N_ELEMENTS (sets); i++)
    if (_som_sigmoid_use (sets[i]))
      {
        g_test_message ("Sigmoid in %s vectors", sets[i]);
        check_activations (seen);
        ran++;
      }
  g_assert_true (_som_sigmoid_use (NULL));
  g_assert_false (_som_sigmoid_use ("mmx"));
  g_assert_cmpuint (ran, >=, 1);
  g_assert_false (isnan (seen[4099]));
}

/* BatchNormalization on planes split over threads: every element as the
 * formula computes it, in the same float operations */
static void
test_batchnorm_split (void)
{
  g_autoptr(Builder) b = builder_new (13);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(GPtrArray) outs = NULL;
  gint64 dx[4] = { 2, 5, 67, 71 }, dc[1] = { 5 };
  gsize sx[4] = { 2, 5, 67, 71 };
  g_autoptr(SomArray) X = som_array_new (SOM_DTYPE_F32, 4, sx, NULL);
  const SomArray *ins[1] = { X };
  float scale[5], bias[5], mean[5], var[5];
  const float *x = X->data, *y;

  for (int c = 0; c < 5; c++)
    {
      scale[c] = 0.5f + c;
      bias[c] = 0.25f * c - 0.5f;
      mean[c] = 0.1f * c;
      var[c] = 1.0f + 0.3f * c;
    }
  for (gsize i = 0; i < som_array_n_elements (X); i++)
    ((float *) X->data)[i] = sinf (i * 0.013f);
  add_input (b, "X", 4, dx);
  g_ptr_array_add (b->inits, tensor (b, "s", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, dc, scale, sizeof scale));
  g_ptr_array_add (b->inits, tensor (b, "b", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, dc, bias, sizeof bias));
  g_ptr_array_add (b->inits, tensor (b, "m", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, dc, mean, sizeof mean));
  g_ptr_array_add (b->inits, tensor (b, "v", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, dc, var, sizeof var));
  add_node (b, "BatchNormalization", "bn", "X,s,b,m,v", "y");
  add_output (b, "y");
  bytes = builder_pack (b);
  model = som_model_load_from_bytes (bytes, "bn.onnx", &error);
  g_assert_no_error (error);
  g_assert_true (som_model_run (model, ins, 1, NULL, 0, &outs, NULL, NULL, &error));
  g_assert_no_error (error);
  y = ((SomArray *) outs->pdata[0])->data;
  for (gsize i = 0; i < som_array_n_elements (X); i++)
    {
      int c = (int) ((i / (67 * 71)) % 5);
      volatile float a = scale[c] / sqrtf (var[c] + 1e-5f), bb = bias[c] - mean[c] * a, ax = x[i] * a;
      float want = ax + bb;
      g_assert_cmpmem (&y[i], sizeof (float), &want, sizeof (float));
    }
}

/* Constant Pad (rows copied into a filled output) against its definition,
 * and 2-D AveragePool (a row at a time) against the same pool as a 3-D one
 * with a depth-1 window (the general loop): bit for bit, with and without
 * the padding counted, at strides 1 and 2, with ceil_mode */
static void
test_pad_avgpool (void)
{
  g_autoptr(Builder) b = builder_new (13);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(GPtrArray) outs = NULL;
  gint64 dx[4] = { 2, 3, 17, 19 }, d1[1] = { 1 }, d4[1] = { 8 }, d5[1] = { 5 };
  gint64 pads[8] = { 0, 1, 2, 1, 0, 0, 1, 2 }, shape5[5] = { 2, 3, 1, 17, 19 };
  float value = 0.5f;
  gsize sx[4] = { 2, 3, 17, 19 };
  g_autoptr(SomArray) X = som_array_new (SOM_DTYPE_F32, 4, sx, NULL);
  const SomArray *ins[1] = { X };
  const float *x = X->data;
  Onnx__NodeProto *n;
  static const struct { gint64 k[2], s[2], p[4]; int include, ceil; } pools[2] = {
    { { 3, 3 }, { 1, 1 }, { 1, 1, 1, 1 }, 1, 0 },     /* Inception's */
    { { 3, 2 }, { 2, 2 }, { 1, 0, 1, 1 }, 0, 1 },
  };
  const char *names[2][2] = { { "a0", "b0" }, { "a1", "b1" } };

  for (gsize i = 0; i < som_array_n_elements (X); i++)
    ((float *) X->data)[i] = sinf (i * 0.11f) * 3.0f;
  add_input (b, "X", 4, dx);
  g_ptr_array_add (b->inits, tensor (b, "pads", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, d4, pads, sizeof pads));
  g_ptr_array_add (b->inits, tensor (b, "value", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d1, &value, sizeof value));
  g_ptr_array_add (b->inits, tensor (b, "shape5", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, d5, shape5, sizeof shape5));
  add_node (b, "Pad", "pad", "X,pads,value", "P");
  add_node (b, "Reshape", "r5", "X,shape5", "X5");
  for (int k = 0; k < 2; k++)
    {
      gint64 k3[3] = { 1, pools[k].k[0], pools[k].k[1] }, s3[3] = { 1, pools[k].s[0], pools[k].s[1] };
      gint64 p3[6] = { 0, pools[k].p[0], pools[k].p[1], 0, pools[k].p[2], pools[k].p[3] };
      n = add_node (b, "AveragePool", names[k][0], "X", names[k][0]);
      attr_ints (b, n, "kernel_shape", 2, pools[k].k);
      attr_ints (b, n, "strides", 2, pools[k].s);
      attr_ints (b, n, "pads", 4, pools[k].p);
      attr_int (b, n, "count_include_pad", pools[k].include);
      attr_int (b, n, "ceil_mode", pools[k].ceil);
      n = add_node (b, "AveragePool", names[k][1], "X5", names[k][1]);
      attr_ints (b, n, "kernel_shape", 3, k3);
      attr_ints (b, n, "strides", 3, s3);
      attr_ints (b, n, "pads", 6, p3);
      attr_int (b, n, "count_include_pad", pools[k].include);
      attr_int (b, n, "ceil_mode", pools[k].ceil);
    }
  add_output (b, "P");
  add_output (b, "a0");
  add_output (b, "b0");
  add_output (b, "a1");
  add_output (b, "b1");
  bytes = builder_pack (b);
  model = som_model_load_from_bytes (bytes, "pool.onnx", &error);
  g_assert_no_error (error);
  g_assert_true (som_model_run (model, ins, 1, NULL, 0, &outs, NULL, NULL, &error));
  g_assert_no_error (error);
  {
    const SomArray *P = outs->pdata[0];
    const float *py = P->data;
    g_assert_cmpuint (P->shape[0], ==, 2);
    g_assert_cmpuint (P->shape[1], ==, 4);
    g_assert_cmpuint (P->shape[2], ==, 20);
    g_assert_cmpuint (P->shape[3], ==, 22);
    for (gint64 a = 0; a < 2; a++)
      for (gint64 c = 0; c < 4; c++)
        for (gint64 h = 0; h < 20; h++)
          for (gint64 w = 0; w < 22; w++)
            {
              gint64 ic = c - 1, ih = h - 2, iw = w - 1;
              float want = ic >= 0 && ic < 3 && ih >= 0 && ih < 17 && iw >= 0 && iw < 19
                           ? x[((a * 3 + ic) * 17 + ih) * 19 + iw] : value;
              g_assert_cmpfloat (py[((a * 4 + c) * 20 + h) * 22 + w], ==, want);
            }
  }
  for (int k = 0; k < 2; k++)
    {
      const SomArray *A = outs->pdata[1 + 2 * k], *B = outs->pdata[2 + 2 * k];
      gsize na = som_array_n_elements (A);
      g_assert_cmpuint (na, ==, som_array_n_elements (B));
      g_assert_cmpuint (na, >, 0);
      g_assert_cmpmem (A->data, na * sizeof (float), B->data, na * sizeof (float));
    }
}

/* EyeLike (k offset) and GatherND with batch_dims: ONNX's own tests use int32 data */
static void
test_eyelike_gathernd (void)
{
  g_autoptr(Builder) b = builder_new (13);
  gint64 dx[2] = { 3, 4 }, dd[3] = { 2, 2, 2 }, idx[2] = { 1, 0 }, di[2] = { 2, 1 };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(GPtrArray) outs = NULL;
  gsize sx[2] = { 3, 4 }, sd[3] = { 2, 2, 2 };
  g_autoptr(SomArray) X = som_array_new (SOM_DTYPE_F32, 2, sx, NULL);
  g_autoptr(SomArray) D = som_array_new (SOM_DTYPE_F32, 3, sd, NULL);
  const SomArray *ins[2] = { X, D };
  Onnx__NodeProto *n;
  const float *eye, *g;

  add_input (b, "X", 2, dx);
  add_input (b, "D", 3, dd);
  g_ptr_array_add (b->inits, tensor (b, "idx", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 2, di, idx, sizeof idx));
  n = add_node (b, "EyeLike", "eye", "X", "eye");
  attr_int (b, n, "k", 1);
  n = add_node (b, "GatherND", "gnd", "D,idx", "g");
  attr_int (b, n, "batch_dims", 1);
  add_output (b, "eye");
  add_output (b, "g");
  bytes = builder_pack (b);
  model = som_model_load_from_bytes (bytes, "eye.onnx", &error);
  g_assert_no_error (error);
  for (int i = 0; i < 8; i++)
    ((float *) D->data)[i] = (float) i;
  g_assert_true (som_model_run (model, ins, 2, NULL, 0, &outs, NULL, NULL, &error));
  eye = ((SomArray *) outs->pdata[0])->data;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++)
      g_assert_cmpfloat (eye[i * 4 + j], ==, j == i + 1 ? 1.0f : 0.0f);
  g = ((SomArray *) outs->pdata[1])->data;
  g_assert_cmpuint (((SomArray *) outs->pdata[1])->shape[0], ==, 2);
  g_assert_cmpuint (((SomArray *) outs->pdata[1])->shape[1], ==, 2);
  /* batch 0 takes D[0][1] = {2, 3}; batch 1 takes D[1][0] = {4, 5} */
  g_assert_cmpfloat (g[0], ==, 2.0f);
  g_assert_cmpfloat (g[1], ==, 3.0f);
  g_assert_cmpfloat (g[2], ==, 4.0f);
  g_assert_cmpfloat (g[3], ==, 5.0f);
}

/* A float64 graph input: refused, not silently computed in float32 */
static void
test_float64_input (void)
{
  g_autoptr(Builder) b = builder_new (13);
  gint64 d[1] = { 3 };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;

  g_ptr_array_add (b->inputs, value_info (b, "x", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, 1, d));
  add_node (b, "Relu", "relu", "x", "y");
  add_output (b, "y");
  bytes = builder_pack (b);
  model = som_model_load_from_bytes (bytes, "double.onnx", &error);
  g_assert_no_error (error);
  g_assert_false (som_model_check_runnable (model, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "DOUBLE"));
}

static void
test_layer_short_name (void)
{
  static const struct { const char *name, *op, *want; } cases[] = {
    { "/layer1/layer1.0/relu1/Relu_output_0", "Relu", "layer1.0/relu1" },
    { "/stem/relu/Relu_output_0", "Relu", "stem/relu" },
    { "/pool/GlobalAveragePool_output_0", "GlobalAveragePool", "pool" },
    { "logits", "Gemm", "logits" },
    { "a/b/c", NULL, "b/c" },
    { "/", NULL, "/" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = som_layer_short_name (cases[i].name, cases[i].op);
      g_assert_cmpstr (got, ==, cases[i].want);
    }
}

/* ---- layers grouped by module path ------------------------------------------- */

/* PyTorch-style node names: /block/block.0/conv/Conv … */
static GBytes *
build_named (void)
{
  g_autoptr(Builder) b = builder_new (13);
  gint64 in[4] = { -1, 1, 4, 4 }, w[4] = { 2, 1, 1, 1 }, w2[4] = { 2, 2, 1, 1 };

  add_input (b, "input", 4, in);
  add_weight (b, "w1", 4, w, 0.5f);
  add_weight (b, "w2", 4, w2, 0.5f);
  add_weight (b, "w3", 4, w2, 0.5f);
  add_node (b, "Conv", "/stem/Conv", "input,w1", "a");
  add_node (b, "Relu", "/stem/act/Relu", "a", "b");
  add_node (b, "Conv", "/block/block.0/conv/Conv", "b,w2", "c");
  add_node (b, "Relu", "/block/block.0/Relu", "c", "d");
  add_node (b, "Add", "/block/block.0/Add", "d,b", "e");
  add_node (b, "Conv", "/block/block.1/conv/Conv", "e,w3", "f");
  add_node (b, "Relu", "/block/block.1/relu/Relu", "f", "g");
  add_node (b, "Identity", "", "g", "h");
  add_node (b, "Sigmoid", "Sigmoid_9", "h", "out");
  add_output (b, "out");
  return builder_pack (b);
}

static const SomLayerTree *
child (const SomLayerTree *t, guint i)
{
  g_assert_nonnull (t->children);
  g_assert_cmpuint (i, <, t->children->len);
  return g_ptr_array_index (t->children, i);
}

static void
test_layer_tree (void)
{
  g_autoptr(GBytes) bytes = build_named ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = som_model_load_from_bytes (bytes, "named.onnx", &error);
  g_autoptr(SomLayerTree) t = NULL;
  const SomLayerTree *stem, *block, *b0, *b1, *leaf;

  g_assert_no_error (error);
  t = som_layer_tree_new (model, FALSE);
  g_assert_cmpint (t->layer, ==, -1);
  g_assert_cmpstr (t->path, ==, "");
  g_assert_cmpuint (t->n_layers, ==, 9);
  /* root: stem/, block/, the unnamed Identity (by value name), Sigmoid_9 */
  g_assert_cmpuint (t->children->len, ==, 4);
  stem = child (t, 0);
  g_assert_cmpstr (stem->name, ==, "stem");
  g_assert_cmpstr (stem->path, ==, "/stem");
  g_assert_cmpuint (stem->n_layers, ==, 2);
  g_assert_cmpuint (stem->n_default_taps, ==, 1);
  leaf = child (stem, 0);
  g_assert_cmpstr (leaf->name, ==, "Conv");
  g_assert_cmpint (leaf->layer, ==, som_model_find_layer (model, "a", NULL)->index);
  /* the single-layer group act/ is its layer, named after the module */
  leaf = child (stem, 1);
  g_assert_cmpstr (leaf->name, ==, "act");
  g_assert_cmpint (leaf->layer, ==, som_model_find_layer (model, "b", NULL)->index);
  g_assert_null (leaf->children);

  block = child (t, 1);
  g_assert_cmpstr (block->path, ==, "/block");
  g_assert_cmpuint (block->children->len, ==, 2);
  g_assert_cmpuint (block->n_layers, ==, 5);
  b0 = child (block, 0);
  g_assert_cmpstr (b0->path, ==, "/block/block.0");
  g_assert_cmpuint (b0->children->len, ==, 3);
  g_assert_cmpstr (child (b0, 0)->name, ==, "conv");
  g_assert_cmpstr (child (b0, 1)->name, ==, "Relu");
  g_assert_cmpstr (child (b0, 2)->name, ==, "Add");
  /* Conv→Relu→Add→Conv: the Relu is a tap, the Add (no activation follows before the Conv) too */
  g_assert_cmpuint (b0->n_default_taps, ==, 2);
  b1 = child (block, 1);
  g_assert_cmpuint (b1->children->len, ==, 2);
  g_assert_cmpstr (child (b1, 1)->name, ==, "relu");
  g_assert_cmpstr (child (t, 2)->name, ==, "h");
  g_assert_cmpstr (child (t, 3)->name, ==, "Sigmoid_9");

  /* from names alone (a session's value names as PyTorch ≥ 1.13 writes them) */
  {
    const char *names[] = { "/m/a/Conv_output_0", "/m/Relu_output_0", "/m/Add_output_0", "logits" };
    const guint idx[] = { 4, 5, 7, 9 };
    const gboolean taps[] = { FALSE, TRUE, FALSE, TRUE };
    g_autoptr(SomLayerTree) u = som_layer_tree_new_from_names (4, names, idx, taps);
    const SomLayerTree *m;
    g_assert_cmpuint (u->children->len, ==, 2);
    m = child (u, 0);
    g_assert_cmpstr (m->path, ==, "/m");
    g_assert_cmpuint (m->n_layers, ==, 3);
    g_assert_cmpuint (m->n_default_taps, ==, 1);
    g_assert_cmpstr (child (m, 0)->name, ==, "a");
    g_assert_cmpint (child (m, 0)->layer, ==, 4);
    g_assert_cmpstr (child (m, 1)->name, ==, "Relu_output_0");
    g_assert_cmpint (child (u, 1)->layer, ==, 9);
    g_assert_cmpuint (u->n_default_taps, ==, 2);
  }

  /* search */
  g_assert_true (som_layer_matches (som_model_find_layer (model, "g", NULL), "BLOCK.1/relu"));
  g_assert_false (som_layer_matches (som_model_find_layer (model, "c", NULL), "block.1"));
  g_assert_true (som_layer_matches (som_model_find_layer (model, "c", NULL), "conv"));
  g_assert_true (som_layer_matches (som_model_find_layer (model, "c", NULL), NULL));
  g_assert_true (som_layer_matches (som_model_find_layer (model, "c", NULL), ""));
  g_assert_true (som_layer_matches (som_model_get_layer (model, 2), "2"));
  g_assert_false (som_layer_matches (som_model_get_layer (model, 3), "2"));
}

/* ---- memory: intermediates die after their last consumer ---------------------- */

#define CHAIN_LEN 8

/* input → Transpose ×8 (each a fresh buffer: Transpose never works in place)
 * → GlobalAveragePool → Flatten. */
static GBytes *
build_chain (void)
{
  g_autoptr(Builder) b = builder_new (13);
  gint64 in[4] = { -1, 4, 16, 16 }, perm[4] = { 0, 1, 3, 2 };
  Onnx__NodeProto *n;

  add_input (b, "input", 4, in);
  for (int i = 1; i <= CHAIN_LEN; i++)
    {
      g_autofree char *src = i == 1 ? g_strdup ("input") : g_strdup_printf ("t%d", i - 1);
      g_autofree char *dst = g_strdup_printf ("t%d", i);
      g_autofree char *name = g_strdup_printf ("transpose%d", i);
      n = add_node (b, "Transpose", name, src, dst);
      attr_ints (b, n, "perm", 4, perm);
    }
  add_node (b, "GlobalAveragePool", "gap", "t8", "gap");
  add_node (b, "Flatten", "flatten", "gap", "out");
  add_output (b, "out");
  return builder_pack (b);
}

static void
test_memory_chain (void)
{
  g_autoptr(GBytes) bytes = build_chain ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = som_model_load_from_bytes (bytes, "chain.onnx", &error);
  gsize shape[4] = { 16, 4, 16, 16 };
  g_autoptr(SomArray) x = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  gsize S = som_array_n_bytes (x), base;
  guint taps[CHAIN_LEN];

  g_assert_no_error (error);
  for (gsize i = 0; i < som_array_n_elements (x); i++)
    ((float *) x->data)[i] = sinf ((float) i * 0.37f);
  for (int i = 0; i < CHAIN_LEN; i++)
    {
      g_autofree char *name = g_strdup_printf ("t%d", i + 1);
      const SomLayer *l = som_model_find_layer (model, name, &error);
      g_assert_no_error (error);
      taps[i] = l->index;
    }

  /* No taps: the input, one intermediate being read and the one being
   * written are alive at once, never the whole chain. */
  {
    g_autoptr(SomArray) out = NULL;
    base = _som_buffer_live_bytes ();
    _som_buffer_peak_reset ();
    out = som_model_run_images (model, x, NULL, 0, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (_som_buffer_peak_bytes () - base, <=, 3 * S + 4096);
    g_assert_cmpuint (_som_buffer_live_bytes (), ==, base);
  }
  /* Raw taps are values the caller gets: each is kept to the end. */
  {
    g_autoptr(SomArray) out = NULL;
    g_autoptr(GPtrArray) tv = NULL;
    base = _som_buffer_live_bytes ();
    _som_buffer_peak_reset ();
    out = som_model_run_images (model, x, taps, CHAIN_LEN, &tv, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (_som_buffer_peak_bytes () - base, >=, (CHAIN_LEN + 1) * S);
    g_assert_cmpuint (_som_buffer_live_bytes (), ==, base);
  }
  /* Taps reduced to channel means inside the pass: as lean as no taps, and
   * the means are those of the raw taps. */
  {
    g_autoptr(SomArray) out = NULL;
    g_autoptr(SomArray) ref_out = NULL;
    g_autoptr(GPtrArray) means = NULL;
    g_autoptr(GPtrArray) raw = NULL;
    base = _som_buffer_live_bytes ();
    _som_buffer_peak_reset ();
    out = som_model_run_images_means (model, x, taps, CHAIN_LEN, &means, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (_som_buffer_peak_bytes () - base, <=, 3 * S + 4096);
    g_assert_cmpuint (_som_buffer_live_bytes (), ==, base);
    ref_out = som_model_run_images (model, x, taps, CHAIN_LEN, &raw, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (means->len, ==, CHAIN_LEN);
    g_assert_cmpmem (out->data, som_array_n_bytes (out), ref_out->data, som_array_n_bytes (ref_out));
    for (guint t = 0; t < CHAIN_LEN; t++)
      {
        const SomArray *m = g_ptr_array_index (means, t);
        g_autoptr(SomArray) c = som_features_codes (g_ptr_array_index (raw, t), SOM_CODES_MEAN, "t", &error);
        g_assert_no_error (error);
        g_assert_cmpuint (m->ndim, ==, 2);
        g_assert_cmpuint (m->shape[0], ==, 16);
        g_assert_cmpuint (m->shape[1], ==, 4);
        g_assert_cmpmem (m->data, som_array_n_bytes (m), c->data, som_array_n_bytes (c));
      }
  }
  /* A tap that does not exist */
  {
    guint bad = 999;
    g_autoptr(GPtrArray) means = NULL;
    g_assert_null (som_model_run_images_means (model, x, &bad, 1, &means, NULL, &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
    g_assert_null (means);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/onnx-model/cnn/layers", test_cnn_layers);
  g_test_add_func ("/onnx-model/layer-tree", test_layer_tree);
  g_test_add_func ("/onnx-model/cnn/run", test_cnn_run);
  g_test_add_func ("/onnx-model/cnn/concurrent", test_concurrent_runs);
  g_test_add_func ("/onnx-model/cnn/cancel", test_cancel);
  g_test_add_func ("/onnx-model/cnn/wrong-input-shape", test_wrong_input_shape);
  g_test_add_func ("/onnx-model/bad/truncated", test_truncated);
  g_test_add_func ("/onnx-model/bad/corrupted", test_corrupted);
  g_test_add_func ("/onnx-model/bad/unsupported-op", test_unsupported_op);
  g_test_add_func ("/onnx-model/bad/graphs", test_bad_graphs);
  g_test_add_func ("/onnx-model/external-data", test_external_data);
  g_test_add_func ("/onnx-model/einsum", test_einsum);
  g_test_add_func ("/onnx-model/einsum-matmul", test_einsum_matmul);
  g_test_add_func ("/onnx-model/broadcast-split", test_broadcast_split);
  g_test_add_func ("/onnx-model/activations", test_activations);
  g_test_add_func ("/onnx-model/batchnorm-split", test_batchnorm_split);
  g_test_add_func ("/onnx-model/pad-avgpool", test_pad_avgpool);
  g_test_add_func ("/onnx-model/eyelike-gathernd", test_eyelike_gathernd);
  g_test_add_func ("/onnx-model/bad/float64-input", test_float64_input);
  g_test_add_func ("/onnx-model/bad/demo-model-bytes", test_demo_model_bytes);
  g_test_add_func ("/onnx-model/layer-short-name", test_layer_short_name);
  g_test_add_func ("/onnx-model/memory/chain", test_memory_chain);
  return g_test_run ();
}
