/* test-cancel.c: cancellation under stress and threads sharing core objects
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * SOM training and inference are started and cancelled 200 times in a row,
 * each after a random delay (the delay is what is being tested: before the
 * job starts, in its set-up, in the middle, or after it ended).  The test
 * waits for every job's completion callback on the main loop, never by
 * sleeping; a stuck worker would hang here and fail by meson's timeout (and
 * the watchdog below).  Every result and error is checked, and every map and
 * model is checked to be finalized (no reference leaks); LeakSanitizer checks
 * the rest in the sanitizer pass.  The threads tests run under TSan as well
 * (build-tsan, suite 'tsan').
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som.h"

#define ROUNDS 200

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
  g_error ("a cancelled job did not complete within 120 s: a stuck worker");
  return G_SOURCE_REMOVE;
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* Cancels @c after a random delay of 0–@max_ms ms (0: at once, before the
 * job has even started). */
static guint
cancel_later (GCancellable *c, guint max_ms)
{
  guint ms = g_rand_int_range (rng, 0, max_ms + 1);

  if (ms == 0)
    {
      g_cancellable_cancel (c);
      return 0;
    }
  return g_timeout_add_full (G_PRIORITY_HIGH, ms, cancel_cb, g_object_ref (c), g_object_unref);
}

static SomArray *
random_matrix (gsize n, gsize d, guint32 seed)
{
  gsize shape[2] = { n, d };
  SomArray *x = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  float *f = x->data;

  for (gsize i = 0; i < n * d; i++)
    f[i] = (float) g_rand_double_range (r, -1, 1) + (i % d == 0 ? (float) (i / d % 4) : 0.f);
  return x;
}

/* ---- SOM training ---------------------------------------------------------- */

typedef struct
{
  gboolean done;
  SomMap  *map;
  GError  *error;
} TrainJob;

static void
train_done (GObject *source, GAsyncResult *result, gpointer data)
{
  TrainJob *job = data;

  job->map = som_trainer_train_finish (result, &job->error);
  job->done = TRUE;
}

