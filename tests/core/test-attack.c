/* test-attack.c: FGSM/PGD against PyTorch (images and accuracies), pixel-space
 * attacks through mean/std, and bad parameters
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som.h"

#define FASHION "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

/* The accuracy tests attack the first 1,000 test images, as the references
 * do; under AddressSanitizer (≈10× slower) they use the first 200 and a wider
 * tolerance, since the references are for 1,000. */
#if defined(__SANITIZE_ADDRESS__)
# define ACC_COUNT 200
# define ACC_SLACK 0.05
#else
# define ACC_COUNT 1000
# define ACC_SLACK 0.0
#endif

static char *
source_path (const char *rel)
{
  const char *root = g_getenv ("SOMSCOPE_SOURCE_DIR");
  return g_build_filename (root != NULL ? root : ".", rel, NULL);
}

static SomModel *
load_model (const char *rel)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *p = source_path (rel);
  SomModel *m = som_model_load (p, &error);
  g_assert_no_error (error);
  return m;
}

static SomArray *
npz_array (const char *rel, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *p = source_path (rel);
  g_autoptr(SomNpzReader) r = som_npz_reader_open (p, &error);
  SomArray *a;
  g_assert_no_error (error);
  a = som_npz_reader_read_array (r, name, &error);
  g_assert_no_error (error);
  return a;
}

/* FGSM images equal PyTorch's wherever the gradient is not near zero. */
static void
check_fgsm_images (const char *model_rel, const char *npz_rel, gboolean normalized)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = load_model (model_rel);
  g_autoptr(SomArray) pixels = npz_array (npz_rel, normalized ? "pixels" : "input");
  g_autoptr(SomArray) labels = npz_array (npz_rel, "labels");
  g_autoptr(SomArray) ref = npz_array (npz_rel, "fgsm_0.1");
  g_autoptr(SomArray) adv = NULL;
  g_autoptr(SomArray) grad = NULL;
  SomAttackParams p;
  SomPixelTransform tf;
  gsize n = som_array_n_elements (pixels), checked = 0;
  double gmax = 0;
  gint32 pred[4];

  som_pixel_transform_init_identity (&tf, pixels->shape[1]);
  if (normalized)
    for (guint c = 0; c < 3; c++)
      {
        tf.mean[c] = 0.286f;
        tf.std[c] = 0.353f;
      }
  som_attack_params_init (&p);
  p.eps = 0.1;
  g_assert_true (som_attack_run (model, &p, &tf, pixels, labels->data, &adv, pred, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (som_attack_pixel_gradient (model, &tf, pixels, labels->data, &grad, NULL, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < n; i++)
    gmax = MAX (gmax, fabsf (((float *) grad->data)[i]));
  for (gsize i = 0; i < n; i++)
    {
      float a = ((float *) adv->data)[i], b = ((float *) ref->data)[i];
      g_assert_cmpfloat (a, >=, 0.0f);
      g_assert_cmpfloat (a, <=, 1.0f);
      if (fabsf (((float *) grad->data)[i]) > 1e-6 * gmax)
        {
          g_assert_cmpfloat (a, ==, b);
          checked++;
        }
    }
  g_test_message ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " pixels compared", model_rel, checked, n);
  g_assert_cmpuint (checked, >, n / 2);
}

static void
test_fgsm_images_demo (void)
{
  check_fgsm_images ("data/models/fashion-resnet.onnx", "tests/data/fixtures/demo.npz", FALSE);
}

static void
test_fgsm_images_mlp (void)
{
  check_fgsm_images ("tests/data/fixtures/mlp.onnx", "tests/data/fixtures/mlp.npz", FALSE);
}

static void
test_fgsm_images_bnres (void)
{
  check_fgsm_images ("tests/data/fixtures/bnres.onnx", "tests/data/fixtures/bnres.npz", TRUE);
}

static double
reference (const char *key, const char *member)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *p = source_path ("tests/data/fixtures/reference.json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;

  json_parser_load_from_file (parser, p, &error);
  g_assert_no_error (error);
  o = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "attacks");
  o = json_object_get_object_member (o, key);
  return json_object_get_double_member (o, member);
}

