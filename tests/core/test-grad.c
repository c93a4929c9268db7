/* test-grad.c: input gradients against PyTorch autograd, FGSM images against
 * PyTorch's, and models without a differentiable path
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som.h"
#include "som-grad-private.h"

static char *
source_path (const char *rel)
{
  const char *root = g_getenv ("SOMSCOPE_SOURCE_DIR");
  return g_build_filename (root != NULL ? root : ".", rel, NULL);
}

typedef struct
{
  SomModel *model;
  SomArray *input, *labels, *grad, *pixels, *fgsm;
} Fixture;

static void
fixture_load (Fixture *f, const char *model_rel, const char *npz_rel)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *mp = source_path (model_rel);
  g_autofree char *np = source_path (npz_rel);
  g_autoptr(SomNpzReader) r = som_npz_reader_open (np, &error);

  g_assert_no_error (error);
  f->model = som_model_load (mp, &error);
  g_assert_no_error (error);
  f->input = som_npz_reader_read_array (r, "input", &error);
  g_assert_no_error (error);
  f->labels = som_npz_reader_read_array (r, "labels", &error);
  g_assert_no_error (error);
  f->grad = som_npz_reader_read_array (r, "grad_input", &error);
  g_assert_no_error (error);
  f->fgsm = som_npz_reader_has_array (r, "fgsm_0.1") ? som_npz_reader_read_array (r, "fgsm_0.1", &error) : NULL;
  g_assert_no_error (error);
  f->pixels = som_npz_reader_has_array (r, "pixels") ? som_npz_reader_read_array (r, "pixels", &error) : NULL;
  g_assert_no_error (error);
}

static void
fixture_clear (Fixture *f)
{
  g_assert_finalize_object (f->model);
  som_array_free (f->input);
  som_array_free (f->labels);
  som_array_free (f->grad);
  g_clear_pointer (&f->pixels, som_array_free);
  g_clear_pointer (&f->fgsm, som_array_free);
}

/* Every element within 1e-4 of PyTorch's, relative to the gradient's scale
 * (max |g|): elements far below that scale are rounding noise in both. */
static void
check_grad (const char *model_rel, const char *npz_rel)
{
  Fixture f = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(SomArray) grad = NULL;
  g_autoptr(SomArray) logits = NULL;
  double loss = 0, scale = 0, worst = 0;
  gsize n;
  const float *a, *b;

  fixture_load (&f, model_rel, npz_rel);
  g_assert_true (som_model_check_differentiable (f.model, &error));
  g_assert_no_error (error);
  g_assert_true (som_model_input_gradient (f.model, f.input, f.labels->data, &grad, &logits, &loss, NULL, &error));
  g_assert_no_error (error);
  n = som_array_n_elements (f.grad);
  g_assert_cmpuint (som_array_n_elements (grad), ==, n);
  a = grad->data;
  b = f.grad->data;
  for (gsize i = 0; i < n; i++)
    scale = MAX (scale, fabs (b[i]));
  g_assert_cmpfloat (scale, >, 0);
  for (gsize i = 0; i < n; i++)
    worst = MAX (worst, fabs (a[i] - b[i]) / MAX (fabs (b[i]), scale));
  g_test_message ("%s: max |grad| %g, worst relative difference %g, loss %g", model_rel, scale, worst, loss);
  g_assert_cmpfloat (worst, <=, 1e-4);
  g_assert_true (isfinite (loss) && loss > 0);
  fixture_clear (&f);
}

static void
test_grad_mlp (void)
{
  check_grad ("tests/data/fixtures/mlp.onnx", "tests/data/fixtures/mlp.npz");
}

static void
test_grad_demo (void)
{
  check_grad ("data/models/fashion-resnet.onnx", "tests/data/fixtures/demo.npz");
}

static void
test_grad_bnres (void)
{
  check_grad ("tests/data/fixtures/bnres.onnx", "tests/data/fixtures/bnres.npz");
}

