/* test-cancel-attack.c: FGSM and PGD started and cancelled 200 times each
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * As test-cancel.c does for training and inference (issue 8): each attack
 * runs in a GTask thread and is cancelled after a random delay from a seeded
 * GRand (0–8 ms: before it starts, in its set-up or in the middle); every
 * 25th round is left to finish.  The
 * test waits for every completion on the main loop, never by sleeping (a
 * watchdog fails a stuck worker), checks a cancelled attack reports
 * G_IO_ERROR_CANCELLED and returns no images, a finished one is bit-identical
 * to an uninterrupted run, and the model is finalized at the end.
 * LeakSanitizer checks the rest in the sanitizer pass.
 */
#include "config.h"

#include <string.h>

#include "som.h"

#define ROUNDS 200
#define N_IMAGES 16

static GRand *rng;

static char *
source_path (const char *rel)
{
  const char *root = g_getenv ("SOMSCOPE_SOURCE_DIR");
  return g_build_filename (root != NULL ? root : SOMSCOPE_SOURCE_DIR, rel, NULL);
}

static gboolean
watchdog (gpointer data)
{
  g_error ("a cancelled attack did not complete within 120 s: a stuck worker");
  return G_SOURCE_REMOVE;
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  SomModel          *model;
  SomAttackParams    params;
  SomPixelTransform  tf;
  const SomArray    *pixels;
  const gint32      *labels;
} AttackInput;

typedef struct
{
  gboolean  done;
  SomArray *adversarial;
  gint32    predictions[N_IMAGES];
  GError   *error;
} AttackJob;

static void
attack_thread (GTask *task, gpointer source, gpointer data, GCancellable *c)
{
  AttackJob *job = data;
  AttackInput *in = g_object_get_data (G_OBJECT (task), "input");
  GError *error = NULL;

  if (!som_attack_run (in->model, &in->params, &in->tf, in->pixels, in->labels, &job->adversarial,
                       job->predictions, c, NULL, NULL, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
attack_done (GObject *source, GAsyncResult *result, gpointer data)
{
  AttackJob *job = data;

  g_task_propagate_boolean (G_TASK (result), &job->error);
  job->done = TRUE;
}

static void
stress (SomAttackMethod method)
{
  g_autofree char *model_path = source_path ("data/models/fashion-resnet.onnx");
  g_autofree char *images_path = source_path ("data/fashion-mnist-demo/t10k-images-idx3-ubyte.gz");
  SomDatasetOptions opts = { .limit = N_IMAGES };
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = som_dataset_open (images_path, &opts, NULL, &error);
  g_autoptr(SomArray) pixels = NULL;
  SomModel *model = som_model_load (model_path, &error);
  AttackInput in = { 0 };
  g_autoptr(SomArray) reference = NULL;
  gint32 reference_predictions[N_IMAGES];
  guint dog = g_timeout_add_seconds (120, watchdog, NULL);
  guint cancelled = 0, finished = 0;

  g_assert_no_error (error);
  pixels = som_dataset_read_batch (ds, 0, N_IMAGES, &error);
  g_assert_no_error (error);
  g_assert_true (som_dataset_has_labels (ds));
  in.model = model;
  som_attack_params_init (&in.params);
  in.params.method = method;
  in.params.eps = 0.1;
  in.params.steps = 3;
  som_pixel_transform_init_identity (&in.tf, pixels->shape[1]);
  in.pixels = pixels;
  in.labels = som_dataset_get_labels (ds);

  g_assert_true (som_attack_run (model, &in.params, &in.tf, pixels, in.labels, &reference,
                                 reference_predictions, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  for (guint round = 0; round < ROUNDS; round++)
    {
      g_autoptr(GCancellable) c = g_cancellable_new ();
      g_autoptr(GTask) task = NULL;
      AttackJob job = { 0 };
      gboolean uncancelled = round % 25 == 24;
      guint ms = g_rand_int_range (rng, 0, 9);
      guint timer = 0;

      task = g_task_new (NULL, c, attack_done, &job);
      g_object_set_data (G_OBJECT (task), "input", &in);
      g_task_set_task_data (task, &job, NULL);
      g_task_set_return_on_cancel (task, FALSE);
      /* The attack's own result: by default a cancellation that comes after
       * the attack finished (it takes a few milliseconds) would turn its
       * images into G_IO_ERROR_CANCELLED. */
      g_task_set_check_cancellable (task, FALSE);
      g_task_run_in_thread (task, attack_thread);
      if (uncancelled)
        ;
      else if (ms == 0)
        g_cancellable_cancel (c);
      else
        timer = g_timeout_add_full (G_PRIORITY_HIGH, ms, cancel_cb, g_object_ref (c), g_object_unref);
      while (!job.done)
        g_main_context_iteration (NULL, TRUE);
      if (timer != 0 && !g_cancellable_is_cancelled (c))
        g_source_remove (timer);
      if (uncancelled)
        g_assert_no_error (job.error);
      if (job.error == NULL)
        {
          /* Finished first: the images and predictions of an uninterrupted run. */
          g_assert_nonnull (job.adversarial);
          g_assert_cmpmem (job.adversarial->data, som_array_n_bytes (job.adversarial), reference->data,
                           som_array_n_bytes (reference));
          g_assert_cmpmem (job.predictions, sizeof job.predictions, reference_predictions,
                           sizeof reference_predictions);
          som_array_free (job.adversarial);
          finished++;
        }
      else
        {
          g_assert_error (job.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          g_assert_null (job.adversarial);
          g_clear_error (&job.error);
          cancelled++;
        }
    }
  g_source_remove (dog);
  g_test_message ("%s: %u cancelled, %u finished first", som_attack_method_to_string (method), cancelled,
                  finished);
  g_assert_cmpuint (cancelled, >=, ROUNDS / 4);
  g_assert_cmpuint (finished, >=, ROUNDS / 25);
  /* The attack threads have let go of the model: this is the last reference. */
  g_object_add_weak_pointer (G_OBJECT (model), (gpointer *) &model);
  g_object_unref (model);
  g_assert_null (model);
}

static void
test_cancel_fgsm (void)
{
  stress (SOM_ATTACK_FGSM);
}

static void
test_cancel_pgd (void)
{
  stress (SOM_ATTACK_PGD);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (20261126);
  g_test_add_func ("/cancel/attack/fgsm", test_cancel_fgsm);
  g_test_add_func ("/cancel/attack/pgd", test_cancel_pgd);
  return g_test_run ();
}