static void
progress_cb (double fraction, const char *message, gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

static void
test_cancel_training (void)
{
  g_autoptr(SomArray) x = random_matrix (3000, 24, 1);
  g_autoptr(SomChunkSource) source = som_chunk_source_new_for_array (som_array_copy (x));
  guint dog = g_timeout_add_seconds (120, watchdog, NULL);
  guint cancelled = 0, finished = 0;
  int progress_calls = 0;

  for (guint round = 0; round < ROUNDS; round++)
    {
      g_autoptr(GCancellable) c = g_cancellable_new ();
      SomTrainParams p;
      TrainJob job = { 0 };
      guint timer;

      som_train_params_init (&p);
      p.rows = 8;
      p.cols = 10;
      p.epochs = 20;
      p.mode = round % 3 == 2 ? SOM_MODE_ONLINE : SOM_MODE_BATCH;
      p.init = round % 2 ? SOM_INIT_RANDOM : SOM_INIT_PCA;
      p.chunk_rows = 500;
      p.seed = round;
      som_trainer_train_async (&p, source, NULL, c, progress_cb, &progress_calls, train_done, &job);
      /* Every 25th round late enough that the job may have finished. */
      timer = cancel_later (c, round % 25 == 24 ? 1500 : 15);
      while (!job.done)
        g_main_context_iteration (NULL, TRUE);
      if (timer != 0 && !g_cancellable_is_cancelled (c))
        g_source_remove (timer);
      if (job.map != NULL)
        {
          /* It finished first: a whole, valid result. */
          g_assert_no_error (job.error);
          g_assert_nonnull (som_map_get_array (job.map, "bmus"));
          g_assert_true (isfinite (som_map_get_quantization_error (job.map)));
          g_object_add_weak_pointer (G_OBJECT (job.map), (gpointer *) &job.map);
          g_object_unref (job.map);
          g_assert_null (job.map);
          finished++;
        }
      else
        {
          g_assert_error (job.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          g_clear_error (&job.error);
          cancelled++;
        }
    }
  g_source_remove (dog);
  g_test_message ("training: %u cancelled, %u finished first", cancelled, finished);
  /* Most rounds must really have been cancelled (else nothing was tested). */
  g_assert_cmpuint (cancelled, >=, ROUNDS / 2);
  /* The source is intact after 200 interrupted passes: a full run still works. */
  {
    SomTrainParams p;
    g_autoptr(GError) error = NULL;
    g_autoptr(SomMap) map = NULL;

    som_train_params_init (&p);
    p.rows = 4;
    p.cols = 5;
    p.epochs = 2;
    map = som_trainer_train (&p, source, NULL, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (map);
  }
}

/* ---- inference ------------------------------------------------------------- */

typedef struct
{
  SomModel *model;
  SomArray *images;
} RunData;

static void
run_thread (GTask *task, gpointer source, gpointer data, GCancellable *c)
{
  RunData *rd = data;
  GError *error = NULL;
  SomArray *out = som_model_run_images (rd->model, rd->images, NULL, 0, NULL, c, &error);

  if (out == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, out, (GDestroyNotify) som_array_free);
}

typedef struct
{
  gboolean  done;
  SomArray *out;
  GError   *error;
} RunJob;

static void
run_done (GObject *source, GAsyncResult *result, gpointer data)
{
  RunJob *job = data;

  job->out = g_task_propagate_pointer (G_TASK (result), &job->error);
  job->done = TRUE;
}

static SomArray *
fashion_batch (gsize n)
{
  g_autofree char *path = source_path ("data/fashion-mnist-demo/t10k-images-idx3-ubyte.gz");
  SomDatasetOptions opts = { .limit = n };
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = som_dataset_open (path, &opts, NULL, &error);
  SomArray *batch;

  g_assert_no_error (error);
  batch = som_dataset_read_batch (ds, 0, n, &error);
  g_assert_no_error (error);
  return batch;
}

static void
test_cancel_inference (void)
{
  g_autofree char *path = source_path ("data/models/fashion-resnet.onnx");
  g_autoptr(GError) error = NULL;
  SomModel *model = som_model_load (path, &error);
  g_autoptr(SomArray) images = fashion_batch (32);
  g_autoptr(SomArray) reference = NULL;
  RunData rd = { model, images };
  guint dog = g_timeout_add_seconds (120, watchdog, NULL);
  guint cancelled = 0, finished = 0;

  g_assert_no_error (error);
  reference = som_model_run_images (model, images, NULL, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint round = 0; round < ROUNDS; round++)
    {
      g_autoptr(GCancellable) c = g_cancellable_new ();
      g_autoptr(GTask) task = NULL;
      RunJob job = { 0 };
      guint timer;

      task = g_task_new (NULL, c, run_done, &job);
      g_task_set_task_data (task, &rd, NULL);
      g_task_set_return_on_cancel (task, FALSE);
      g_task_run_in_thread (task, run_thread);
      timer = cancel_later (c, round % 25 == 24 ? 800 : 8);
      while (!job.done)
        g_main_context_iteration (NULL, TRUE);
      if (timer != 0 && !g_cancellable_is_cancelled (c))
        g_source_remove (timer);
      if (job.out != NULL)
        {
          /* Finished first: the same logits as an uninterrupted run. */
          g_assert_no_error (job.error);
          g_assert_cmpmem (job.out->data, som_array_n_bytes (job.out), reference->data,
                           som_array_n_bytes (reference));
          som_array_free (job.out);
          finished++;
        }
      else
        {
          g_assert_error (job.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          g_clear_error (&job.error);
          cancelled++;
        }
    }
  g_source_remove (dog);
  g_test_message ("inference: %u cancelled, %u finished first", cancelled, finished);
  g_assert_cmpuint (cancelled, >=, ROUNDS / 4);
  /* GTask threads have let go of the model: this is the last reference. */
  g_object_add_weak_pointer (G_OBJECT (model), (gpointer *) &model);
  g_object_unref (model);
  g_assert_null (model);
}

/* ---- threads sharing one model, parallel trainers --------------------------- */

typedef struct
{
  SomModel       *model;
  const SomArray *images;
  SomArray       *out;
} SharedRun;

static gpointer
shared_run_thread (gpointer data)
{
  SharedRun *r = data;
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 3; i++)
    {
      g_clear_pointer (&r->out, som_array_free);
      r->out = som_model_run_images (r->model, r->images, NULL, 0, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  return NULL;
}

static void
test_threads_share_model (void)
{
  g_autofree char *path = source_path ("data/models/fashion-resnet.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = som_model_load (path, &error);
  g_autoptr(SomArray) images = fashion_batch (16);
  SharedRun runs[4];
  GThread *threads[4];

  g_assert_no_error (error);
  for (guint t = 0; t < 4; t++)
    {
      runs[t] = (SharedRun) { model, images, NULL };
      threads[t] = g_thread_new ("shared-model", shared_run_thread, &runs[t]);
    }
  for (guint t = 0; t < 4; t++)
    g_thread_join (threads[t]);
  {
    g_autoptr(SomArray) alone = som_model_run_images (model, images, NULL, 0, NULL, NULL, &error);
    g_assert_no_error (error);
    for (guint t = 0; t < 4; t++)
      {
        g_assert_cmpmem (runs[t].out->data, som_array_n_bytes (runs[t].out), alone->data,
                         som_array_n_bytes (alone));
        som_array_free (runs[t].out);
      }
  }
}

typedef struct
{
  gboolean done;
  SomMap  *map;
  GError  *error;
} ParallelJob;

static void
parallel_done (GObject *source, GAsyncResult *result, gpointer data)
{
  ParallelJob *job = data;

  job->map = som_trainer_train_finish (result, &job->error);
  job->done = TRUE;
}

static void
test_parallel_trainers (void)
{
  g_autoptr(SomArray) x = random_matrix (1500, 12, 2);
  g_autoptr(SomChunkSource) shared = som_chunk_source_new_for_array (som_array_copy (x));
  ParallelJob jobs[3] = { 0 };
  g_autoptr(SomMap) alone = NULL;
  g_autoptr(GError) error = NULL;
  SomTrainParams p;

  som_train_params_init (&p);
  p.rows = 6;
  p.cols = 6;
  p.epochs = 5;
  p.seed = 3;
  p.chunk_rows = 256;
  /* Three trainers at once, two on the same source. */
  for (guint t = 0; t < 3; t++)
    {
      g_autoptr(SomChunkSource) own = som_chunk_source_new_for_array (som_array_copy (x));
      som_trainer_train_async (&p, t < 2 ? shared : own, NULL, NULL, NULL, NULL, parallel_done, &jobs[t]);
    }
  for (guint t = 0; t < 3; t++)
    while (!jobs[t].done)
      g_main_context_iteration (NULL, TRUE);
  alone = som_trainer_train (&p, shared, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint t = 0; t < 3; t++)
    {
      g_assert_no_error (jobs[t].error);
      g_assert_cmpmem (som_map_get_codebook (jobs[t].map),
                       som_map_get_n_units (alone) * som_map_get_dim (alone) * sizeof (float),
                       som_map_get_codebook (alone),
                       som_map_get_n_units (alone) * som_map_get_dim (alone) * sizeof (float));
      g_object_unref (jobs[t].map);
    }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (20261126);
  if (!g_getenv ("SOMSCOPE_TSAN"))
    {
      g_test_add_func ("/cancel/som-training", test_cancel_training);
      g_test_add_func ("/cancel/inference", test_cancel_inference);
    }
  g_test_add_func ("/threads/share-model", test_threads_share_model);
  g_test_add_func ("/threads/parallel-trainers", test_parallel_trainers);
  ret = g_test_run ();
  g_rand_free (rng);
  return ret;
}