static void
test_grad_channels_last (void)
{
  check_grad ("tests/data/fixtures/channels-last.onnx", "tests/data/fixtures/channels-last.npz");
}

/* Issue 10: every operator the executor runs has a gradient or carries
 * none by definition (integer or piecewise constant), never neither and
 * never both. */
static void
test_grad_every_op (void)
{
  const char * const *ops = som_model_supported_ops ();
  guint n = 0, none = 0;
  const char *no_grad[] = { "ArgMax", "Equal", "Floor", "Hardmax", "NonZero", "Shape", "HannWindow" };
  const char *grad[] = { "Conv", "LRN", "MeanVarianceNormalization", "Det", "ReduceProd", "Mod",
                         "ReverseSequence", "MaxUnpool", "SoftmaxCrossEntropyLoss", "Scatter" };

  for (guint i = 0; ops[i] != NULL; i++, n++)
    {
      SomGradKind k = _som_grad_op_kind (ops[i]);
      if (k == SOM_GRAD_UNKNOWN)
        g_error ("%s has neither a gradient nor a place among the ops that carry none", ops[i]);
      none += k == SOM_GRAD_NONE;
    }
  g_test_message ("%u operators: %u with a gradient, %u that carry none", n, n - none, none);
  g_assert_cmpuint (n, >, 100);
  for (guint i = 0; i < G_N_ELEMENTS (no_grad); i++)
    g_assert_cmpint (_som_grad_op_kind (no_grad[i]), ==, SOM_GRAD_NONE);
  for (guint i = 0; i < G_N_ELEMENTS (grad); i++)
    g_assert_cmpint (_som_grad_op_kind (grad[i]), ==, SOM_GRAD_DEFINED);
  g_assert_cmpint (_som_grad_op_kind ("NoSuchOp"), ==, SOM_GRAD_UNKNOWN);
}

/* LRN, MeanVarianceNormalization, ReduceProd/L1/L2, Det, Einsum with '...',
 * NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss and ScatterElements
 * with 'add' (tools/make-grad-torch-fixtures.py): the forward pass against
 * PyTorch's logits, then the gradient against PyTorch autograd's. */
static void
test_grad_torch_late (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *mp = source_path ("tests/data/attacks/torch-late.onnx");
  g_autofree char *np = source_path ("tests/data/attacks/torch-late.npz");
  g_autoptr(SomNpzReader) r = som_npz_reader_open (np, &error);
  g_autoptr(SomModel) model = NULL;
  g_autoptr(SomArray) input = NULL;
  g_autoptr(SomArray) ref = NULL;
  g_autoptr(SomArray) logits = NULL;
  double scale = 0, worst = 0;

  g_assert_no_error (error);
  model = som_model_load (mp, &error);
  g_assert_no_error (error);
  input = som_npz_reader_read_array (r, "input", &error);
  g_assert_no_error (error);
  ref = som_npz_reader_read_array (r, "logits", &error);
  g_assert_no_error (error);
  logits = som_model_run_images (model, input, NULL, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_array_n_elements (logits), ==, som_array_n_elements (ref));
  for (gsize i = 0; i < som_array_n_elements (ref); i++)
    scale = MAX (scale, fabsf (((float *) ref->data)[i]));
  for (gsize i = 0; i < som_array_n_elements (ref); i++)
    worst = MAX (worst, fabsf (((float *) logits->data)[i] - ((float *) ref->data)[i]) / scale);
  g_test_message ("torch-late: logits within %g of PyTorch's (relative to max |logit| %g)", worst, scale);
  g_assert_cmpfloat (worst, <=, 1e-5);
  check_grad ("tests/data/attacks/torch-late.onnx", "tests/data/attacks/torch-late.npz");
}

/* The summed cross-entropy from the engine's own forward pass; the model
 * ends in Softmax, so the loss is −Σ ln p[label]. */
