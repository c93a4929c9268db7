/* test-cancel.c: cancellation under stress and threads sharing core objects
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * SOM training, inference and attacks are each started and cancelled 200
 * times in a row.  Each job is cancelled from its own progress callback after
 * a random number of calls drawn from a seeded GRand (0: before it starts;
 * more than the job makes: it finishes first), so the rounds are the same in
 * every run and nothing sleeps; the callback runs on a worker thread while
 * other workers compute.  The test waits for every job's completion callback
 * on the main loop; a watchdog fails a job that has not completed 60 s after
 * its start (a stuck worker).  Every result and error is checked, and every
 * map and model is checked to be finalized (no reference leaks);
 * LeakSanitizer checks the rest in the sanitizer pass, and ThreadSanitizer
 * runs the whole file (build-tsan, suite 'tsan').
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som.h"
#include "som-tsan-private.h"

/* 200 rounds; under ThreadSanitizer (5–15× slower) 40, enough to interleave
 * a cancel with every stage, in a ./test that stays short. */
#ifdef SOM_TSAN
#define ROUNDS 40
#else
#define ROUNDS 200
#endif

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
  g_error ("a job did not complete within 60 s of its start: a stuck worker");
  return G_SOURCE_REMOVE;
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

/* ---- cancelling from the progress callback ---------------------------------- */

/* The job is cancelled from its own progress callback after a random number
 * of calls (0: before it starts; beyond the job's count: it finishes first),
 * drawn from the seeded GRand: the same rounds every run, no sleeps.  The
 * callback runs on a worker thread, so other workers are mid-computation
 * when it fires. */
typedef struct
{
  GCancellable *cancellable;
  int           calls;       /* atomic */
  int           cancel_at;   /* cancel on this call */
} Canceller;

static void
canceller_progress (double fraction, const char *message, gpointer data)
{
  Canceller *k = data;

  g_assert_true (isfinite (fraction) && fraction >= 0.0 && fraction <= 1.0);
  g_assert_nonnull (message);
  if (g_atomic_int_add (&k->calls, 1) + 1 == k->cancel_at)
    g_cancellable_cancel (k->cancellable);
}

/* Arms @k for a round: cancel after 0…@max_calls progress calls. */
static void
canceller_arm (Canceller *k, GCancellable *c, int max_calls)
{
  k->cancellable = c;
  k->calls = 0;
  k->cancel_at = g_rand_int_range (rng, 0, max_calls + 1);
  if (k->cancel_at == 0)
    g_cancellable_cancel (c);
}