/* Runs an attack on the first ACC_COUNT Fashion-MNIST test images. */
static void
accuracy_case (const char *model_rel, const SomAttackParams *p, guint pad, gboolean normalize,
               double *clean_acc, double *adv_acc)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = load_model (model_rel);
  SomDatasetOptions dopts = { NULL, NULL, ACC_COUNT };
  g_autoptr(SomDataset) ds = som_dataset_open (FASHION, &dopts, NULL, &error);
  SomPreprocessOptions popts = { 0 };
  g_autoptr(SomPreprocess) pre = NULL;
  g_autoptr(SomArray) pixels = NULL;
  g_autoptr(SomArray) adv = NULL;
  g_autofree gint32 *clean = g_new (gint32, ACC_COUNT);
  g_autofree gint32 *advp = g_new (gint32, ACC_COUNT);
  guint c, h, w;
  gboolean cl;
  SomPixelTransform tf;
  SomAttackStats st;

  g_assert_no_error (error);
  popts.pad = pad;
  if (normalize)
    {
      popts.n_mean = popts.n_std = 1;
      popts.mean[0] = 0.286f;
      popts.std[0] = 0.353f;
    }
  g_assert_true (som_model_get_image_shape (model, &c, &h, &w, &cl, &error));
  pre = som_preprocess_new (ds, &popts, c, h, w, cl, &error);
  g_assert_no_error (error);
  pixels = som_preprocess_read_pixels (pre, 0, ACC_COUNT, &error);
  g_assert_no_error (error);
  som_pixel_transform_init_from_preprocess (&tf, pre);
  g_assert_true (som_attack_predict (model, &tf, pixels, 64, clean, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (som_attack_run (model, p, &tf, pixels, som_dataset_get_labels (ds), &adv, advp, NULL, NULL,
                                 NULL, &error));
  g_assert_no_error (error);
  som_attack_stats (som_dataset_get_labels (ds), clean, advp, pixels, adv, p->target, &st);
  *clean_acc = st.clean_accuracy;
  *adv_acc = st.adversarial_accuracy;
  g_assert_cmpfloat (st.mean_linf, <=, p->eps + 1e-6);
  if (p->norm == SOM_NORM_LINF && p->method == SOM_ATTACK_FGSM)
    g_assert_cmpfloat (st.mean_linf, >, 0.5 * p->eps);
}

static void
test_accuracy_fgsm_demo (void)
{
  SomAttackParams p;
  double ca, aa;

  som_attack_params_init (&p);
  accuracy_case ("data/models/fashion-resnet.onnx", &p, 0, FALSE, &ca, &aa);
  g_test_message ("demo FGSM: clean %.3f adversarial %.3f (PyTorch %.3f, %.3f)", ca, aa,
                  reference ("demo_fgsm_linf_0.1", "clean_accuracy"),
                  reference ("demo_fgsm_linf_0.1", "adversarial_accuracy"));
  g_assert_cmpfloat (fabs (ca - reference ("demo_fgsm_linf_0.1", "clean_accuracy")), <=, 0.01 + ACC_SLACK);
  g_assert_cmpfloat (fabs (aa - reference ("demo_fgsm_linf_0.1", "adversarial_accuracy")), <=, 0.01 + ACC_SLACK);
}

static void
test_accuracy_pgd_demo (void)
{
  SomAttackParams p;
  double ca, aa;

  som_attack_params_init (&p);
  p.method = SOM_ATTACK_PGD;
  p.steps = 10;
  g_assert_cmpfloat (som_attack_params_get_alpha (&p), ==, 0.025);
  accuracy_case ("data/models/fashion-resnet.onnx", &p, 0, FALSE, &ca, &aa);
  g_test_message ("demo PGD: clean %.3f adversarial %.3f (PyTorch %.3f, %.3f)", ca, aa,
                  reference ("demo_pgd_linf_0.1", "clean_accuracy"),
                  reference ("demo_pgd_linf_0.1", "adversarial_accuracy"));
  g_assert_cmpfloat (fabs (aa - reference ("demo_pgd_linf_0.1", "adversarial_accuracy")), <=, 0.02 + ACC_SLACK);
}

static void
test_accuracy_fgsm_bnres_pixel_space (void)
{
  SomAttackParams p;
  double ca, aa, pitfall = reference ("bnres_fgsm_linf_0.1", "adversarial_accuracy_if_normalized_space");

  som_attack_params_init (&p);
  accuracy_case ("tests/data/fixtures/bnres.onnx", &p, 2, TRUE, &ca, &aa);
  g_test_message ("bnres FGSM in pixel space: clean %.3f adversarial %.3f (PyTorch %.3f, %.3f; "
                  "normalized-space pitfall %.3f)", ca, aa,
                  reference ("bnres_fgsm_linf_0.1", "clean_accuracy"),
                  reference ("bnres_fgsm_linf_0.1", "adversarial_accuracy"), pitfall);
  g_assert_cmpfloat (fabs (ca - reference ("bnres_fgsm_linf_0.1", "clean_accuracy")), <=, 0.01 + ACC_SLACK);
  g_assert_cmpfloat (fabs (aa - reference ("bnres_fgsm_linf_0.1", "adversarial_accuracy")), <=, 0.01 + ACC_SLACK);
}

/* L2 attacks stay in the ε ball; targeted PGD drives inputs to the target;
 * the same seed gives the same images whatever the batch size. */
static void
test_l2_targeted_seeded (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = load_model ("tests/data/fixtures/mlp.onnx");
  g_autoptr(SomArray) pixels = npz_array ("tests/data/fixtures/mlp.npz", "input");
  g_autoptr(SomArray) labels = npz_array ("tests/data/fixtures/mlp.npz", "labels");
  g_autoptr(SomArray) a1 = NULL;
  g_autoptr(SomArray) a2 = NULL;
  g_autoptr(SomArray) a3 = NULL;
  SomAttackParams p;
  SomPixelTransform tf;
  SomAttackStats st;
  gint32 clean[4], pred[4];

  som_pixel_transform_init_identity (&tf, 1);
  g_assert_true (som_attack_predict (model, &tf, pixels, 4, clean, NULL, &error));

  som_attack_params_init (&p);
  p.norm = SOM_NORM_L2;
  p.eps = 1.5;
  g_assert_true (som_attack_run (model, &p, &tf, pixels, labels->data, &a1, pred, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  som_attack_stats (labels->data, clean, pred, pixels, a1, -1, &st);
  g_assert_cmpfloat (st.mean_l2, <=, 1.5 + 1e-4);
  g_assert_cmpfloat (st.mean_l2, >, 0.5);

  som_attack_params_init (&p);
  p.method = SOM_ATTACK_PGD;
  p.norm = SOM_NORM_LINF;
  p.eps = 0.3;
  p.steps = 20;
  p.target = 3;
  p.random_start = TRUE;
  p.seed = 7;
  p.batch_size = 4;
  g_assert_true (som_attack_run (model, &p, &tf, pixels, labels->data, &a2, pred, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (pred[i], ==, 3);
  p.batch_size = 1;
  g_assert_true (som_attack_run (model, &p, &tf, pixels, labels->data, &a3, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (a2->data, som_array_n_bytes (a2), a3->data, som_array_n_bytes (a3));
}

/* The parameters a session keeps come back as they were written; what is
 * not a set of parameters is refused, saying what */
static void
test_params_json (void)
{
  SomAttackParams p, q;
  static const char *const bad[][2] = {
    { "[1, 2]", "not an object" },
    { "{\"eps\": 0.1}", "method" },
    { "{\"method\": \"bim\", \"eps\": 0.1}", "method" },
    { "{\"method\": \"fgsm\", \"norm\": \"l1\", \"eps\": 0.1}", "norm" },
    { "{\"method\": \"fgsm\"}", "ε" },
    { "{\"method\": \"fgsm\", \"eps\": \"0.1\"}", "ε" },
    { "{\"method\": \"fgsm\", \"eps\": -0.5}", "ε" },
  };

  for (int round = 0; round < 3; round++)
    {
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(GError) error = NULL;

      som_attack_params_init (&p);
      if (round == 1)
        {
          p.method = SOM_ATTACK_PGD;
          p.norm = SOM_NORM_L2;
          p.eps = 0.5;
          p.steps = 7;
          p.alpha = 0.125;
          p.random_start = TRUE;
          p.restarts = 3;
          p.seed = 42;
        }
      else if (round == 2)
        {
          p.eps = 0.03125;
          p.target = 4;
          p.labels_from = SOM_LABELS_MODEL;
          p.seed = G_GUINT64_CONSTANT (1) << 40;
        }
      node = som_attack_params_to_json (&p);
      g_assert_true (som_attack_params_from_json (node, &q, &error));
      g_assert_no_error (error);
      g_assert_cmpint (q.method, ==, p.method);
      g_assert_cmpint (q.norm, ==, p.norm);
      g_assert_cmpfloat (q.eps, ==, p.eps);
      g_assert_cmpint (q.target, ==, p.target);
      g_assert_cmpint (q.labels_from, ==, p.labels_from);
      g_assert_cmpuint (q.seed, ==, p.seed);
      if (p.method == SOM_ATTACK_PGD)
        {
          g_assert_cmpuint (q.steps, ==, p.steps);
          g_assert_cmpfloat (q.alpha, ==, p.alpha);
          g_assert_true (q.random_start);
          g_assert_cmpuint (q.restarts, ==, p.restarts);
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) node = json_from_string (bad[i][0], NULL);
      g_autoptr(GError) error = NULL;

      g_assert_nonnull (node);
      g_assert_false (som_attack_params_from_json (node, &q, &error));
      g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
      if (strstr (error->message, bad[i][1]) == NULL)
        g_error ("%s: \"%s\" does not say %s", bad[i][0], error->message, bad[i][1]);
    }
}

static void
test_bad_params (void)
{
  g_autoptr(GError) error = NULL;
  SomAttackParams p;

  som_attack_params_init (&p);
  p.eps = -0.1;
  g_assert_false (som_attack_params_check (&p, 10, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "ε"));
  g_clear_error (&error);

  som_attack_params_init (&p);
  p.method = SOM_ATTACK_PGD;
  p.steps = 0;
  g_assert_false (som_attack_params_check (&p, 10, &error));
  g_assert_nonnull (strstr (error->message, "step"));
  g_clear_error (&error);

  som_attack_params_init (&p);
  p.target = 10;
  g_assert_false (som_attack_params_check (&p, 10, &error));
  g_assert_nonnull (strstr (error->message, "target class 10"));
  g_clear_error (&error);

  som_attack_params_init (&p);
  p.eps = NAN;
  g_assert_false (som_attack_params_check (&p, 10, &error));
  g_clear_error (&error);
}

/* A label outside the model's classes is refused by the gradient. */
static void
test_bad_label (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = load_model ("tests/data/fixtures/mlp.onnx");
  g_autoptr(SomArray) pixels = npz_array ("tests/data/fixtures/mlp.npz", "input");
  g_autoptr(SomArray) grad = NULL;
  gint32 labels[4] = { 0, 1, 12, 3 };

  g_assert_false (som_model_input_gradient (model, pixels, labels, &grad, NULL, NULL, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "label 12"));
  g_assert_null (grad);
}

/* ---- cancellation -------------------------------------------------------------- */

typedef struct
{
  GMutex lock;
  GCond cond;
  guint reports, reports_after_cancel;
  gboolean cancelled, finished;
  GCancellable *cancellable;
  SomModel *model;
  const SomArray *pixels;
  const gint32 *labels;
  SomAttackParams params;
  gboolean ok;
  GError *error;
} CancelRun;

static void
cancel_progress (double fraction, const char *message, gpointer data)
{
  CancelRun *r = data;

  g_mutex_lock (&r->lock);
  r->reports++;
  if (r->cancelled)
    r->reports_after_cancel++;
  g_cond_signal (&r->cond);
  g_mutex_unlock (&r->lock);
}

static gpointer
cancel_run_thread (gpointer data)
{
  CancelRun *r = data;
  SomPixelTransform tf;
  g_autoptr(SomArray) adv = NULL;

  som_pixel_transform_init_identity (&tf, 1);
  r->ok = som_attack_run (r->model, &r->params, &tf, r->pixels, r->labels, &adv, NULL, r->cancellable,
                          cancel_progress, r, &r->error);
  g_mutex_lock (&r->lock);
  r->finished = TRUE;
  g_cond_signal (&r->cond);
  g_mutex_unlock (&r->lock);
  return NULL;
}

/* A long PGD attack (1,000 steps) is cancelled from another thread as soon
 * as it reports its first step: it returns G_IO_ERROR_CANCELLED, and at most
 * the step in flight per worker completes after the cancel.  Once with one
 * batch (the cancel lands between steps) and once with many small batches
 * (between batches too). */
static void
test_cancel_pgd (void)
{
  g_autoptr(SomModel) model = load_model ("data/models/fashion-resnet.onnx");
  g_autoptr(GRand) rnd = g_rand_new_with_seed (3);
  gsize shape[4] = { 64, 1, 28, 28 };
  g_autoptr(SomArray) pixels = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  gint32 labels[64];
  const guint batch_sizes[2] = { 64, 4 };

  for (gsize i = 0; i < som_array_n_elements (pixels); i++)
    ((float *) pixels->data)[i] = (float) g_rand_double (rnd);
  for (guint i = 0; i < 64; i++)
    labels[i] = g_rand_int_range (rnd, 0, 10);
  for (guint k = 0; k < G_N_ELEMENTS (batch_sizes); k++)
    {
      CancelRun r = { 0 };
      GThread *t;
      gint64 t0;
      g_mutex_init (&r.lock);
      g_cond_init (&r.cond);
      r.cancellable = g_cancellable_new ();
      r.model = model;
      r.pixels = pixels;
      r.labels = labels;
      som_attack_params_init (&r.params);
      r.params.method = SOM_ATTACK_PGD;
      r.params.eps = 0.1;
      r.params.steps = 1000;
      r.params.batch_size = batch_sizes[k];
      t = g_thread_new ("attack", cancel_run_thread, &r);
      g_mutex_lock (&r.lock);
      while (r.reports == 0 && !r.finished)
        g_cond_wait (&r.cond, &r.lock);
      r.cancelled = TRUE;
      g_mutex_unlock (&r.lock);
      t0 = g_get_monotonic_time ();
      g_cancellable_cancel (r.cancellable);
      g_thread_join (t);
      g_test_message ("batch size %u: returned %.0f ms after the cancel; %u progress reports, %u after the cancel",
                      batch_sizes[k], (g_get_monotonic_time () - t0) / 1e3, r.reports, r.reports_after_cancel);
      g_assert_false (r.ok);
      g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpuint (r.reports_after_cancel, <=, 2);
      g_clear_error (&r.error);
      g_object_unref (r.cancellable);
      g_mutex_clear (&r.lock);
      g_cond_clear (&r.cond);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/attack/fgsm-images/demo", test_fgsm_images_demo);
  g_test_add_func ("/attack/fgsm-images/mlp", test_fgsm_images_mlp);
  g_test_add_func ("/attack/fgsm-images/bnres-pixel-space", test_fgsm_images_bnres);
  g_test_add_func ("/attack/l2-targeted-seeded", test_l2_targeted_seeded);
  g_test_add_func ("/attack/bad-params", test_bad_params);
  g_test_add_func ("/attack/params-json", test_params_json);
  g_test_add_func ("/attack/bad-label", test_bad_label);
  g_test_add_func ("/attack/cancel-pgd", test_cancel_pgd);
  g_test_add_func ("/attack/accuracy/fgsm-demo", test_accuracy_fgsm_demo);
  g_test_add_func ("/attack/accuracy/pgd-demo", test_accuracy_pgd_demo);
  g_test_add_func ("/attack/accuracy/fgsm-bnres-pixel-space", test_accuracy_fgsm_bnres_pixel_space);
  return g_test_run ();
}