static double
loss_of (SomModel *model, const SomArray *x, const gint32 *labels)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomArray) p = som_model_run_images (model, x, NULL, 0, NULL, NULL, &error);
  double l = 0;

  g_assert_no_error (error);
  for (gsize n = 0; n < x->shape[0]; n++)
    l -= log (((float *) p->data)[n * 10 + labels[n]]);
  return l;
}

/* Pad (reflect), Conv, BatchNormalization, broadcast Mul, Elu,
 * AveragePool, Transpose, Sigmoid, Tanh, Concat, Slice, ReduceMean, Flatten,
 * MatMul, Add, Sub and a final Softmax, against central differences. */
static void
test_grad_ops_finite_differences (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *p = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(SomArray) x = NULL;
  g_autoptr(SomArray) grad = NULL;
  g_autoptr(GRand) r = g_rand_new_with_seed (5);
  gsize shape[4] = { 3, 1, 8, 8 };
  gint32 labels[3] = { 2, 7, 4 };
  double gmax = 0, worst = 0;

  {
    const char *root = g_getenv ("SOMSCOPE_SOURCE_DIR");
    p = g_build_filename (root != NULL ? root : ".", "tests/data/attacks/ops-softmax.onnx", NULL);
  }
  model = som_model_load (p, &error);
  g_assert_no_error (error);
  x = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  for (gsize i = 0; i < som_array_n_elements (x); i++)
    ((float *) x->data)[i] = (float) g_rand_double_range (r, -1, 1);
  g_assert_true (som_model_input_gradient (model, x, labels, &grad, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < som_array_n_elements (x); i++)
    gmax = MAX (gmax, fabsf (((float *) grad->data)[i]));
  g_assert_cmpfloat (gmax, >, 0);
  for (gsize i = 0; i < som_array_n_elements (x); i += 5)
    {
      float *v = (float *) x->data + i, keep = *v, h = 1e-2f;
      double up, down, fd;
      *v = keep + h;
      up = loss_of (model, x, labels);
      *v = keep - h;
      down = loss_of (model, x, labels);
      *v = keep;
      fd = (up - down) / ((double) (keep + h) - (double) (keep - h));
      worst = MAX (worst, fabs (fd - ((float *) grad->data)[i]) / gmax);
    }
  g_test_message ("max |grad| %g, worst difference to central differences %g of it", gmax, worst);
  g_assert_cmpfloat (worst, <, 2e-3);
}

/* The input gradient of tests/data/attacks/MODEL.onnx (made by
 * tools/make-attack-fixtures.py) against central differences of the
 * engine's own forward pass, on every input element.  Each image holds the
 * values ±1/64, ±3/64, … ±63/64 in a shuffled order: 1/32 apart and 1/64
 * away from the kinks at 0 and ±1/2, so the steps of ±1/100 never cross a
 * kink or swap a maximum. */
static void
check_finite_differences (gconstpointer data)
{
  const char *name = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *rel = g_strdup_printf ("tests/data/attacks/%s.onnx", name);
  g_autofree char *p = source_path (rel);
  g_autoptr(SomModel) model = NULL;
  g_autoptr(SomArray) x = NULL;
  g_autoptr(SomArray) grad = NULL;
  g_autoptr(GRand) r = g_rand_new_with_seed (7);
  gsize shape[4] = { 3, 1, 8, 8 };
  gint32 labels[3] = { 1, 8, 3 };
  double gmax = 0, worst = 0;
  gboolean ok;

  model = som_model_load (p, &error);
  g_assert_no_error (error);
  g_assert_true (som_model_check_differentiable (model, &error));
  g_assert_no_error (error);
  x = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  for (gsize n = 0; n < 3; n++)
    {
      float *v = (float *) x->data + n * 64;
      for (int k = 0; k < 64; k++)
        v[k] = (2 * k - 63) / 64.0f;
      for (int k = 63; k > 0; k--)
        {
          int j = g_rand_int_range (r, 0, k + 1);
          float t = v[k];
          v[k] = v[j];
          v[j] = t;
        }
    }
  ok = som_model_input_gradient (model, x, labels, &grad, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  for (gsize i = 0; i < som_array_n_elements (x); i++)
    gmax = MAX (gmax, fabsf (((float *) grad->data)[i]));
  g_assert_cmpfloat (gmax, >, 0);
  for (gsize i = 0; i < som_array_n_elements (x); i++)
    {
      float *v = (float *) x->data + i, keep = *v, h = 1e-2f;
      double up, down, fd;
      *v = keep + h;
      up = loss_of (model, x, labels);
      *v = keep - h;
      down = loss_of (model, x, labels);
      *v = keep;
      fd = (up - down) / ((double) (keep + h) - (double) (keep - h));
      worst = MAX (worst, fabs (fd - ((float *) grad->data)[i]) / gmax);
    }
  g_test_message ("%s: max |grad| %g, worst difference to central differences %g of it", name, gmax, worst);
  g_assert_cmpfloat (worst, <, 2e-3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/grad/mlp", test_grad_mlp);
  g_test_add_func ("/grad/demo", test_grad_demo);
  g_test_add_func ("/grad/bnres", test_grad_bnres);
  g_test_add_func ("/grad/channels-last", test_grad_channels_last);
  g_test_add_func ("/grad/torch-late-ops", test_grad_torch_late);
  g_test_add_func ("/grad/every-op", test_grad_every_op);
  g_test_add_func ("/grad/ops-finite-differences", test_grad_ops_finite_differences);
  /* MatMul with broadcast batch dims and 1-D operands */
  g_test_add_data_func ("/grad/matmul", "grad-matmul", check_finite_differences);
  /* LayerNormalization, Erf, InstanceNormalization */
  g_test_add_data_func ("/grad/norms", "grad-norms", check_finite_differences);
  /* Einsum: a contraction, and an index only one operand has */
  g_test_add_data_func ("/grad/einsum", "grad-einsum", check_finite_differences);
  /* Tile, Gather, Where, Resize (nearest), SpaceToDepth, Split, Slice with steps */
  g_test_add_data_func ("/grad/index-maps", "grad-index", check_finite_differences);
  /* Conv: 3-D (also strided and depthwise), 1-D strided with groups, dilated SAME_UPPER/LOWER,
   * depthwise strided */
  g_test_add_data_func ("/grad/convs", "grad-convs", check_finite_differences);
  /* MaxPool and AveragePool in 1, 2 and 3 dimensions: dilation, ceil_mode, count_include_pad */
  g_test_add_data_func ("/grad/pools", "grad-pools", check_finite_differences);
  /* Resize: linear, cubic, sizes, a 3-D tensor */
  g_test_add_data_func ("/grad/resize", "grad-resize", check_finite_differences);
  /* ConvTranspose, CumSum (reverse), Atan, Pow, ReduceLogSumExp */
  g_test_add_data_func ("/grad/conv-transpose", "grad-tconv", check_finite_differences);
  /* ReduceMax, TopK, Softmax on a middle axis, Shrink, Tan, Cosh, Asin, Acos, Asinh, Atanh */
  g_test_add_data_func ("/grad/selections", "grad-select", check_finite_differences);
  /* LRN, MeanVarianceNormalization, ReverseSequence, Det, ReduceProd/L1/L2, MaxUnpool,
   * ScatterElements and ScatterND with reduction 'add' */
  g_test_add_data_func ("/grad/extra", "grad-extra", check_finite_differences);
  /* NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss, Resize with tf_crop_and_resize,
   * Einsum with '...' and repeated indices, a trilinear 5-D Resize */
  g_test_add_data_func ("/grad/losses-crop-ellipsis", "grad-losses", check_finite_differences);
  /* ScatterElements with reduction mul, max and min, ScatterND with mul */
  g_test_add_data_func ("/grad/scatter-reductions", "grad-scatter", check_finite_differences);
  /* Slice-1 (opset 9, attributes) */
  g_test_add_data_func ("/grad/slice-opset9", "grad-slice9", check_finite_differences);
  return g_test_run ();
}