static void
counting_progress (double fraction, const char *message, gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

/* A job run in a GTask thread, the way the app runs them. */
typedef gpointer (*JobFunc) (gpointer data, GCancellable *c, SomProgressFunc progress, gpointer progress_data,
                             GError **error);

typedef struct
{
  JobFunc   func;
  gpointer  data;
  Canceller *canceller;
} JobData;

typedef struct
{
  gboolean done;
  gpointer result;
  GError  *error;
} JobResult;

static void
job_thread (GTask *task, gpointer source, gpointer data, GCancellable *c)
{
  JobData *jd = (som_tsan_acquire (task), data);
  GError *error = NULL;
  gpointer out = jd->func (jd->data, c, canceller_progress, jd->canceller, &error);

  /* GTask hands the result to the main thread through GLib (invisible to
   * TSan: som-tsan-private.h). */
  som_tsan_release (task);
  if (out == NULL)
    {
      g_assert_nonnull (error);
      g_task_return_error (task, error);
    }
  else
    {
      g_assert_null (error);
      g_task_return_pointer (task, out, (GDestroyNotify) som_array_free);
    }
}

static void
job_done (GObject *source, GAsyncResult *result, gpointer data)
{
  JobResult *r = data;

  som_tsan_acquire (result);
  r->result = g_task_propagate_pointer (G_TASK (result), &r->error);
  r->done = TRUE;
}

/* Runs @func ROUNDS times, each cancelled after a random 0…@max_calls
 * progress calls; every finished run must give @reference bit for bit.
 * Returns how many were cancelled. */
static guint
cancel_rounds (const char *what, JobFunc func, gpointer data, const SomArray *reference, int max_calls)
{
  guint cancelled = 0, finished = 0;

  for (guint round = 0; round < ROUNDS; round++)
    {
      g_autoptr(GCancellable) c = g_cancellable_new ();
      g_autoptr(GTask) task = NULL;
      Canceller k;
      JobData jd = { func, data, &k };
      JobResult r = { 0 };
      guint dog;

      canceller_arm (&k, c, max_calls);
      task = g_task_new (NULL, c, job_done, &r);
      g_task_set_task_data (task, &jd, NULL);
      g_task_set_return_on_cancel (task, FALSE);
      som_tsan_release (task);
      g_task_run_in_thread (task, job_thread);
      dog = g_timeout_add_seconds (60, watchdog, NULL);
      while (!r.done)
        g_main_context_iteration (NULL, TRUE);
      g_source_remove (dog);
      if (r.result != NULL)
        {
          SomArray *out = r.result;

          /* Finished first (or cancelled after its last step): whole. */
          g_assert_no_error (r.error);
          g_assert_cmpmem (out->data, som_array_n_bytes (out), reference->data, som_array_n_bytes (reference));
          som_array_free (out);
          finished++;
        }
      else
        {
          g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          g_assert_true (g_cancellable_is_cancelled (c));
          g_clear_error (&r.error);
          cancelled++;
        }
    }
  g_test_message ("%s: %u cancelled, %u finished first", what, cancelled, finished);
  g_assert_cmpuint (cancelled + finished, ==, ROUNDS);
  /* Most rounds must really have been cancelled (else nothing was tested),
   * and some must have finished. */
  g_assert_cmpuint (cancelled, >=, ROUNDS / 2);
  g_assert_cmpuint (finished, >, 0);
  return cancelled;
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
train_params (SomTrainParams *p, guint round)
{
  som_train_params_init (p);
  p->rows = 8;
  p->cols = 10;
  p->epochs = 5;
  p->mode = round % 3 == 2 ? SOM_MODE_ONLINE : SOM_MODE_BATCH;
  p->init = round % 2 ? SOM_INIT_RANDOM : SOM_INIT_PCA;
  p->chunk_rows = 100;
  p->seed = round;
}

/* som_trainer_train_async, the app's and the CLI's path: cancelled from its
 * progress callback (on the training thread) at a random chunk. */
static void
test_cancel_training (void)
{
  g_autoptr(SomArray) x = random_matrix (600, 16, 1);
  g_autoptr(SomChunkSource) source = som_chunk_source_new_for_array (som_array_copy (x));
  guint cancelled = 0, finished = 0;
  int max_calls[6] = { 0 };

  /* How many progress calls a whole training makes (online and batch, PCA
   * and random differ; train_params cycles through them every 6 rounds). */
  for (guint round = 0; round < 6; round++)
    {
      SomTrainParams p;
      g_autoptr(GError) error = NULL;
      g_autoptr(SomMap) map = NULL;
      int calls = 0;

      train_params (&p, round);
      map = som_trainer_train (&p, source, NULL, NULL, counting_progress, &calls, &error);
      g_assert_no_error (error);
      max_calls[round] = calls;
      g_assert_cmpint (calls, >, 10);
    }

  for (guint round = 0; round < ROUNDS; round++)
    {
      g_autoptr(GCancellable) c = g_cancellable_new ();
      SomTrainParams p;
      TrainJob job = { 0 };
      Canceller k;
      guint dog;

      train_params (&p, round);
      /* Up to 10% past the end: those finish first. */
      canceller_arm (&k, c, max_calls[round % 6] + max_calls[round % 6] / 10);
      som_trainer_train_async (&p, source, NULL, c, canceller_progress, &k, train_done, &job);
      dog = g_timeout_add_seconds (60, watchdog, NULL);
      while (!job.done)
        g_main_context_iteration (NULL, TRUE);
      g_source_remove (dog);
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
  g_test_message ("training: %u cancelled, %u finished first", cancelled, finished);
  g_assert_cmpuint (cancelled, >=, ROUNDS / 2);
  g_assert_cmpuint (finished, >, 0);
  /* The source is intact after 200 interrupted passes: a full run still
   * gives the same map as before them. */
  {
    SomTrainParams p;
    g_autoptr(GError) error = NULL;
    g_autoptr(SomMap) before = NULL;
    g_autoptr(SomMap) after = NULL;
    g_autoptr(SomChunkSource) fresh = som_chunk_source_new_for_array (som_array_copy (x));

    train_params (&p, 0);
    before = som_trainer_train (&p, fresh, NULL, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    after = som_trainer_train (&p, source, NULL, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpmem (som_map_get_codebook (before),
                     som_map_get_n_units (before) * som_map_get_dim (before) * sizeof (float),
                     som_map_get_codebook (after),
                     som_map_get_n_units (after) * som_map_get_dim (after) * sizeof (float));
  }
}

/* ---- inference ------------------------------------------------------------- */

static SomArray *
fashion_batch (gsize n, SomArray **labels)
{
  g_autofree char *path = source_path ("data/fashion-mnist-demo/t10k-images-idx3-ubyte.gz");
  SomDatasetOptions opts = { .limit = n };
  g_autoptr(GError) error = NULL;
  g_autoptr(SomDataset) ds = som_dataset_open (path, &opts, NULL, &error);
  SomArray *batch;

  g_assert_no_error (error);
  batch = som_dataset_read_batch (ds, 0, n, &error);
  g_assert_no_error (error);
  if (labels != NULL)
    {
      *labels = som_array_new_1d_i32 (n);
      memcpy ((*labels)->data, som_dataset_get_labels (ds), n * sizeof (gint32));
    }
  return batch;
}

/* Inference the way the CLI and the app run it: batches of images on
 * som_batch_parallel's workers (two under OPENBLAS_NUM_THREADS=2), one
 * progress call per batch; when one worker cancels, the other is inside
 * som_model_run_images. */
#define INFER_IMAGES 16
#define INFER_BATCH 2

typedef struct
{
  SomModel        *model;
  const SomArray  *images;
  SomArray        *logits;
  GCancellable    *cancellable;
  SomProgressFunc  progress;
  gpointer         progress_data;
  gsize            done;
  GMutex           lock;
} InferRun;

static SomArray *
slice_rows (const SomArray *a, gsize start, gsize n)
{
  gsize row = som_array_n_elements (a) / a->shape[0];
  gsize shape[4];
  SomArray *part;

  memcpy (shape, a->shape, a->ndim * sizeof (gsize));
  shape[0] = n;
  part = som_array_new (a->dtype, a->ndim, shape, NULL);
  memcpy (part->data, (const guint8 *) a->data + start * row * som_dtype_size (a->dtype),
          n * row * som_dtype_size (a->dtype));
  return part;
}

static gboolean
infer_batch (gsize start, gsize n, gpointer data, GError **error)
{
  InferRun *ir = data;
  g_autoptr(SomArray) part = slice_rows (ir->images, start, n);
  g_autoptr(SomArray) out = som_model_run_images (ir->model, part, NULL, 0, NULL, ir->cancellable, error);

  if (out == NULL)
    return FALSE;
  g_mutex_lock (&ir->lock);
  if (ir->logits == NULL)
    {
      gsize shape[2] = { ir->images->shape[0], out->shape[1] };
      ir->logits = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);
    }
  memcpy ((float *) ir->logits->data + start * out->shape[1], out->data, som_array_n_bytes (out));
  ir->done += n;
  if (ir->progress != NULL)
    ir->progress ((double) ir->done / ir->images->shape[0], "inference", ir->progress_data);
  g_mutex_unlock (&ir->lock);
  return TRUE;
}

typedef struct
{
  SomModel       *model;
  const SomArray *images;
  const SomArray *labels;
} ModelJob;

static gpointer
infer_job (gpointer data, GCancellable *c, SomProgressFunc progress, gpointer progress_data, GError **error)
{
  ModelJob *mj = data;
  InferRun ir = { mj->model, mj->images, NULL, c, progress, progress_data, 0 };
  gboolean ok;

  g_mutex_init (&ir.lock);
  ok = som_batch_parallel (mj->images->shape[0], INFER_BATCH, infer_batch, &ir, c, error);
  g_mutex_clear (&ir.lock);
  if (!ok)
    {
      g_clear_pointer (&ir.logits, som_array_free);
      return NULL;
    }
  return ir.logits;
}

static void
test_cancel_inference (void)
{
  g_autofree char *path = source_path ("data/models/fashion-resnet.onnx");
  g_autoptr(GError) error = NULL;
  SomModel *model = som_model_load (path, &error);
  g_autoptr(SomArray) images = fashion_batch (INFER_IMAGES, NULL);
  g_autoptr(SomArray) reference = NULL;
  ModelJob mj = { model, images, NULL };

  g_assert_no_error (error);
  reference = infer_job (&mj, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  /* 8 batches; cancel at a call in 0…9. */
  cancel_rounds ("inference", infer_job, &mj, reference, INFER_IMAGES / INFER_BATCH + 2);
  /* The GTask threads have let go of the model: this is the last reference. */
  g_object_add_weak_pointer (G_OBJECT (model), (gpointer *) &model);
  g_object_unref (model);
  g_assert_null (model);
}

/* ---- attacks --------------------------------------------------------------- */

#define ATTACK_IMAGES 8

static gpointer
attack_job (gpointer data, GCancellable *c, SomProgressFunc progress, gpointer progress_data, GError **error)
{
  ModelJob *mj = data;
  SomAttackParams p;
  SomPixelTransform tf;
  SomArray *adv = NULL;

  som_attack_params_init (&p);
  p.method = SOM_ATTACK_PGD;
  p.eps = 0.1;
  p.steps = 1;
  p.random_start = TRUE;
  p.seed = 5;
  p.batch_size = 1;
  som_pixel_transform_init_identity (&tf, 1);
  if (!som_attack_run (mj->model, &p, &tf, mj->images, mj->labels->data, &adv, NULL, c, progress,
                       progress_data, error))
    {
      g_assert_null (adv);
      return NULL;
    }
  return adv;
}

/* som_attack_run (one PGD step from a random start on the demo ResNet,
 * batches of 1 on two workers),
 * cancelled from its progress callback after a random number of batches. */
static void
test_cancel_attack (void)
{
  g_autofree char *path = source_path ("data/models/fashion-resnet.onnx");
  g_autoptr(GError) error = NULL;
  SomModel *model = som_model_load (path, &error);
  g_autoptr(SomArray) labels = NULL;
  g_autoptr(SomArray) images = fashion_batch (ATTACK_IMAGES, &labels);
  g_autoptr(SomArray) reference = NULL;
  ModelJob mj = { model, images, labels };

  g_assert_no_error (error);
  reference = attack_job (&mj, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  /* 8 batches; cancel at a call in 0…9. */
  cancel_rounds ("attack", attack_job, &mj, reference, ATTACK_IMAGES + 2);
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
  g_autoptr(SomArray) images = fashion_batch (16, NULL);
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
  g_test_add_func ("/cancel/som-training", test_cancel_training);
  g_test_add_func ("/cancel/inference", test_cancel_inference);
  g_test_add_func ("/cancel/attack", test_cancel_attack);
  g_test_add_func ("/threads/share-model", test_threads_share_model);
  g_test_add_func ("/threads/parallel-trainers", test_parallel_trainers);
  ret = g_test_run ();
  g_rand_free (rng);
  return ret;
}
