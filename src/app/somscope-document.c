/* somscope-document.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
/* SCHED_IDLE */
#define _GNU_SOURCE
#include "config.h"

#include <math.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <cblas.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <gdk/gdk.h>

#include "som-activations.h"
#include "som-attack.h"
#include "som-colormap.h"
#include "som-dataset.h"
#include "som-features.h"
#include "som-model.h"
#include "som-map-file.h"
#include "som-preprocess.h"
#include "som-session.h"
#include "som-trainer.h"
#include "somscope-cpu-load.h"

#include "somscope-document.h"
#include "somscope-enums.h"
#include "somscope-mailbox.h"
#include "somscope-task-pool.h"

#define BATCH_SIZE 64
#define THUMBNAIL_SCALE 2

/* Progress of a job, written by its worker and shown by the main thread:
 * the worker leaves the latest values (atomically: no lock the main thread
 * could wait on, see somscope-mailbox.c) and posts the mail; its delivery
 * applies them to the owner (if it still lives and the job is still
 * current), which notifies its properties. */
typedef struct _JobProgress JobProgress;
typedef void (*JobProgressApply) (GObject     *owner,
                                  double       fraction,
                                  const char  *message,
                                  GCancellable *cancellable);

struct _JobProgress
{
  SomscopeMail      mail;        /* first: the mailbox takes the box's references */
  GWeakRef          owner;
  GCancellable     *cancellable;
  JobProgressApply  apply;
  gint              fraction;    /* atomic, in millionths */
  char             *message;     /* atomic; NULL: none new */
};

/* The kinds of jobs whose progress the document's one line and message
 * gather: each kind has its own fraction and message, so jobs running side
 * by side (the maps training while the attack runs) neither pull the line
 * back and forth nor swap the message at every report. */
typedef enum {
  PART_LOAD,
  PART_EXTRACT,
  PART_TRAIN,
  PART_ATTACK,
  N_PARTS
} JobPart;

struct _SomscopeDocument
{
  GObject parent_instance;

  /* Owned */
  GSettings             *settings;
  GListStore            *layers;
  GListStore            *inputs;
  GFile                 *model_file;
  GFile                 *dataset_file;
  GFile                 *activations_file;
  char                  *title;
  char                  *summary;
  char                  *message;
  char                  *estimate;        /* "about 2 min left", or NULL */
  gint64                 progress_t0;     /* when the current run of jobs started */
  double                 part_fraction[N_PARTS]; /* each kind of job's progress in this run, -1 if none ran */
  char                  *part_message[N_PARTS];  /* what it does; NULL once done */
  guint                  n_trained;       /* maps finished in this run */
  double                 progress_f0;     /* its progress then */
  GStrv                  class_names;
  SomscopeLayer         *selected_layer;
  GCancellable          *cancellable;     /* the current jobs; replaced on restart */
  GCancellable          *attack_cancellable; /* the attack's own: re-running it keeps the maps training */
  SomModel              *model;
  SomDataset            *dataset;
  SomPreprocess         *preprocess;
  SomArray              *labels;          /* N int32, or NULL */
  SomArray              *predictions;     /* N int32, or NULL */
  JobProgress           *load_progress;

  SomscopeDocumentState  state;
  double                 progress;
  int                    selected_input;
  int                    selected_unit;
  guint                  n_jobs;
  guint                  n_training;
  gsize                  n_inputs;
  guint                  n_logits;        /* the model's classes, from its output; 0 if unknown */
  gboolean               foreign_classes; /* the images' classes are not the model's (their counts differ) */
  gboolean               has_labels;
  gboolean               modified;        /* maps trained since the last save */
  SomPreprocessOptions   preprocessing;
  SomPreprocessOptions   suggestion;
  gboolean               has_suggestion;
  SomArray              *clean_pixels;       /* N×C×H×W in [0,1], after an attack */
  SomscopeCodes         *adversarial_pixels; /* the same, attacked (held by the jobs that read it) */
  GHashTable            *adversarial_pending; /* layers whose adversarial codes a job computes */
  GHashTable            *replayed;           /* input → Replay: a session's attack run again on it */
  SomArray              *adversarial_predictions;
  char                  *attack_summary;
  JsonNode              *attack;             /* the attack's flags, for sessions */
  /* What a session refers to, kept when the file is not there so that a
   * save does not drop it (and the user can locate a moved model). */
  char                  *model_sha256;       /* of the model file, or the session's record */
  char                  *model_ref_path;     /* the session's model path while not loaded */
  SomSessionRefState     model_state;
  char                  *dataset_sha256;
  char                  *dataset_ref_path;   /* the session's images while not there */
  JsonNode              *dataset_ref_preprocessing;
  JsonNode              *metrics;            /* a session's metrics.json, until retrained */
  GHashTable            *pending;         /* layers checked, waiting for the debounce */
  guint                  pending_id;
  guint                  retrain_id;      /* map settings changed, waiting for the debounce */
  guint                  attack_id;       /* attack settings changed, waiting for the debounce */
  gboolean               attacking;       /* an attack job is in flight */
  gboolean               hold_jobs;       /* a load's jobs wait for release_jobs() */
  gboolean               held_training;   /* ... the maps to train, waiting */
  gboolean               held_attack;     /* ... the attack, waiting */
};

enum {
  PROP_0,
  PROP_STATE,
  PROP_TITLE,
  PROP_SUMMARY,
  PROP_ATTACKING,
  PROP_LAYERS,
  PROP_INPUTS,
  PROP_BUSY,
  PROP_PROGRESS,
  PROP_MESSAGE,
  PROP_ESTIMATE,
  PROP_SELECTED_LAYER,
  PROP_SELECTED_INPUT,
  PROP_SELECTED_UNIT,
  N_PROPS
};

enum {
  AUTOSAVE_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SomscopeDocument, somscope_document, G_TYPE_OBJECT)

typedef struct _Replay Replay;
static void replay_free (Replay *r);

static void
somscope_document_dispose (GObject *object)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->attack_cancellable != NULL)
    g_cancellable_cancel (self->attack_cancellable);
  g_clear_object (&self->attack_cancellable);
  g_clear_handle_id (&self->pending_id, g_source_remove);
  g_clear_handle_id (&self->retrain_id, g_source_remove);
  g_clear_handle_id (&self->attack_id, g_source_remove);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_hash_table_remove_all (self->pending);
  g_hash_table_remove_all (self->adversarial_pending);
  g_clear_object (&self->selected_layer);
  G_OBJECT_CLASS (somscope_document_parent_class)->dispose (object);
}

static void
somscope_document_finalize (GObject *object)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->model);
  g_clear_object (&self->dataset);
  g_clear_pointer (&self->preprocess, som_preprocess_free);
  g_clear_pointer (&self->labels, som_array_free);
  g_clear_pointer (&self->predictions, som_array_free);
  g_clear_pointer (&self->clean_pixels, som_array_free);
  g_clear_pointer (&self->adversarial_pixels, somscope_codes_unref);
  g_clear_pointer (&self->adversarial_pending, g_hash_table_unref);
  g_clear_pointer (&self->replayed, g_hash_table_unref);
  g_clear_pointer (&self->adversarial_predictions, som_array_free);
  g_free (self->attack_summary);
  g_clear_pointer (&self->attack, json_node_unref);
  g_free (self->model_sha256);
  g_free (self->model_ref_path);
  g_free (self->dataset_sha256);
  g_free (self->dataset_ref_path);
  g_clear_pointer (&self->dataset_ref_preprocessing, json_node_unref);
  g_clear_pointer (&self->metrics, json_node_unref);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_object (&self->layers);
  g_clear_object (&self->inputs);
  g_clear_object (&self->model_file);
  g_clear_object (&self->dataset_file);
  g_clear_object (&self->activations_file);
  g_free (self->title);
  g_free (self->summary);
  g_free (self->message);
  g_free (self->estimate);
  for (guint i = 0; i < N_PARTS; i++)
    g_free (self->part_message[i]);
  g_strfreev (self->class_names);
  G_OBJECT_CLASS (somscope_document_parent_class)->finalize (object);
}

static void
somscope_document_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_ATTACKING:
      g_value_set_boolean (value, self->attacking);
      break;
    case PROP_SUMMARY:
      if (self->attack_summary != NULL)
        g_value_take_string (value, g_strdup_printf ("%s\n%s", self->summary, self->attack_summary));
      else
        g_value_set_string (value, self->summary);
      break;
    case PROP_LAYERS:
      g_value_set_object (value, self->layers);
      break;
    case PROP_INPUTS:
      g_value_set_object (value, self->inputs);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, somscope_document_get_busy (self));
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, self->message);
      break;
    case PROP_ESTIMATE:
      g_value_set_string (value, self->estimate);
      break;
    case PROP_SELECTED_LAYER:
      g_value_set_object (value, self->selected_layer);
      break;
    case PROP_SELECTED_INPUT:
      g_value_set_int (value, self->selected_input);
      break;
    case PROP_SELECTED_UNIT:
      g_value_set_int (value, self->selected_unit);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_document_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);

  switch (prop_id)
    {
    case PROP_SELECTED_LAYER:
      somscope_document_set_selected_layer (self, g_value_get_object (value));
      break;
    case PROP_SELECTED_INPUT:
      somscope_document_set_selected_input (self, g_value_get_int (value));
      break;
    case PROP_SELECTED_UNIT:
      somscope_document_set_selected_unit (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_document_class_init (SomscopeDocumentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = somscope_document_dispose;
  object_class->finalize = somscope_document_finalize;
  object_class->get_property = somscope_document_get_property;
  object_class->set_property = somscope_document_set_property;

  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, SOMSCOPE_TYPE_DOCUMENT_STATE,
                                              SOMSCOPE_DOCUMENT_STATE_EMPTY, ro);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, ro);
  properties[PROP_SUMMARY] = g_param_spec_string ("summary", NULL, NULL, NULL, ro);
  properties[PROP_ATTACKING] = g_param_spec_boolean ("attacking", NULL, NULL, FALSE, ro);
  properties[PROP_LAYERS] = g_param_spec_object ("layers", NULL, NULL, G_TYPE_LIST_MODEL, ro);
  properties[PROP_INPUTS] = g_param_spec_object ("inputs", NULL, NULL, G_TYPE_LIST_MODEL, ro);
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, ro);
  properties[PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, ro);
  properties[PROP_MESSAGE] = g_param_spec_string ("message", NULL, NULL, NULL, ro);
  properties[PROP_ESTIMATE] = g_param_spec_string ("estimate", NULL, NULL, NULL, ro);
  properties[PROP_SELECTED_LAYER] =
    g_param_spec_object ("selected-layer", NULL, NULL, SOMSCOPE_TYPE_LAYER, rw);
  properties[PROP_SELECTED_INPUT] =
    g_param_spec_int ("selected-input", NULL, NULL, -1, G_MAXINT, -1, rw);
  properties[PROP_SELECTED_UNIT] =
    g_param_spec_int ("selected-unit", NULL, NULL, -1, G_MAXINT, -1, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * SomscopeDocument::autosave-failed:
   * @path: the autosave file
   * @message: what went wrong
   *
   * The maps could not be written to the autosave file.  The document is
   * unchanged (still modified).
   */
  signals[AUTOSAVE_FAILED] = g_signal_new ("autosave-failed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
somscope_document_init (SomscopeDocument *self)
{
  self->layers = g_list_store_new (SOMSCOPE_TYPE_LAYER);
  self->inputs = g_list_store_new (SOMSCOPE_TYPE_INPUT);
  self->selected_input = -1;
  self->selected_unit = -1;
  self->class_names = g_new0 (char *, 1);
  self->pending = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->adversarial_pending = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->replayed = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) replay_free);
  for (guint i = 0; i < N_PARTS; i++)
    self->part_fraction[i] = -1;
  /* The workers' reports reach the main loop through it (any document's). */
  somscope_mailbox_attach (NULL);
}

static gboolean
retrain_timeout_cb (gpointer data)
{
  SomscopeDocument *self = data;

  self->retrain_id = 0;
  somscope_document_train (self);
  return G_SOURCE_REMOVE;
}

static gboolean
attack_timeout_cb (gpointer data)
{
  SomscopeDocument *self = data;

  self->attack_id = 0;
  somscope_document_attack (self);
  return G_SOURCE_REMOVE;
}

/* Changing the map settings retrains the maps, and changing the attack's
 * runs it again, once the user stops changing them (a spin button sends a
 * change per step). */
static void
settings_changed_cb (SomscopeDocument *self,
                     const char       *key,
                     GSettings        *settings)
{
  if (self->state != SOMSCOPE_DOCUMENT_STATE_READY)
    return;
  if (g_str_has_prefix (key, "attack-"))
    {
      g_clear_handle_id (&self->attack_id, g_source_remove);
      self->attack_id = g_timeout_add (600, attack_timeout_cb, self);
      return;
    }
  if (!g_str_has_prefix (key, "som-") || g_str_equal (key, "som-codes"))
    return;
  g_clear_handle_id (&self->retrain_id, g_source_remove);
  self->retrain_id = g_timeout_add (600, retrain_timeout_cb, self);
}

SomscopeDocument *
somscope_document_new (GSettings *settings)
{
  SomscopeDocument *self = g_object_new (SOMSCOPE_TYPE_DOCUMENT, NULL);

  self->settings = g_object_ref (settings);
  g_signal_connect_swapped (settings, "changed", G_CALLBACK (settings_changed_cb), self);
  return self;
}

static void load_thread_body (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable);

static void
load_thread (GTask        *task,
    gpointer      source_object,
    gpointer      task_data,
    GCancellable *cancellable)
{
  somscope_worker_enter ();
  load_thread_body (task, source_object, task_data, cancellable);
  somscope_worker_leave ();
}

static void extract_thread_body (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable);

static void
extract_thread (GTask        *task,
    gpointer      source_object,
    gpointer      task_data,
    GCancellable *cancellable)
{
  somscope_worker_enter ();
  extract_thread_body (task, source_object, task_data, cancellable);
  somscope_worker_leave ();
}

static void save_thread_body (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable);

static void
save_thread (GTask        *task,
    gpointer      source_object,
    gpointer      task_data,
    GCancellable *cancellable)
{
  somscope_worker_enter ();
  save_thread_body (task, source_object, task_data, cancellable);
  somscope_worker_leave ();
}

/* -- progress, coalesced */

static void job_progress_deliver (SomscopeMail *mail);
static void job_progress_unref (JobProgress *p);

static JobProgress *
job_progress_new (gpointer          owner,
                  GCancellable     *cancellable,
                  JobProgressApply  apply)
{
  JobProgress *p = g_atomic_rc_box_new0 (JobProgress);

  somscope_mail_init (&p->mail, job_progress_deliver, (GDestroyNotify) job_progress_unref);
  g_weak_ref_init (&p->owner, owner);
  p->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  p->apply = apply;
  return p;
}

static void
job_progress_clear (JobProgress *p)
{
  g_weak_ref_clear (&p->owner);
  g_clear_object (&p->cancellable);
  g_free (p->message);
}

static JobProgress *
job_progress_ref (JobProgress *p)
{
  return g_atomic_rc_box_acquire (p);
}

static void
job_progress_unref (JobProgress *p)
{
  g_atomic_rc_box_release_full (p, (GDestroyNotify) job_progress_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JobProgress, job_progress_unref)

/* Main thread, when the job is done: a report still on its way is dropped
 * (it would put a finished job's message back). */
static void
job_progress_close (JobProgress *p)
{
  if (p != NULL)
    g_weak_ref_set (&p->owner, NULL);
}

/* Main thread, from the mailbox. */
static void
job_progress_deliver (SomscopeMail *mail)
{
  JobProgress *p = (JobProgress *) mail;
  g_autoptr(GObject) owner = g_weak_ref_get (&p->owner);
  g_autofree char *message = g_atomic_pointer_exchange (&p->message, NULL);
  double fraction = g_atomic_int_get (&p->fraction) / 1e6;

  if (owner != NULL && !g_cancellable_is_cancelled (p->cancellable))
    p->apply (owner, fraction, message, p->cancellable);
}

/* Any thread (SomProgressFunc).  @message: NULL keeps the last one. */
static void
job_progress_update (double      fraction,
                     const char *message,
                     gpointer    user_data)
{
  JobProgress *p = user_data;

  g_atomic_int_set (&p->fraction, (int) (CLAMP (isnan (fraction) ? 0 : fraction, 0.0, 1.0) * 1e6 + 0.5));
  if (message != NULL)
    g_free (g_atomic_pointer_exchange (&p->message, g_strdup (message)));
  somscope_mail_post (&p->mail);
}

static void
set_progress (SomscopeDocument *self,
              double            fraction,
              const char       *message)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *estimate = NULL;
  double seconds;

  fraction = CLAMP (fraction, 0.0, 1.0);
  /* A new run of jobs (the bar went back): the estimate starts again. */
  if (self->progress_t0 == 0 || fraction < self->progress)
    {
      self->progress_t0 = now;
      self->progress_f0 = fraction;
    }
  if (self->progress != fraction)
    {
      self->progress = fraction;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
    }
  seconds = somscope_estimate_remaining (now - self->progress_t0, self->progress_f0, fraction);
  if (seconds >= 0)
    estimate = somscope_format_remaining (seconds);
  if (g_strcmp0 (estimate, self->estimate) != 0)
    {
      g_free (self->estimate);
      self->estimate = g_steal_pointer (&estimate);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ESTIMATE]);
    }
  if (message != NULL && g_strcmp0 (self->message, message) != 0)
    {
      g_free (self->message);
      self->message = g_strdup (message);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
    }
}

/* The run's line is the mean of the parts that ran in it (a finished part
 * counts as done until the run ends), its message the running parts'. */
static void
update_progress (SomscopeDocument *self)
{
  g_autoptr(GString) message = g_string_new (NULL);
  double sum = 0;
  guint count = 0;

  for (guint i = 0; i < N_PARTS; i++)
    {
      if (self->part_fraction[i] < 0)
        continue;
      sum += self->part_fraction[i];
      count++;
      if (self->part_message[i] == NULL)
        continue;
      if (message->len > 0)
        /* Translators: between the messages of jobs that run side by side */
        g_string_append (message, _(" · "));
      g_string_append (message, self->part_message[i]);
    }
  set_progress (self, count > 0 ? sum / count : 0, message->str);
}

/* @message: NULL keeps the part's message */
static void
set_part (SomscopeDocument *self,
          JobPart           part,
          double            fraction,
          const char       *message)
{
  self->part_fraction[part] = isnan (fraction) ? 0 : CLAMP (fraction, 0.0, 1.0);
  if (message != NULL && g_strcmp0 (message, self->part_message[part]) != 0)
    {
      g_free (self->part_message[part]);
      self->part_message[part] = *message != '\0' ? g_strdup (message) : NULL;
    }
  update_progress (self);
}

static void
finish_part (SomscopeDocument *self,
             JobPart           part)
{
  if (self->part_fraction[part] < 0)
    return;
  self->part_fraction[part] = 1.0;
  g_clear_pointer (&self->part_message[part], g_free);
  update_progress (self);
}

/* A new run of jobs: no part has run in it yet. */
static void
reset_parts (SomscopeDocument *self)
{
  for (guint i = 0; i < N_PARTS; i++)
    {
      self->part_fraction[i] = -1;
      g_clear_pointer (&self->part_message[i], g_free);
    }
  self->n_trained = 0;
}

double
somscope_estimate_remaining (gint64 elapsed_us,
                             double start_fraction,
                             double fraction)
{
  double done = fraction - start_fraction;

  /* Too early to tell: less than 1.5 s or 2 % of progress so far. */
  if (elapsed_us < 1500000 || done < 0.02 || fraction >= 1.0)
    return -1;
  return elapsed_us / 1e6 * (1.0 - fraction) / done;
}

char *
somscope_format_remaining (double seconds)
{
  if (seconds < 10)
    return g_strdup (_("a few seconds left"));
  if (seconds < 90)
    /* Translators: time left for the running jobs, rounded to 5 s */
    return g_strdup_printf (_("about %d s left"), (int) (5 * ceil (seconds / 5)));
  /* Translators: time left for the running jobs, in minutes */
  return g_strdup_printf (_("about %d min left"), (int) ceil (seconds / 60));
}

static void
jobs_changed (SomscopeDocument *self,
              int               delta)
{
  gboolean was_busy = somscope_document_get_busy (self);

  g_assert (delta >= 0 || self->n_jobs >= (guint) -delta);
  /* Idle until now: the estimate starts with the new jobs. */
  if (self->n_jobs == 0 && delta > 0)
    {
      self->progress_t0 = 0;
      reset_parts (self);
    }
  self->n_jobs += delta;
  if (was_busy != somscope_document_get_busy (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Worker threads in flight, so the application can wait for them before it
 * exits: a thread still inside OpenBLAS when exit() runs its handlers can
 * deadlock the process. */
static gint workers_running;
static gint renders_running;
static GMutex workers_lock;
static GHashTable *worker_tids;   /* thread id → count of jobs in it */
static gint hurrying;      /* the application waits for the workers */

void
somscope_worker_enter (void)
{
  gpointer tid = GINT_TO_POINTER ((int) syscall (SYS_gettid));

  g_atomic_int_inc (&workers_running);
  g_mutex_lock (&workers_lock);
  if (worker_tids == NULL)
    worker_tids = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (worker_tids, tid,
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (worker_tids, tid)) + 1));
  g_mutex_unlock (&workers_lock);
}

void
somscope_worker_leave (void)
{
  gpointer tid = GINT_TO_POINTER ((int) syscall (SYS_gettid));
  guint count;

  g_mutex_lock (&workers_lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (worker_tids, tid));
  if (count > 1)
    g_hash_table_insert (worker_tids, tid, GUINT_TO_POINTER (count - 1));
  else
    g_hash_table_remove (worker_tids, tid);
  g_mutex_unlock (&workers_lock);
  g_atomic_int_dec_and_test (&workers_running);
}

/* The jobs were cancelled and the application waits for them: on a busy
 * machine a worker of idle priority can wait seconds for the CPU before it
 * sees the cancellation, so they get the main thread's priority back (when
 * the process may raise priorities; otherwise nothing changes). */
static void
hurry_workers (void)
{
  int main_nice = getpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid));
  struct sched_param param = { 0 };
  GHashTableIter iter;
  gpointer tid;

  g_mutex_lock (&workers_lock);
  g_atomic_int_set (&hurrying, TRUE);
  if (worker_tids != NULL)
    {
      g_hash_table_iter_init (&iter, worker_tids);
      while (g_hash_table_iter_next (&iter, &tid, NULL))
        {
          sched_setscheduler ((pid_t) GPOINTER_TO_INT (tid), SCHED_OTHER, &param);
          setpriority (PRIO_PROCESS, (id_t) GPOINTER_TO_INT (tid), main_nice);
        }
    }
  g_mutex_unlock (&workers_lock);
}

void
somscope_render_enter (void)
{
  g_atomic_int_inc (&renders_running);
}

void
somscope_render_leave (void)
{
  g_atomic_int_dec_and_test (&renders_running);
}

gboolean
somscope_wait_for_workers (guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  gboolean stopped = TRUE;

  hurry_workers ();
  /* The jobs were cancelled: each returns within one batch or chunk. */
  while (g_atomic_int_get (&workers_running) > 0 || g_atomic_int_get (&renders_running) > 0)
    {
      if (g_get_monotonic_time () > deadline)
        {
          stopped = FALSE;
          break;
        }
      g_usleep (5000);
    }
  g_atomic_int_set (&hurrying, FALSE);
  return stopped;
}

/* Less than three quarters of a core left free by other programs while a
 * worker started: the machine is busy, and a worker at idle priority would
 * hardly run (with a core free it runs there, as fast as it can). */
#define FREE_CORES_FOR_IDLE 0.75
#define LOAD_WINDOW_US (100 * 1000)

/* Whether a new worker should run at idle priority: yes while other
 * programs leave a core free, no when they keep every core busy (measured
 * over 100 ms at the worker's start; SOMSCOPE_WORKER_PRIORITY=idle or =low
 * decides instead). */
static gboolean
workers_at_idle_priority (void)
{
  const char *forced = g_getenv ("SOMSCOPE_WORKER_PRIORITY");
  SomscopeCpuSample before, after;
  double load;

  if (g_strcmp0 (forced, "idle") == 0)
    return TRUE;
  if (g_strcmp0 (forced, "low") == 0)
    return FALSE;
  if (!somscope_cpu_sample_read (&before))
    return TRUE;
  /* A measurement window, in the worker before its first job. */
  g_usleep (LOAD_WINDOW_US);
  if (!somscope_cpu_sample_read (&after))
    return TRUE;
  load = somscope_cpu_foreign_load (&before, &after, sysconf (_SC_CLK_TCK));
  g_debug ("other programs' load at a worker's start: %.2f cores", load);
  return g_get_num_processors () - load >= FREE_CORES_FOR_IDLE;
}

/* Workers run at idle priority (SCHED_IDLE, and nice 10 where that is
 * refused): the main thread, and the X server it waits on, take a core from
 * them the moment they wake, so the frames come on time while every core
 * trains.  A nice value alone is not enough: the scheduler lets a running
 * nice 10 thread finish its slice first, and those waits add up to several
 * milliseconds a frame (workers at nice 10 made the longest frame while
 * training 18–51 ms against 18–24 ms).  But beside busy programs a thread
 * at idle priority hardly runs (the demo had no maps after 180 s beside two
 * busy processes), and it cannot come back without CAP_SYS_NICE: so a
 * worker that starts on a busy machine stays at nice 10. */
static void
lower_thread_priority (void)
{
  struct sched_param param = { 0 };

  if (g_atomic_int_get (&hurrying))
    return;
  setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 10);
  if (workers_at_idle_priority ())
    sched_setscheduler (0, SCHED_IDLE, &param);
}

/* The jobs at idle priority (load, extraction, attack, adversarial BMUs,
 * autosave) run in threads of their own (somscope-task-pool.c), lowered
 * once, never in GLib's shared pool. */
static void
run_in_worker (GTask           *task,
               GTaskThreadFunc  func)
{
  static SomscopeTaskPool *pool;

  if (g_once_init_enter (&pool))
    g_once_init_leave (&pool, somscope_task_pool_new ("somscope-work", MAX (4, (int) g_get_num_processors ()),
                                                      lower_thread_priority));
  somscope_task_pool_run (pool, task, func);
}

/* -- loading: model, dataset, inference (a GTask in a worker thread) */

typedef struct
{
  char          *activations_path;
  char          *session_path;
  char          *model_path;
  char          *dataset_path;
  gsize          limit;
  SomCodes       codes_mode;
  JobProgress   *progress;

  /* Results */
  SomModel      *model;
  SomDataset    *dataset;
  SomPreprocess *preprocess;
  GArray        *taps;         /* guint layer indices */
  GPtrArray     *codes;        /* SomscopeCodes, one per tap */
  GPtrArray     *thumbnails;   /* GdkTexture, one per input */
  SomArray      *predictions;  /* N int32 */
  gsize          n;
  double         seconds;
  gboolean       extract_only;   /* model and preprocess borrowed from the document */

  /* Opening a session */
  SomSession    *session;
  SomArray      *labels;         /* N int32, or NULL */
  guint          n_classes;
  guint          n_logits;       /* the model's classes, from its output */
  GPtrArray     *session_maps;   /* per session layer: SomMap or NULL */
  GPtrArray     *session_codes;  /* per session layer: SomscopeCodes or NULL */
  GPtrArray     *majority;       /* per session layer: SomArray or NULL */
  GPtrArray     *purity;
  SomActivations *activations;
  SomPreprocessOptions preprocessing;
  SomPreprocessOptions suggestion;  /* when the images do not fit the model */
  gboolean       has_suggestion;
  char          *model_sha256;
  char          *dataset_sha256;
  SomSessionRefState model_state;
} LoadData;

static void
load_data_free (LoadData *d)
{
  g_free (d->session_path);
  g_free (d->activations_path);
  g_clear_object (&d->activations);
  g_clear_object (&d->session);
  g_clear_pointer (&d->labels, som_array_free);
  g_clear_pointer (&d->session_maps, g_ptr_array_unref);
  g_clear_pointer (&d->session_codes, g_ptr_array_unref);
  g_clear_pointer (&d->majority, g_ptr_array_unref);
  g_clear_pointer (&d->purity, g_ptr_array_unref);
  g_free (d->model_path);
  g_free (d->dataset_path);
  g_free (d->model_sha256);
  g_free (d->dataset_sha256);
  g_clear_pointer (&d->progress, job_progress_unref);
  if (d->extract_only)
    {
      d->model = NULL;
      d->preprocess = NULL;
    }
  g_clear_object (&d->model);
  g_clear_object (&d->dataset);
  g_clear_pointer (&d->preprocess, som_preprocess_free);
  g_clear_pointer (&d->taps, g_array_unref);
  g_clear_pointer (&d->codes, g_ptr_array_unref);
  g_clear_pointer (&d->thumbnails, g_ptr_array_unref);
  g_clear_pointer (&d->predictions, som_array_free);
  g_free (d);
}

/* A C×H×W image in [0,1] as an RGB texture, each pixel THUMBNAIL_SCALE²
 * pixels (GtkPicture would blur a 28-pixel image). */
static GdkTexture *
make_thumbnail (const float *pixels,
                guint        channels,
                guint        height,
                guint        width)
{
  const guint s = THUMBNAIL_SCALE;
  gsize stride = (gsize) width * s * 3;
  guint8 *rgb = g_malloc ((gsize) height * s * stride);
  g_autoptr(GBytes) bytes = NULL;

  for (guint y = 0; y < height; y++)
    for (guint x = 0; x < width; x++)
      {
        guint8 px[3];

        for (guint c = 0; c < 3; c++)
          {
            float v = pixels[((gsize) (channels == 3 ? c : 0) * height + y) * width + x];

            px[c] = (guint8) lrintf (CLAMP (v, 0.f, 1.f) * 255.f);
          }
        for (guint dy = 0; dy < s; dy++)
          for (guint dx = 0; dx < s; dx++)
            memcpy (rgb + (gsize) (y * s + dy) * stride + (gsize) (x * s + dx) * 3, px, 3);
      }
  bytes = g_bytes_new_take (rgb, (gsize) height * s * stride);
  return gdk_memory_texture_new (width * s, height * s, GDK_MEMORY_R8G8B8, bytes, stride);
}

static gboolean
load_run_inference (LoadData      *d,
                    GCancellable  *cancellable,
                    GError       **error)
{
  guint n_taps = d->taps->len;
  const guint *taps = (const guint *) d->taps->data;
  gint32 *predictions;
  guint channels, height, width;

  d->predictions = som_array_new_1d_i32 (d->n);
  predictions = d->predictions->data;
  d->codes = g_ptr_array_new_with_free_func ((GDestroyNotify) somscope_codes_unref);
  if (!d->extract_only)
    d->thumbnails = g_ptr_array_new_full (d->n, g_object_unref);
  som_preprocess_get_shape (d->preprocess, &channels, &height, &width);

  for (gsize start = 0; start < d->n; start += BATCH_SIZE)
    {
      gsize nb = MIN (BATCH_SIZE, d->n - start);
      g_autoptr(SomArray) pixels = NULL;
      g_autoptr(SomArray) input = NULL;
      g_autoptr(SomArray) logits = NULL;
      g_autoptr(GPtrArray) tap_values = NULL;
      g_autofree char *message = NULL;
      gsize k;

      pixels = som_preprocess_read_pixels (d->preprocess, start, nb, error);
      if (pixels == NULL)
        return FALSE;
      for (gsize i = 0; d->thumbnails != NULL && i < nb; i++)
        g_ptr_array_add (d->thumbnails,
                         make_thumbnail ((const float *) pixels->data + i * channels * height * width,
                                         channels, height, width));
      som_preprocess_normalize (d->preprocess, pixels);
      input = som_preprocess_to_model_layout (d->preprocess, g_steal_pointer (&pixels));

      logits = som_model_run_images (d->model, input, taps, n_taps, &tap_values, cancellable, error);
      if (logits == NULL)
        return FALSE;
      k = logits->ndim == 2 ? logits->shape[1] : 0;
      d->n_logits = k;
      for (gsize i = 0; i < nb; i++)
        {
          const float *row = (const float *) logits->data + i * k;
          gsize best = 0;

          for (gsize j = 1; j < k; j++)
            if (row[j] > row[best])
              best = j;
          predictions[start + i] = k > 0 ? (gint32) best : -1;
        }

      for (guint t = 0; t < n_taps; t++)
        {
          const SomLayer *layer = som_model_get_layer (d->model, taps[t]);
          g_autoptr(SomArray) codes = NULL;
          SomArray *all;
          gsize dim;

          codes = som_features_codes (g_ptr_array_index (tap_values, t), d->codes_mode,
                                      layer->name, error);
          if (codes == NULL)
            return FALSE;
          dim = codes->shape[1];
          if (start == 0)
            g_ptr_array_add (d->codes, somscope_codes_new (som_array_new_2d_f32 (d->n, dim)));
          all = ((SomscopeCodes *) g_ptr_array_index (d->codes, t))->array;
          memcpy ((float *) all->data + start * dim, codes->data, nb * dim * sizeof (float));
        }

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      /* Translators: what the jobs do while the model runs over the images
       * (the same words to the end: the line shows how far it got) */
      message = g_strdup_printf (_("Running the model on %zu images"), d->n);
      job_progress_update ((double) (start + nb) / d->n, message, d->progress);
    }
  return TRUE;
}

static void
free_array_or_null (gpointer array)
{
  if (array != NULL)
    som_array_free (array);
}

static void
unref_object_or_null (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static void
unref_codes_or_null (gpointer codes)
{
  if (codes != NULL)
    somscope_codes_unref (codes);
}

/* A session layer's map (NULL: not mapped), by the sessions core. */
static SomMap *
map_from_session (SomSession  *session,
                  guint        position,
                  GError     **error)
{
  if (som_session_get_layer_som (session, position) == NULL)
    return NULL;
  return som_session_get_layer_map (session, position, error);
}

/* A session's {"pad","resize","mean","std"}; what is missing stays 0. */
static void
preprocessing_from_json (JsonNode             *node,
                         SomPreprocessOptions *options)
{
  JsonObject *o;
  JsonNode *m;

  memset (options, 0, sizeof *options);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  o = json_node_get_object (node);
  if ((m = json_object_get_member (o, "pad")) != NULL && JSON_NODE_HOLDS_VALUE (m))
    options->pad = (guint) CLAMP (json_node_get_int (m), 0, 4096);
  if ((m = json_object_get_member (o, "resize")) != NULL && JSON_NODE_HOLDS_ARRAY (m) &&
      json_array_get_length (json_node_get_array (m)) == 2)
    {
      options->resize_height = (guint) CLAMP (json_array_get_int_element (json_node_get_array (m), 0), 0, 65536);
      options->resize_width = (guint) CLAMP (json_array_get_int_element (json_node_get_array (m), 1), 0, 65536);
    }
  for (guint k = 0; k < 2; k++)
    {
      JsonArray *a;
      guint n;

      m = json_object_get_member (o, k == 0 ? "mean" : "std");
      if (m == NULL || !JSON_NODE_HOLDS_ARRAY (m))
        continue;
      a = json_node_get_array (m);
      n = json_array_get_length (a);
      if (n != 1 && n != 3)
        continue;
      for (guint i = 0; i < n; i++)
        (k == 0 ? options->mean : options->std)[i] = (float) json_array_get_double_element (a, i);
      if (k == 0)
        options->n_mean = n;
      else
        options->n_std = n;
    }
}

/* A .somscope file: its maps as they were saved; the model and the images
 * when they are still where the session says (for thumbnails and for
 * mapping more layers). */
static gboolean
load_session (LoadData      *d,
              GCancellable  *cancellable,
              GError       **error)
{
  const char *model_path;
  const char *dataset_path;
  const SomArray *labels;
  const SomArray *predictions;
  guint channels = 0, height = 0, width = 0;
  gboolean channels_last = FALSE;
  guint n_layers;

  job_progress_update (0, _("Reading the session"), d->progress);
  d->session = som_session_load (d->session_path, error);
  if (d->session == NULL)
    return FALSE;

  model_path = som_session_get_ref_path (d->session, SOM_SESSION_REF_MODEL);
  d->model_state = som_session_get_ref_state (d->session, SOM_SESSION_REF_MODEL);
  /* A moved model is asked for, a changed one reported (and not used): the
   * window does both; the maps show either way. */
  if (model_path != NULL &&
      d->model_state != SOM_SESSION_REF_MISSING && d->model_state != SOM_SESSION_REF_CHANGED)
    {
      d->model = som_model_load (model_path, error);
      if (d->model == NULL)
        return FALSE;
      g_free (d->model_path);
      d->model_path = g_strdup (model_path);
      d->taps = som_model_get_default_taps (d->model);
      if (!som_model_get_image_shape (d->model, &channels, &height, &width, &channels_last, NULL))
        channels = height = width = 0;
    }

  d->n = som_session_get_n_inputs (d->session);
  dataset_path = som_session_get_ref_path (d->session, SOM_SESSION_REF_DATASET);
  if (dataset_path != NULL &&
      som_session_get_ref_state (d->session, SOM_SESSION_REF_DATASET) != SOM_SESSION_REF_MISSING)
    {
      SomDatasetOptions options = { NULL, NULL, d->n };

      /* The images as the session's model saw them (padded, resized…). */
      preprocessing_from_json (som_session_get_dataset_preprocessing (d->session), &d->preprocessing);
      d->dataset = som_dataset_open (dataset_path, &options, cancellable, error);
      if (d->dataset == NULL)
        return FALSE;
      d->dataset_path = g_strdup (dataset_path);
      d->preprocess = som_preprocess_new (d->dataset, &d->preprocessing, channels, height, width,
                                          channels_last, error);
      if (d->preprocess == NULL)
        return FALSE;
      d->n = som_dataset_get_count (d->dataset);
      d->n_classes = som_dataset_get_n_classes (d->dataset);
      d->thumbnails = g_ptr_array_new_full (d->n, g_object_unref);
      som_preprocess_get_shape (d->preprocess, &channels, &height, &width);
      for (gsize start = 0; start < d->n; start += BATCH_SIZE)
        {
          gsize nb = MIN (BATCH_SIZE, d->n - start);
          g_autoptr(SomArray) pixels = som_preprocess_read_pixels (d->preprocess, start, nb, error);

          if (pixels == NULL)
            return FALSE;
          for (gsize i = 0; i < nb; i++)
            g_ptr_array_add (d->thumbnails,
                             make_thumbnail ((const float *) pixels->data + i * channels * height * width,
                                             channels, height, width));
        }
    }

  labels = som_session_get_array (d->session, SOM_SESSION_LABELS);
  predictions = som_session_get_array (d->session, SOM_SESSION_PREDICTIONS);
  if (labels != NULL && labels->shape[0] == d->n)
    {
      d->labels = som_array_copy (labels);
      for (gsize i = 0; i < d->n; i++)
        d->n_classes = MAX (d->n_classes, (guint) MAX (0, ((const gint32 *) labels->data)[i] + 1));
    }
  if (predictions != NULL && predictions->shape[0] == d->n)
    d->predictions = som_array_copy (predictions);

  n_layers = som_session_get_n_layers (d->session);
  d->session_maps = g_ptr_array_new_full (n_layers, unref_object_or_null);
  d->session_codes = g_ptr_array_new_full (n_layers, unref_codes_or_null);
  d->majority = g_ptr_array_new_full (n_layers, free_array_or_null);
  d->purity = g_ptr_array_new_full (n_layers, free_array_or_null);
  for (guint p = 0; p < n_layers; p++)
    {
      SomMap *map = map_from_session (d->session, p, error);
      const SomArray *codes = som_session_get_layer_array (d->session, p, SOM_LAYER_CODES);
      SomArray *majority = NULL, *purity = NULL;

      if (map == NULL && error != NULL && *error != NULL)
        return FALSE;
      if (map != NULL && som_map_get_array (map, "class_hits") != NULL)
        som_map_class_map (map, som_map_get_array (map, "class_hits"), &majority, &purity);
      g_ptr_array_add (d->session_maps, map);
      g_ptr_array_add (d->session_codes, codes ? somscope_codes_new (som_array_copy (codes)) : NULL);
      g_ptr_array_add (d->majority, majority);
      g_ptr_array_add (d->purity, purity);
    }
  return TRUE;
}

/* The likely fix when the images do not fit the model's input: zero padding
 * when the model is larger by the same even margin on both sides (28 → 32),
 * otherwise a resize to the model's size. */
static gboolean
suggest_preprocessing (SomDataset           *dataset,
                       guint                 channels,
                       guint                 height,
                       guint                 width,
                       SomPreprocessOptions *suggestion)
{
  guint c0, h0, w0;

  memset (suggestion, 0, sizeof *suggestion);
  som_dataset_get_image_shape (dataset, &c0, &h0, &w0);
  if (height == 0 || width == 0)
    return FALSE;
  if (height > h0 && width > w0 && height - h0 == width - w0 && (height - h0) % 2 == 0)
    suggestion->pad = (height - h0) / 2;
  else if (height != h0 || width != w0)
    {
      suggestion->resize_height = height;
      suggestion->resize_width = width;
    }
  else
    return FALSE;
  return TRUE;
}

/* "Bring your own" activations: every layer of the file, as codes. */
static gboolean
load_activations (LoadData      *d,
                  GCancellable  *cancellable,
                  GError       **error)
{
  const SomArray *labels;
  guint n_layers;

  job_progress_update (0, _("Reading the activations"), d->progress);
  d->activations = som_activations_open (d->activations_path, error);
  if (d->activations == NULL)
    return FALSE;
  d->n = som_activations_get_n_inputs (d->activations);
  labels = som_activations_get_labels (d->activations);
  if (labels != NULL)
    {
      d->labels = som_array_to_i32 (labels, error);
      if (d->labels == NULL)
        return FALSE;
      for (gsize i = 0; i < d->n; i++)
        d->n_classes = MAX (d->n_classes, (guint) MAX (0, ((const gint32 *) d->labels->data)[i] + 1));
    }
  n_layers = som_activations_get_n_layers (d->activations);
  d->session_codes = g_ptr_array_new_full (n_layers, unref_codes_or_null);
  for (guint p = 0; p < n_layers; p++)
    {
      g_autoptr(SomArray) values = som_activations_read_layer (d->activations, p, error);
      SomArray *codes;

      if (values == NULL)
        return FALSE;
      codes = som_features_codes (values, d->codes_mode, som_activations_get_layer_name (d->activations, p),
                                  error);
      if (codes == NULL)
        return FALSE;
      g_ptr_array_add (d->session_codes, somscope_codes_new (codes));
      job_progress_update ((double) (p + 1) / n_layers, NULL, d->progress);
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
    }
  return TRUE;
}

static void
load_thread_inner (GTask        *task,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  LoadData *d = task_data;
  g_autoptr(GError) error = NULL;
  SomDatasetOptions options = { NULL, NULL, d->limit };

  guint channels, height, width;
  gboolean channels_last;
  gint64 t0 = g_get_monotonic_time ();

  if (d->activations_path != NULL)
    {
      if (!load_activations (d, cancellable, &error))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  if (d->session_path != NULL)
    {
      if (!load_session (d, cancellable, &error))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_boolean (task, TRUE);
      return;
    }

  job_progress_update (0, _("Reading the model"), d->progress);
  d->model = som_model_load (d->model_path, &error);
  if (d->model == NULL || !som_model_check_runnable (d->model, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  d->taps = som_model_get_default_taps (d->model);
  /* Recorded now, so that a save still names the files after they moved. */
  d->model_sha256 = som_file_sha256 (d->model_path, NULL);
  if (d->dataset_path != NULL && g_file_test (d->dataset_path, G_FILE_TEST_IS_REGULAR))
    d->dataset_sha256 = som_file_sha256 (d->dataset_path, NULL);

  if (d->dataset_path == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (!som_model_get_image_shape (d->model, &channels, &height, &width, &channels_last, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  job_progress_update (0, _("Reading the images"), d->progress);
  d->dataset = som_dataset_open (d->dataset_path, &options, cancellable, &error);
  if (d->dataset == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  d->preprocess = som_preprocess_new (d->dataset, &d->preprocessing, channels, height, width,
                                      channels_last, &error);
  if (d->preprocess == NULL)
    {
      if (g_error_matches (error, SOM_ERROR, SOM_ERROR_INVALID))
        d->has_suggestion = suggest_preprocessing (d->dataset, channels, height, width, &d->suggestion);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  d->n = som_dataset_get_count (d->dataset);
  if (!load_run_inference (d, cancellable, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  d->seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_task_return_boolean (task, TRUE);
}

static void
load_thread_body (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{

  load_thread_inner (task, task_data, cancellable);
}

static void
load_progress_apply (GObject      *owner,
                     double        fraction,
                     const char   *message,
                     GCancellable *cancellable)
{
  set_part (SOMSCOPE_DOCUMENT (owner), PART_LOAD, fraction, message);
}

static void
extract_progress_apply (GObject      *owner,
                        double        fraction,
                        const char   *message,
                        GCancellable *cancellable)
{
  set_part (SOMSCOPE_DOCUMENT (owner), PART_EXTRACT, fraction, message);
}

static void
attack_progress_apply (GObject      *owner,
                       double        fraction,
                       const char   *message,
                       GCancellable *cancellable)
{
  set_part (SOMSCOPE_DOCUMENT (owner), PART_ATTACK, fraction, message);
}

static char *
format_shape (const SomLayer *layer)
{
  GString *str = g_string_new (NULL);

  /* The batch dimension is left out: "64×14×14". */
  for (guint i = 1; i < layer->ndim; i++)
    {
      if (i > 1)
        g_string_append (str, "×");
      if (layer->shape[i] < 0)
        g_string_append (str, "?");
      else
        g_string_append_printf (str, "%" G_GINT64_FORMAT, layer->shape[i]);
    }
  return g_string_free (str, FALSE);
}

static char *
dup_basename (const char *path)
{
  return path ? g_path_get_basename (path) : NULL;
}

static char *
json_shape_to_string (JsonNode *node)
{
  GString *str = g_string_new (NULL);
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return g_string_free (str, FALSE);
  array = json_node_get_array (node);
  for (guint i = 1; i < json_array_get_length (array); i++)
    {
      JsonNode *dim = json_array_get_element (array, i);

      if (i > 1)
        g_string_append (str, "×");
      if (JSON_NODE_HOLDS_NULL (dim))
        g_string_append (str, "?");
      else
        g_string_append_printf (str, "%" G_GINT64_FORMAT, json_node_get_int (dim));
    }
  return g_string_free (str, FALSE);
}

static void
attach_session_map (SomscopeLayer *layer,
                    LoadData      *d,
                    guint          position)
{
  SomMap *map = g_ptr_array_index (d->session_maps, position);

  if (g_ptr_array_index (d->session_codes, position) != NULL)
    somscope_layer_set_codes (layer, g_ptr_array_index (d->session_codes, position));
  if (d->dataset != NULL)
    somscope_layer_set_class_names (layer, som_dataset_get_class_names (d->dataset));
  if (map == NULL)
    return;
  somscope_layer_set_map (layer, map, g_steal_pointer (&d->majority->pdata[position]),
                          g_steal_pointer (&d->purity->pdata[position]));
  {
    const SomArray *codes = som_session_get_layer_array (d->session, position, SOM_LAYER_CODES_ADVERSARIAL);
    const SomArray *bmus = som_session_get_layer_array (d->session, position, SOM_LAYER_BMUS_ADVERSARIAL);

    if (codes != NULL && bmus != NULL)
      {
        g_autoptr(SomscopeCodes) adversarial = somscope_codes_new (som_array_copy (codes));

        somscope_layer_set_adversarial_codes (layer, adversarial);
        somscope_layer_set_adversarial_bmus (layer, map, som_array_copy (bmus));
      }
  }
  somscope_layer_set_errors (layer, som_map_get_quantization_error (map),
                             som_map_get_topographic_error (map));
  somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_DONE, NULL);
}

/* The name of the model's class @k: the images' class name, or its number
 * when the images' classes are not the model's (interned; NULL if none) */
static const char *
model_class_name (SomscopeDocument *self,
                  int               k)
{
  char number[16];

  if (k < 0)
    return NULL;
  if (self->foreign_classes || self->class_names == NULL || (guint) k >= g_strv_length (self->class_names))
    {
      g_snprintf (number, sizeof number, "%d", k);
      return g_intern_string (number);
    }
  return g_intern_string (self->class_names[k]);
}

const char *
somscope_document_get_model_class_name (SomscopeDocument *self,
                                        int               k)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return model_class_name (self, k);
}

/* The sidebar's attack line from the attack's parameters and its
 * predictions: the method, ε, and how many of the inputs' predictions it
 * changed (after an attack, and for a session that holds one). */
static void
update_attack_summary (SomscopeDocument *self)
{
  const gint32 *adv;
  gsize flipped = 0, n;
  JsonObject *params;

  g_clear_pointer (&self->attack_summary, g_free);
  if (self->adversarial_predictions == NULL)
    return;
  n = MIN (self->adversarial_predictions->shape[0], g_list_model_get_n_items (G_LIST_MODEL (self->inputs)));
  adv = self->adversarial_predictions->data;
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (G_LIST_MODEL (self->inputs), i);

      flipped += somscope_input_get_prediction (input) != adv[i];
    }
  params = self->attack != NULL && JSON_NODE_HOLDS_OBJECT (self->attack) ? json_node_get_object (self->attack) : NULL;
  if (params != NULL && json_object_has_member (params, "method") && json_object_has_member (params, "eps"))
    {
      const char *method = json_object_get_string_member_with_default (params, "method", "");
      g_autofree char *name = g_ascii_strup (method != NULL ? method : "", -1);

      /* Translators: FGSM or PGD, its strength, and how many of the inputs'
       * predictions the attack changed; keep it short, it is one line of the
       * sidebar */
      self->attack_summary = g_strdup_printf (_("%s, ε %g: %zu of %zu flipped"), name,
                                              json_object_get_double_member_with_default (params, "eps", 0.0),
                                              flipped, n);
    }
  else
    /* Translators: how many of the inputs' predictions an attack of unknown
     * parameters changed; one line of the sidebar */
    self->attack_summary = g_strdup_printf (_("Attacked: %zu of %zu flipped"), flipped, n);
}

/* Fills the document from a finished load (main thread). */
static void
apply_load (SomscopeDocument *self,
            LoadData         *d)
{
  g_autoptr(GHashTable) tap_position = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *model_name = dup_basename (d->activations_path ? d->activations_path
                                             : d->session_path ? d->session_path : d->model_path);
  g_autofree char *dataset_name = dup_basename (d->dataset_path);
  guint n_layers = d->model ? som_model_get_n_layers (d->model) : 0;
  const char * const *names = NULL;
  guint n_classes = 0;
  gsize correct = 0;
  SomscopeLayer *first_mapped = NULL;

  if (d->session != NULL)
    {
      /* The document's files are the session's model and images. */
      g_clear_object (&self->model_file);
      g_clear_object (&self->dataset_file);
      if (d->model != NULL)
        self->model_file = g_file_new_for_path (d->model_path);
      if (d->dataset_path != NULL)
        self->dataset_file = g_file_new_for_path (d->dataset_path);
      self->model_state = d->model_state;
      self->preprocessing = d->preprocessing;
      self->model_sha256 = g_strdup (som_session_get_ref_sha256 (d->session, SOM_SESSION_REF_MODEL));
      if (d->model == NULL)
        self->model_ref_path = g_strdup (som_session_get_ref_path (d->session, SOM_SESSION_REF_MODEL));
      self->dataset_sha256 = g_strdup (som_session_get_ref_sha256 (d->session, SOM_SESSION_REF_DATASET));
      if (d->dataset_path == NULL)
        self->dataset_ref_path = g_strdup (som_session_get_ref_path (d->session, SOM_SESSION_REF_DATASET));
      if (som_session_get_dataset_preprocessing (d->session) != NULL)
        self->dataset_ref_preprocessing = json_node_copy (som_session_get_dataset_preprocessing (d->session));
      if (som_session_get_metrics (d->session) != NULL)
        self->metrics = json_node_copy (som_session_get_metrics (d->session));
      if (som_session_get_attack (d->session) != NULL)
        self->attack = json_node_copy (som_session_get_attack (d->session));
    }
  else if (d->activations == NULL)
    {
      self->model_state = SOM_SESSION_REF_OK;
      self->model_sha256 = g_steal_pointer (&d->model_sha256);
      self->dataset_sha256 = g_steal_pointer (&d->dataset_sha256);
    }
  if (d->activations != NULL)
    {
      self->activations_file = g_steal_pointer (&self->model_file);
      g_clear_object (&self->dataset_file);
    }
  self->model = g_steal_pointer (&d->model);
  self->dataset = g_steal_pointer (&d->dataset);
  self->preprocess = g_steal_pointer (&d->preprocess);
  self->n_inputs = d->n;
  self->n_logits = d->n_logits;

  for (guint t = 0; d->taps != NULL && t < d->taps->len; t++)
    g_hash_table_insert (tap_position, GUINT_TO_POINTER (g_array_index (d->taps, guint, t)),
                         GUINT_TO_POINTER (t + 1));

  for (guint i = 0; i < n_layers; i++)
    {
      const SomLayer *info = som_model_get_layer (self->model, i);
      g_autofree char *shape = NULL;
      SomscopeLayer *layer;
      guint t;

      if (info->shape_arith)
        continue;
      t = GPOINTER_TO_UINT (g_hash_table_lookup (tap_position, GUINT_TO_POINTER (i)));
      shape = format_shape (info);
      if (d->session != NULL)
        {
          int position = som_session_find_layer (d->session, i);

          layer = somscope_layer_new (i, info->name, info->op, shape,
                                      position >= 0 && g_ptr_array_index (d->session_maps, position) != NULL);
          if (position >= 0)
            attach_session_map (layer, d, position);
        }
      else
        layer = somscope_layer_new (i, info->name, info->op, shape,
                                    t > 0 && self->dataset != NULL);
      if (self->dataset != NULL)
        somscope_layer_set_class_names (layer, som_dataset_get_class_names (self->dataset));
      if (t > 0 && d->codes != NULL)
        somscope_layer_set_codes (layer, g_ptr_array_index (d->codes, t - 1));
      if (first_mapped == NULL && somscope_layer_get_mapped (layer))
        first_mapped = layer;
      g_ptr_array_add (layers, layer);
    }
  /* Without the model, the session's own layers. */
  for (guint p = 0; d->session != NULL && n_layers == 0 && p < som_session_get_n_layers (d->session); p++)
    {
      JsonNode *shape_node = som_session_get_layer_shape (d->session, p);   /* borrowed */
      g_autofree char *shape = json_shape_to_string (shape_node);
      SomscopeLayer *layer;

      layer = somscope_layer_new (som_session_get_layer_index (d->session, p),
                                  som_session_get_layer_name (d->session, p),
                                  som_session_get_layer_op (d->session, p), shape,
                                  g_ptr_array_index (d->session_maps, p) != NULL);
      attach_session_map (layer, d, p);
      if (first_mapped == NULL && somscope_layer_get_mapped (layer))
        first_mapped = layer;
      g_ptr_array_add (layers, layer);
    }
  for (guint p = 0; d->activations != NULL && p < som_activations_get_n_layers (d->activations); p++)
    {
      gsize shape[SOM_ARRAY_MAX_DIMS];
      guint ndim = som_activations_get_layer_shape (d->activations, p, shape);
      g_autoptr(GString) dims = g_string_new (NULL);
      const char *op = som_activations_get_layer_op (d->activations, p);
      SomscopeLayer *layer;

      for (guint k = 1; k < ndim; k++)
        g_string_append_printf (dims, k > 1 ? "×%zu" : "%zu", shape[k]);
      layer = somscope_layer_new (som_activations_get_layer_index (d->activations, p),
                                  som_activations_get_layer_name (d->activations, p),
                                  op && *op ? op : _("layer"), dims->str, TRUE);
      somscope_layer_set_codes (layer, g_ptr_array_index (d->session_codes, p));
      if (first_mapped == NULL)
        first_mapped = layer;
      g_ptr_array_add (layers, layer);
    }
  g_list_store_splice (self->layers, 0, 0, layers->pdata, layers->len);

  if (self->dataset != NULL || d->session != NULL || d->activations != NULL)
    {
      const gint32 *labels = NULL;
      const gint32 *predictions = d->predictions ? d->predictions->data : NULL;

      if (self->dataset != NULL)
        {
          n_classes = som_dataset_get_n_classes (self->dataset);
          names = som_dataset_get_class_names (self->dataset);
          g_strfreev (self->class_names);
          self->class_names = g_strdupv ((char **) names);
          /* Images without labels know too few classes (one, "0", without
           * names): the model's, the missing ones named "7", "8", …
           * (contracts.md), so that every prediction reads. */
          if (!som_dataset_has_labels (self->dataset) && n_classes < d->n_logits)
            {
              char **more = g_new0 (char *, d->n_logits + 1);

              for (guint k = 0; k < d->n_logits; k++)
                more[k] = k < n_classes ? g_strdup (names[k]) : g_strdup_printf ("%u", k);
              g_strfreev (self->class_names);
              self->class_names = more;
              n_classes = d->n_logits;
              names = (const char * const *) self->class_names;
            }
        }
      else
        {
          n_classes = d->n_classes;
          g_strfreev (self->class_names);
          self->class_names = g_new0 (char *, n_classes + 1);
          for (guint k = 0; k < n_classes; k++)
            self->class_names[k] = g_strdup_printf ("%u", k);
          names = (const char * const *) self->class_names;
        }
      if (self->dataset != NULL && som_dataset_has_labels (self->dataset))
        {
          self->labels = som_array_new_1d_i32 (d->n);
          memcpy (self->labels->data, som_dataset_get_labels (self->dataset), d->n * sizeof (gint32));
        }
      else if (d->labels != NULL)
        self->labels = som_array_copy (d->labels);
      self->has_labels = self->labels != NULL;
      /* Labelled images of another number of classes than the model's
       * outputs (a folder of "cat" and "dog" beside ten outputs): their
       * labels say nothing of the model's answers. */
      self->foreign_classes = self->has_labels && self->n_logits > 0 && n_classes != self->n_logits;
      if (self->labels != NULL)
        labels = self->labels->data;
      for (gsize i = 0; i < d->n; i++)
        {
          int label = labels ? labels[i] : -1;
          int prediction = predictions ? predictions[i] : -1;

          if (label >= 0 && label == prediction)
            correct++;
          SomscopeInput *input =
            somscope_input_new (i, d->thumbnails ? g_ptr_array_index (d->thumbnails, i) : NULL,
                                label,
                                label >= 0 && (guint) label < n_classes ? names[label] : NULL,
                                prediction,
                                self->foreign_classes ? model_class_name (self, prediction)
                                : prediction >= 0 && (guint) prediction < n_classes ? names[prediction] : NULL);

          somscope_input_set_foreign_classes (input, self->foreign_classes);
          g_ptr_array_add (inputs, input);
        }
      g_list_store_splice (self->inputs, 0, 0, inputs->pdata, inputs->len);
      self->predictions = g_steal_pointer (&d->predictions);
      if (d->session != NULL &&
          som_session_get_array (d->session, SOM_SESSION_ADVERSARIAL_PREDICTIONS) != NULL &&
          som_session_get_array (d->session, SOM_SESSION_ADVERSARIAL_PREDICTIONS)->shape[0] == d->n)
        {
          const gint32 *adv = som_session_get_array (d->session, SOM_SESSION_ADVERSARIAL_PREDICTIONS)->data;

          self->adversarial_predictions =
            som_array_copy (som_session_get_array (d->session, SOM_SESSION_ADVERSARIAL_PREDICTIONS));
          for (gsize i = 0; i < d->n; i++)
            somscope_input_set_adversarial_prediction (g_ptr_array_index (inputs, i), adv[i],
                                                       self->foreign_classes ? model_class_name (self, adv[i])
                                                       : adv[i] >= 0 && (guint) adv[i] < n_classes
                                                         ? names[adv[i]] : NULL);
          update_attack_summary (self);
        }
    }

  g_free (self->title);
  if (dataset_name != NULL)
    /* Translators: window subtitle, "model on dataset" */
    self->title = g_strdup_printf (_("%s on %s"), model_name, dataset_name);
  else
    self->title = g_strdup (model_name);

  g_free (self->summary);
  if (d->activations != NULL)
    self->summary = g_strdup_printf (_("%zu inputs, activations only (no images)"), d->n);
  else if (self->dataset == NULL && d->session != NULL)
    self->summary = g_strdup_printf (_("%zu inputs (the images are not where the session says)"), d->n);
  else if (self->dataset == NULL)
    self->summary = g_strdup (_("No dataset: open one to map the layers"));
  else if (self->has_labels && self->predictions == NULL)
    self->summary = g_strdup_printf (_("%s\n%zu images · %u classes"), dataset_name, d->n, n_classes);
  else if (self->has_labels && self->foreign_classes)
    /* Translators: dataset summary of images whose classes are not the
     * model's: file, images, their classes, the model's */
    self->summary = g_strdup_printf (_("%s\n%zu images · %u classes, not the model's %u"),
                                     dataset_name, d->n, n_classes, self->n_logits);
  else if (self->has_labels)
    /* Translators: dataset summary: file, images, classes, accuracy; no-break
     * spaces keep "accuracy", the number and the per cent sign on one line */
    self->summary = g_strdup_printf (_("%s\n%zu images · %u classes · accuracy\u00a0%.1f\u00a0%%"),
                                     dataset_name, d->n, n_classes, 100.0 * correct / MAX (d->n, 1));
  else
    self->summary = g_strdup_printf (_("%s\n%zu images · no labels"), dataset_name, d->n);

  self->state = SOMSCOPE_DOCUMENT_STATE_READY;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUMMARY]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  somscope_document_set_selected_layer (self, first_mapped);
}

static void somscope_document_autosave (SomscopeDocument *self);
static void start_attack (SomscopeDocument *self);
static void ensure_adversarial_codes (SomscopeDocument *self,
                                      SomscopeLayer    *layer);

static void map_adversarial (SomscopeDocument *self,
                             SomscopeLayer    *layer);
static void train_missing (SomscopeDocument *self);
static void layer_mapped_cb (SomscopeDocument *self,
                             GParamSpec       *pspec,
                             SomscopeLayer    *layer);
static void somscope_document_extract (SomscopeDocument *self,
                                       SomscopeLayer    *layer);

/* Mapped layers without a map: train_missing() has work. */
static gboolean
maps_missing (SomscopeDocument *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (G_LIST_MODEL (self->layers), i);

      if (somscope_layer_get_mapped (layer) && somscope_layer_get_map (layer) == NULL)
        return TRUE;
    }
  return FALSE;
}

static void
load_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);
  g_autoptr(GTask) outer = user_data;
  LoadData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  guint n;

  jobs_changed (self, -1);
  g_clear_pointer (&self->load_progress, job_progress_unref);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      reset_parts (self);
      update_progress (self);
      self->has_suggestion = d->has_suggestion;
      self->suggestion = d->suggestion;
      g_task_return_error (outer, g_steal_pointer (&error));
      return;
    }

  apply_load (self, d);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (G_LIST_MODEL (self->layers), i);

      g_signal_connect_object (layer, "notify::mapped", G_CALLBACK (layer_mapped_cb), self,
                               G_CONNECT_SWAPPED);
    }
  g_task_return_boolean (outer, TRUE);
  if (self->hold_jobs)
    {
      gboolean was_busy = somscope_document_get_busy (self);

      self->held_training = maps_missing (self);
      self->held_attack = d->session == NULL && d->activations == NULL;
      if (self->held_training || self->held_attack)
        /* Translators: progress bar message for the moment between a
         * document's first paint and the start of its maps' training */
        {
          reset_parts (self);
          set_part (self, PART_LOAD, 0, _("Starting"));
        }
      if (was_busy != somscope_document_get_busy (self))
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
      return;
    }
  train_missing (self);
  if (d->session == NULL && d->activations == NULL)
    start_attack (self);
}

void
somscope_document_hold_jobs (SomscopeDocument *self)
{
  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));

  self->hold_jobs = TRUE;
}

void
somscope_document_release_jobs (SomscopeDocument *self)
{
  gboolean was_busy, training, attack;

  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));

  was_busy = somscope_document_get_busy (self);
  training = self->held_training;
  attack = self->held_attack;
  self->hold_jobs = FALSE;
  self->held_training = FALSE;
  self->held_attack = FALSE;
  if (training && self->state == SOMSCOPE_DOCUMENT_STATE_READY)
    train_missing (self);
  if (attack && self->state == SOMSCOPE_DOCUMENT_STATE_READY)
    start_attack (self);
  if (was_busy != somscope_document_get_busy (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

void
somscope_document_load_async (SomscopeDocument    *self,
                              GFile               *model,
                              GFile               *dataset,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) outer = NULL;
  g_autoptr(GTask) task = NULL;
  LoadData *d;
  int codes;

  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));
  g_return_if_fail (G_IS_FILE (model));
  g_return_if_fail (!dataset || G_IS_FILE (dataset));
  g_return_if_fail (self->state == SOMSCOPE_DOCUMENT_STATE_EMPTY);

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, somscope_document_load_async);

  g_set_object (&self->model_file, model);
  g_set_object (&self->dataset_file, dataset);
  g_clear_object (&self->cancellable);
  self->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  self->state = SOMSCOPE_DOCUMENT_STATE_LOADING;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);

  d = g_new0 (LoadData, 1);
  d->model_path = g_file_get_path (model);
  d->dataset_path = dataset ? g_file_get_path (dataset) : NULL;
  if (d->model_path != NULL && g_str_has_suffix (d->model_path, ".npz"))
    {
      d->activations_path = g_steal_pointer (&d->model_path);
      g_clear_pointer (&d->dataset_path, g_free);
    }
  else if (d->model_path != NULL && g_str_has_suffix (d->model_path, ".somscope"))
    {
      d->session_path = g_steal_pointer (&d->model_path);
      d->model_path = g_strdup (d->session_path);
      g_clear_pointer (&d->dataset_path, g_free);
    }
  d->limit = MAX (0, g_settings_get_int (self->settings, "image-limit"));
  d->preprocessing = self->preprocessing;
  codes = g_settings_get_enum (self->settings, "som-codes");
  d->codes_mode = codes == 1 ? SOM_CODES_FLATTEN : SOM_CODES_MEAN;
  self->load_progress = job_progress_new (self, self->cancellable, load_progress_apply);
  d->progress = job_progress_ref (self->load_progress);

  if (d->model_path == NULL && d->activations_path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (model);

      load_data_free (d);
      g_clear_pointer (&self->load_progress, job_progress_unref);
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("%s: not a local file"), uri);
      return;
    }

  jobs_changed (self, 1);
  task = g_task_new (self, self->cancellable, load_done_cb, g_steal_pointer (&outer));
  g_task_set_source_tag (task, load_thread);
  g_task_set_task_data (task, d, (GDestroyNotify) load_data_free);
  run_in_worker (task, load_thread);
}

gboolean
somscope_document_load_finish (SomscopeDocument  *self,
                               GAsyncResult      *result,
                               GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* -- training: one job per layer in a shared GThreadPool */

/* Where a trainer's intermediate maps go: shared by the job and the
 * mailbox.  Epochs arrive faster than frames, so they are coalesced: the
 * trainer leaves its latest map in @pending by pointer exchange (dropping
 * one not yet shown) and posts the mail; the delivery takes whatever is
 * latest then.  No lock: see somscope-mailbox.c. */
typedef struct
{
  SomMap *map;
  guint   epoch;
} LiveEpoch;

static void
live_epoch_free (LiveEpoch *e)
{
  if (e == NULL)
    return;
  g_clear_object (&e->map);
  g_free (e);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LiveEpoch, live_epoch_free)

typedef struct
{
  SomscopeMail    mail;          /* first: the mailbox takes the box's references */
  GWeakRef        layer;
  GCancellable   *cancellable;
  LiveEpoch      *pending;       /* atomic */
} LiveTarget;

static void live_update_deliver (SomscopeMail *mail);
static void live_target_unref (LiveTarget *t);

static void
live_target_clear (LiveTarget *t)
{
  g_weak_ref_clear (&t->layer);
  g_clear_object (&t->cancellable);
  g_clear_pointer (&t->pending, live_epoch_free);
}

static LiveTarget *
live_target_new (SomscopeLayer *layer,
                 GCancellable  *cancellable)
{
  LiveTarget *t = g_atomic_rc_box_new0 (LiveTarget);

  somscope_mail_init (&t->mail, live_update_deliver, (GDestroyNotify) live_target_unref);
  g_weak_ref_init (&t->layer, layer);
  t->cancellable = g_object_ref (cancellable);
  return t;
}

static void
live_target_unref (LiveTarget *t)
{
  g_atomic_rc_box_release_full (t, (GDestroyNotify) live_target_clear);
}

/* Main thread, from the mailbox: the map views redraw the layer with the
 * latest epoch's codebook, unless the training has been stopped, replaced
 * or finished since. */
static void
live_update_deliver (SomscopeMail *mail)
{
  LiveTarget *t = (LiveTarget *) mail;
  g_autoptr(SomscopeLayer) layer = g_weak_ref_get (&t->layer);
  g_autoptr(LiveEpoch) latest = g_atomic_pointer_exchange (&t->pending, NULL);
  SomscopeLayerStatus status;

  if (latest == NULL || layer == NULL || g_cancellable_is_cancelled (t->cancellable))
    return;
  status = somscope_layer_get_status (layer);
  if (status == SOMSCOPE_LAYER_STATUS_WAITING || status == SOMSCOPE_LAYER_STATUS_TRAINING)
    somscope_layer_set_live_map (layer, latest->map, latest->epoch);
}

typedef struct
{
  GWeakRef        document;
  GWeakRef        layer;
  GCancellable   *cancellable;   /* the document's when the job started */
  SomscopeCodes  *codes;
  SomGrid        *grid;          /* for the intermediate maps */
  LiveTarget     *live;
  GPtrArray      *live_maps;     /* the trainer's: intermediate maps it reuses */
  SomArray       *labels;        /* copy, or NULL */
  guint           n_classes;
  SomTrainParams  params;
  JobProgress    *progress;

  /* Results */
  SomMap         *map;
  SomArray       *majority;
  SomArray       *purity;
  GError         *error;
} TrainJob;

static void
train_job_free (TrainJob *job)
{
  g_weak_ref_clear (&job->document);
  g_weak_ref_clear (&job->layer);
  g_clear_object (&job->cancellable);
  g_clear_pointer (&job->codes, somscope_codes_unref);
  g_clear_pointer (&job->grid, som_grid_unref);
  g_clear_pointer (&job->live, live_target_unref);
  g_clear_pointer (&job->live_maps, g_ptr_array_unref);
  g_clear_pointer (&job->labels, som_array_free);
  g_clear_pointer (&job->progress, job_progress_unref);
  g_clear_object (&job->map);
  g_clear_pointer (&job->majority, som_array_free);
  g_clear_pointer (&job->purity, som_array_free);
  g_clear_error (&job->error);
  g_free (job);
}

/* The maps' part of the line: the maps finished in this run count as
 * done, so the line does not go back as each map finishes. */
static void
update_training_progress (SomscopeDocument *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));
  double sum = 0;
  guint count = 0;

  if (self->n_training == 0)
    {
      finish_part (self, PART_TRAIN);
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (G_LIST_MODEL (self->layers), i);
      SomscopeLayerStatus status = somscope_layer_get_status (layer);

      if (status == SOMSCOPE_LAYER_STATUS_WAITING || status == SOMSCOPE_LAYER_STATUS_TRAINING)
        {
          sum += somscope_layer_get_progress (layer);
          count++;
        }
    }
  /* No count: a message that changes as each map finishes would change
   * the subtitle's size, and lay the window out, while the others train
   * (the sidebar says which train). */
  set_part (self, PART_TRAIN, count + self->n_trained > 0 ? (sum + self->n_trained) / (count + self->n_trained) : 1.0,
            /* Translators: the subtitle's message while maps train */
            _("Training the maps"));
}

static void
train_progress_apply (GObject      *owner,
                      double        fraction,
                      const char   *message,
                      GCancellable *cancellable)
{
  SomscopeLayer *layer = SOMSCOPE_LAYER (owner);
  g_autoptr(SomscopeDocument) document = NULL;
  guint epoch = 0, n_epochs = 0;
  char stage[32];

  if (somscope_layer_get_status (layer) != SOMSCOPE_LAYER_STATUS_TRAINING &&
      somscope_layer_get_status (layer) != SOMSCOPE_LAYER_STATUS_WAITING)
    return;
  somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_TRAINING, NULL);
  /* The trainer reports "epoch E/N, chunk C/M, QE q". */
  if (message == NULL || sscanf (message, "%31s %u/%u", stage, &epoch, &n_epochs) != 3)
    epoch = n_epochs = 0;
  somscope_layer_set_progress (layer, fraction, epoch, n_epochs);

  document = g_object_get_data (G_OBJECT (layer), "somscope-document")
               ? g_object_ref (g_object_get_data (G_OBJECT (layer), "somscope-document")) : NULL;
  if (document != NULL)
    update_training_progress (document);
}

static gboolean
train_done_idle (gpointer data)
{
  TrainJob *job = data;
  g_autoptr(SomscopeDocument) self = g_weak_ref_get (&job->document);
  g_autoptr(SomscopeLayer) layer = g_weak_ref_get (&job->layer);

  /* The mail the trainer posted before it returned (its last epoch's map)
   * comes first: the mailbox waits out its interval, this idle does not. */
  somscope_mailbox_flush ();
  if (self == NULL)
    goto out;
  self->n_training--;
  self->n_trained++;
  jobs_changed (self, -1);
  if (layer == NULL)
    goto out;

  /* Stale: the document restarted or stopped its jobs since. */
  if (job->cancellable != self->cancellable || g_cancellable_is_cancelled (job->cancellable))
    {
      if (job->cancellable == self->cancellable &&
          somscope_layer_get_map (layer) == NULL &&
          somscope_layer_get_status (layer) != SOMSCOPE_LAYER_STATUS_IDLE)
        somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_FAILED, _("Stopped"));
      goto out;
    }
  if (!somscope_layer_get_mapped (layer))
    goto out;

  if (job->map == NULL)
    somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_FAILED, job->error->message);
  else
    {
      somscope_layer_set_map (layer, job->map, g_steal_pointer (&job->majority),
                              g_steal_pointer (&job->purity));
      somscope_layer_set_errors (layer, som_map_get_quantization_error (job->map),
                                 som_map_get_topographic_error (job->map));
      somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_DONE, NULL);
      if (self->selected_input >= 0)
        somscope_layer_set_input (layer, self->selected_input);
      self->modified = TRUE;
      ensure_adversarial_codes (self, layer);
      map_adversarial (self, layer);
    }
  update_training_progress (self);
  /* Finished training is never lost. */
  if (self->n_training == 0 && self->modified)
    somscope_document_autosave (self);

out:
  train_job_free (job);
  return G_SOURCE_REMOVE;
}

/* Training thread: a map for an epoch's codebook.  The intermediate maps
 * are reused once the main thread has let go of them (the trainer's is then
 * the only reference): memory that a worker's malloc arena gave and the
 * main thread freed made the main thread take the worker's arena lock, and
 * wait, behind a trainer at idle priority holding it, up to 11 ms (perf's
 * sched_switch stacks).  Reused, it is freed by the trainer at the end.
 * NULL when all are still shown or on their way (the epoch is skipped: a
 * later one follows). */
#define LIVE_MAPS_MAX 4

static SomMap *
take_live_map (TrainJob *job,
               guint     dim)
{
  SomMap *map;

  if (job->live_maps == NULL)
    job->live_maps = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < job->live_maps->len; i++)
    {
      map = g_ptr_array_index (job->live_maps, i);
      if (g_atomic_int_get ((int *) &G_OBJECT (map)->ref_count) == 1)
        return g_object_ref (map);
    }
  if (job->live_maps->len >= LIVE_MAPS_MAX)
    return NULL;
  map = som_map_new (job->grid, dim, NULL);
  if (map != NULL)
    g_ptr_array_add (job->live_maps, g_object_ref (map));
  return map;
}

/* Training thread, after each epoch (SomEpochFunc): the codebook is copied
 * into a map of its own with its U-matrix, computed here rather than on the
 * main thread, and left for the main loop.  A map not yet shown is replaced
 * (the views only ever draw the latest epoch, at most once per idle); the
 * last epoch's codebook comes with the trained map instead, whose idle is
 * queued after any pending update's. */
static void
train_epoch_cb (guint        epoch,
                guint        epochs,
                const float *codebook,
                double       qe,
                gpointer     user_data)
{
  TrainJob *job = user_data;
  guint dim = job->codes->array->shape[1];
  g_autoptr(SomMap) map = NULL;
  LiveEpoch *latest;

  if (epoch >= epochs || job->grid == NULL || g_cancellable_is_cancelled (job->cancellable))
    return;
  map = take_live_map (job, dim);
  if (map == NULL)
    return;
  memcpy (som_map_get_codebook (map), codebook, (gsize) som_map_get_n_units (map) * dim * sizeof (float));
  som_map_take_array (map, "umatrix", som_map_umatrix (map, SOM_UMATRIX_MEAN));
  som_map_set_errors (map, qe, NAN);

  latest = g_new (LiveEpoch, 1);
  latest->map = g_steal_pointer (&map);
  latest->epoch = epoch;
  /* A map not yet shown is dropped here, in the thread that made it. */
  live_epoch_free (g_atomic_pointer_exchange (&job->live->pending, latest));
  somscope_mail_post (&job->live->mail);
}

static void
train_worker (gpointer data,
              gpointer user_data)
{
  somscope_worker_enter ();
  TrainJob *job = data;
  g_autoptr(SomChunkSource) source = NULL;
  SomArray *codes = job->codes->array;
  static _Thread_local gboolean reniced;

  /* The pool's threads are ours alone: lower them once. */
  if (!reniced)
    {
      prctl (PR_SET_NAME, "somscope-train");
      lower_thread_priority ();
      reniced = TRUE;
    }

  if (!g_cancellable_set_error_if_cancelled (job->cancellable, &job->error))
    {
      source = som_chunk_source_new_for_data (codes->data, codes->shape[0], codes->shape[1],
                                              somscope_codes_ref (job->codes),
                                              (GDestroyNotify) somscope_codes_unref);
      job->map = som_trainer_train (&job->params, source, job->labels, job->cancellable,
                                    job_progress_update, job->progress, &job->error);
      if (job->map != NULL)
        {
          const SomArray *class_hits = som_map_get_array (job->map, "class_hits");

          if (class_hits != NULL)
            som_map_class_map (job->map, class_hits, &job->majority, &job->purity);
        }
    }
  /* The intermediate maps the main thread no longer holds are freed here. */
  g_clear_pointer (&job->live_maps, g_ptr_array_unref);
  g_idle_add_full (G_PRIORITY_DEFAULT, train_done_idle, job, NULL);
  somscope_worker_leave ();
}

/* Trainers run side by side, one per core; OpenBLAS's thread count is
 * process-wide, so each then runs single-threaded BLAS (contracts.md). */
static GThreadPool *
get_train_pool (void)
{
  static GThreadPool *pool;

  if (g_once_init_enter (&pool))
    {
      guint n = MAX (1, g_get_num_processors ());
      const char *env = g_getenv ("SOMSCOPE_TRAINERS");

      if (env != NULL && g_ascii_strtoull (env, NULL, 10) > 0)
        n = g_ascii_strtoull (env, NULL, 10);
      if (n > 1)
        openblas_set_num_threads (1);
      /* Exclusive: threads of a shared pool go back to GLib's spares, and a
       * lowered one would then run anything at idle priority. */
      g_once_init_leave (&pool, g_thread_pool_new (train_worker, NULL, n, TRUE, NULL));
    }
  return pool;
}

static void
read_params (SomscopeDocument *self,
             SomTrainParams   *params)
{
  som_train_params_init (params);
  params->rows = g_settings_get_int (self->settings, "som-rows");
  params->cols = g_settings_get_int (self->settings, "som-cols");
  params->topology = g_settings_get_enum (self->settings, "som-topology") == 1 ? SOM_TOPOLOGY_RECT
                                                                                : SOM_TOPOLOGY_HEX;
  params->toroidal = g_settings_get_boolean (self->settings, "som-toroidal");
  params->epochs = g_settings_get_int (self->settings, "som-epochs");
  params->seed = g_settings_get_int (self->settings, "som-seed");
}

static void
start_training (SomscopeDocument *self,
                SomscopeLayer    *layer)
{
  TrainJob *job;

  job = g_new0 (TrainJob, 1);
  g_weak_ref_init (&job->document, self);
  g_weak_ref_init (&job->layer, layer);
  job->cancellable = g_object_ref (self->cancellable);
  job->codes = somscope_codes_ref (somscope_layer_get_codes (layer));
  job->labels = self->labels ? som_array_copy (self->labels) : NULL;
  read_params (self, &job->params);
  job->grid = som_grid_new (job->params.rows, job->params.cols, job->params.topology,
                            job->params.toroidal, NULL);
  job->live = live_target_new (layer, self->cancellable);
  job->params.epoch_func = train_epoch_cb;
  job->params.epoch_data = job;
  job->progress = job_progress_new (layer, self->cancellable, train_progress_apply);
  g_object_set_data (G_OBJECT (layer), "somscope-document", self);

  somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_WAITING, NULL);
  self->n_training++;
  jobs_changed (self, 1);
  g_thread_pool_push (get_train_pool (), job, NULL);
}

SomscopeDocumentState
somscope_document_get_state (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), SOMSCOPE_DOCUMENT_STATE_EMPTY);
  return self->state;
}

const char *
somscope_document_get_title (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return self->title;
}

const char *
somscope_document_get_summary (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return self->summary;
}

const char *
somscope_document_get_attack_summary (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return self->attack_summary;
}

GFile *
somscope_document_get_model_file (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return self->model_file;
}

GFile *
somscope_document_get_dataset_file (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return self->dataset_file;
}

GListModel *
somscope_document_get_layers (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return G_LIST_MODEL (self->layers);
}

GListModel *
somscope_document_get_inputs (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return G_LIST_MODEL (self->inputs);
}

const char * const *
somscope_document_get_class_names (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return (const char * const *) self->class_names;
}

gboolean
somscope_document_get_busy (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), FALSE);
  /* Held jobs count: the window shows their bar before they start, so the
   * page does not move down under the user when they do. */
  return self->n_jobs > 0 || self->held_training || self->held_attack;
}

const char *
somscope_document_get_estimate (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return self->estimate;
}

double
somscope_document_get_progress (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), 0);
  return self->progress;
}

const char *
somscope_document_get_message (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return self->message;
}


/* -- layers checked later: their codes come from another pass of the model */

static void
extract_thread_body (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  LoadData *d = task_data;
  g_autoptr(GError) error = NULL;

  if (!load_run_inference (d, cancellable, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
extract_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);
  g_autoptr(GPtrArray) layers = user_data;
  LoadData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  gboolean current = g_task_get_cancellable (G_TASK (result)) == self->cancellable;

  job_progress_close (d->progress);
  jobs_changed (self, -1);
  if (current)
    finish_part (self, PART_EXTRACT);
  for (guint i = 0; i < layers->len; i++)
    {
      SomscopeLayer *layer = g_ptr_array_index (layers, i);

      if (!current)
        continue;
      if (!ok)
        {
          somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_FAILED,
                                     g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                       ? _("Stopped") : error->message);
          continue;
        }
      somscope_layer_set_codes (layer, g_ptr_array_index (d->codes, i));
      if (somscope_layer_get_mapped (layer))
        start_training (self, layer);
    }
  update_training_progress (self);
}

static void
somscope_document_extract_layers (SomscopeDocument *self,
                                  GPtrArray        *layers)
{
  g_autoptr(GTask) task = NULL;
  LoadData *d;
  int codes;

  if (layers->len == 0)
    return;
  if (self->model == NULL || self->preprocess == NULL)
    {
      for (guint i = 0; i < layers->len; i++)
        somscope_layer_set_status (g_ptr_array_index (layers, i), SOMSCOPE_LAYER_STATUS_FAILED,
                                   _("Open a dataset to map this layer"));
      return;
    }

  d = g_new0 (LoadData, 1);
  d->extract_only = TRUE;
  d->model = self->model;
  d->preprocess = self->preprocess;
  d->n = self->n_inputs;
  codes = g_settings_get_enum (self->settings, "som-codes");
  d->codes_mode = codes == 1 ? SOM_CODES_FLATTEN : SOM_CODES_MEAN;
  d->taps = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < layers->len; i++)
    {
      guint index = somscope_layer_get_index (g_ptr_array_index (layers, i));

      g_array_append_val (d->taps, index);
      somscope_layer_set_status (g_ptr_array_index (layers, i), SOMSCOPE_LAYER_STATUS_WAITING, NULL);
    }
  d->progress = job_progress_new (self, self->cancellable, extract_progress_apply);

  jobs_changed (self, 1);
  /* The task holds the document, so the borrowed model and preprocessing
   * outlive the worker. */
  task = g_task_new (self, self->cancellable, extract_done_cb, g_ptr_array_ref (layers));
  g_task_set_source_tag (task, somscope_document_extract_layers);
  g_task_set_task_data (task, d, (GDestroyNotify) load_data_free);
  run_in_worker (task, extract_thread);
}

static void
somscope_document_extract (SomscopeDocument *self,
                           SomscopeLayer    *layer)
{
  g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func (g_object_unref);

  g_ptr_array_add (layers, g_object_ref (layer));
  somscope_document_extract_layers (self, layers);
}

/* Checking several layers in a row makes one pass of the model. */
static gboolean
pending_timeout_cb (gpointer data)
{
  SomscopeDocument *self = data;
  g_autoptr(GPtrArray) extract = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer key;

  self->pending_id = 0;
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      SomscopeLayer *layer = key;

      if (!somscope_layer_get_mapped (layer))
        continue;
      if (somscope_layer_get_codes (layer) != NULL)
        start_training (self, layer);
      else
        g_ptr_array_add (extract, g_object_ref (layer));
    }
  g_hash_table_remove_all (self->pending);
  somscope_document_extract_layers (self, extract);
  update_training_progress (self);
  return G_SOURCE_REMOVE;
}

static void
layer_mapped_cb (SomscopeDocument *self,
                 GParamSpec       *pspec,
                 SomscopeLayer    *layer)
{
  if (!somscope_layer_get_mapped (layer))
    {
      g_hash_table_remove (self->pending, layer);
      somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_IDLE, NULL);
      return;
    }
  if (somscope_layer_get_map (layer) != NULL)
    {
      somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_DONE, NULL);
      ensure_adversarial_codes (self, layer);
      return;
    }
  somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_WAITING, NULL);
  g_hash_table_add (self->pending, g_object_ref (layer));
  g_clear_handle_id (&self->pending_id, g_source_remove);
  self->pending_id = g_timeout_add (300, pending_timeout_cb, self);
}



/* -- adversarial inputs: an attack, their codes on every mapped layer, their BMUs */

typedef struct
{
  SomModel          *model;          /* borrowed: the task holds the document */
  SomPreprocess     *preprocess;     /* borrowed */
  SomAttackParams    params;
  SomArray          *labels;         /* N int32 the attack uses */
  SomCodes           codes_mode;
  GArray            *taps;           /* guint layer indices */
  GPtrArray         *layers;         /* SomscopeLayer, one per tap */
  JobProgress       *progress;

  /* Results */
  SomArray          *pixels;
  SomArray          *adversarial;
  SomArray          *predictions;
  GPtrArray         *codes;          /* SomscopeCodes, one per tap */
} AttackData;

static void
attack_data_free (AttackData *d)
{
  g_clear_pointer (&d->labels, som_array_free);
  g_clear_pointer (&d->taps, g_array_unref);
  g_clear_pointer (&d->layers, g_ptr_array_unref);
  g_clear_pointer (&d->progress, job_progress_unref);
  g_clear_pointer (&d->pixels, som_array_free);
  g_clear_pointer (&d->adversarial, som_array_free);
  g_clear_pointer (&d->predictions, som_array_free);
  g_clear_pointer (&d->codes, g_ptr_array_unref);
  g_free (d);
}

/* Attack thread: the core's reports, as the first 80 % of the attack's
 * part, without the core's words ("attack: 120/2000 images, step 3/10"
 * at every step would change the window's subtitle, and so lay the window
 * out, at every report). */
static void
attack_step_progress (double      fraction,
                      const char *message,
                      gpointer    user_data)
{
  job_progress_update (0.8 * fraction, NULL, user_data);
}

/* @images (N×C×H×W in [0, 1]) through @tf and the model: the codes of
 * each of @taps, one SomscopeCodes of N rows each, appended to @codes.  With
 * @progress, the last 20 % of the attack's part. */
static gboolean
run_codes (SomModel                *model,
           const SomPixelTransform *tf,
           const SomArray          *images,
           const GArray            *taps,
           SomCodes                 codes_mode,
           GPtrArray               *codes,
           JobProgress             *progress,
           GCancellable            *cancellable,
           GError                 **error)
{
  gsize n = images->shape[0];
  gsize image = som_array_n_elements (images) / MAX (n, 1);
  guint first = codes->len;

  for (gsize start = 0; start < n; start += BATCH_SIZE)
    {
      gsize nb = MIN (BATCH_SIZE, n - start);
      gsize shape[SOM_ARRAY_MAX_DIMS];
      g_autoptr(SomArray) batch = NULL;
      g_autoptr(SomArray) input = NULL;
      g_autoptr(SomArray) logits = NULL;
      g_autoptr(GPtrArray) tap_values = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      memcpy (shape, images->shape, sizeof shape);
      shape[0] = nb;
      batch = som_array_new (SOM_DTYPE_F32, images->ndim, shape, error);
      if (batch == NULL)
        return FALSE;
      memcpy (batch->data, (const float *) images->data + start * image, nb * image * sizeof (float));
      input = som_pixel_transform_apply (tf, batch);
      logits = som_model_run_images (model, input, (const guint *) taps->data, taps->len,
                                     &tap_values, cancellable, error);
      if (logits == NULL)
        return FALSE;
      for (guint t = 0; t < taps->len; t++)
        {
          g_autoptr(SomArray) part = som_features_codes (g_ptr_array_index (tap_values, t), codes_mode,
                                                         "adversarial", error);
          SomArray *all;
          gsize dim;

          if (part == NULL)
            return FALSE;
          dim = part->shape[1];
          if (start == 0)
            g_ptr_array_add (codes, somscope_codes_new (som_array_new_2d_f32 (n, dim)));
          all = ((SomscopeCodes *) g_ptr_array_index (codes, first + t))->array;
          memcpy ((float *) all->data + start * dim, part->data, nb * dim * sizeof (float));
        }
      if (progress != NULL)
        job_progress_update (0.8 + 0.2 * (start + nb) / n,
                             _("Running the model on the adversarial images"), progress);
    }
  return TRUE;
}

static void
attack_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  AttackData *d = task_data;
  g_autoptr(GError) error = NULL;
  SomPixelTransform tf;
  gsize n;

  somscope_worker_enter ();
  n = d->labels->shape[0];
  job_progress_update (0, _("Attacking the images"), d->progress);
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    goto out;
  d->pixels = som_preprocess_read_pixels (d->preprocess, 0, n, &error);
  som_pixel_transform_init_from_preprocess (&tf, d->preprocess);
  d->predictions = som_array_new_1d_i32 (n);
  /* The cancellable reaches the core's loop: it stops between PGD steps
   * and between batches. */
  if (d->pixels == NULL ||
      !som_attack_run (d->model, &d->params, &tf, d->pixels, d->labels->data, &d->adversarial,
                       d->predictions->data, cancellable, attack_step_progress, d->progress, &error))
    goto out;

  /* The adversarial images through the model, for their codes. */
  d->codes = g_ptr_array_new_with_free_func ((GDestroyNotify) somscope_codes_unref);
  run_codes (d->model, &tf, d->adversarial, d->taps, d->codes_mode, d->codes, d->progress, cancellable, &error);

out:
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
  somscope_worker_leave ();
}

typedef struct
{
  SomscopeLayer *layer;
  SomMap        *map;
  SomscopeCodes *codes;
  SomArray      *bmus;
} BmuData;

static void
bmu_data_free (BmuData *d)
{
  g_object_unref (d->layer);
  g_object_unref (d->map);
  somscope_codes_unref (d->codes);
  g_clear_pointer (&d->bmus, som_array_free);
  g_free (d);
}

static void
bmu_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  BmuData *d = task_data;
  g_autoptr(GError) error = NULL;
  const SomArray *codes = d->codes->array;

  somscope_worker_enter ();
  d->bmus = som_array_new_1d_i32 (codes->shape[0]);
  if (!som_map_find_bmus (d->map, codes->data, codes->shape[0], codes->shape[1], d->bmus->data,
                          NULL, NULL, cancellable, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
  somscope_worker_leave ();
}

static void
bmu_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);
  BmuData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  jobs_changed (self, -1);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    return;
  somscope_layer_set_adversarial_bmus (d->layer, d->map, g_steal_pointer (&d->bmus));
}

/* Where the adversarial inputs land on a layer's map, once both exist. */
static void
map_adversarial (SomscopeDocument *self,
                 SomscopeLayer    *layer)
{
  g_autoptr(GTask) task = NULL;
  BmuData *d;

  if (somscope_layer_get_map (layer) == NULL || somscope_layer_get_adversarial_codes (layer) == NULL ||
      somscope_layer_get_adversarial_bmus (layer) != NULL)
    return;
  d = g_new0 (BmuData, 1);
  d->layer = g_object_ref (layer);
  d->map = g_object_ref (somscope_layer_get_map (layer));
  d->codes = somscope_codes_ref (somscope_layer_get_adversarial_codes (layer));
  jobs_changed (self, 1);
  task = g_task_new (self, self->cancellable, bmu_done_cb, NULL);
  g_task_set_source_tag (task, map_adversarial);
  g_task_set_task_data (task, d, (GDestroyNotify) bmu_data_free);
  run_in_worker (task, bmu_thread);
}

/* -- the adversarial codes of a layer mapped after the attack: the
 * attack's images through the model again, up to that layer */

typedef struct
{
  SomModel      *model;       /* borrowed: the task holds the document */
  SomPreprocess *preprocess;  /* borrowed */
  SomscopeCodes *images;
  SomCodes       codes_mode;
  GArray        *taps;
  SomscopeLayer *layer;
  GPtrArray     *codes;       /* SomscopeCodes, one */
} AdversarialCodesData;

static void
adversarial_codes_data_free (AdversarialCodesData *d)
{
  somscope_codes_unref (d->images);
  g_array_unref (d->taps);
  g_object_unref (d->layer);
  g_clear_pointer (&d->codes, g_ptr_array_unref);
  g_free (d);
}

static void
adversarial_codes_thread (GTask        *task,
                          gpointer      source_object,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  AdversarialCodesData *d = task_data;
  g_autoptr(GError) error = NULL;
  SomPixelTransform tf;

  somscope_worker_enter ();
  som_pixel_transform_init_from_preprocess (&tf, d->preprocess);
  d->codes = g_ptr_array_new_with_free_func ((GDestroyNotify) somscope_codes_unref);
  if (!run_codes (d->model, &tf, d->images->array, d->taps, d->codes_mode, d->codes, NULL, cancellable, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
  somscope_worker_leave ();
}

static void
adversarial_codes_done_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);
  AdversarialCodesData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  jobs_changed (self, -1);
  g_hash_table_remove (self->adversarial_pending, d->layer);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("%s: %s", somscope_layer_get_name (d->layer), error->message);
      return;
    }
  /* Another attack finished meanwhile: the codes of its images instead. */
  if (d->images != self->adversarial_pixels)
    {
      ensure_adversarial_codes (self, d->layer);
      return;
    }
  somscope_layer_set_adversarial_codes (d->layer, g_ptr_array_index (d->codes, 0));
  map_adversarial (self, d->layer);
}

/* A layer mapped after the attack (ticked, or ticked again after another
 * attack) has no adversarial codes, and without them no trajectory: they
 * are computed from the attack's images. */
static void
ensure_adversarial_codes (SomscopeDocument *self,
                          SomscopeLayer    *layer)
{
  g_autoptr(GTask) task = NULL;
  AdversarialCodesData *d;
  guint index;

  if (self->adversarial_pixels == NULL || self->model == NULL || self->preprocess == NULL ||
      self->attacking || !somscope_layer_get_mapped (layer) ||
      somscope_layer_get_adversarial_codes (layer) != NULL ||
      g_hash_table_contains (self->adversarial_pending, layer))
    return;

  d = g_new0 (AdversarialCodesData, 1);
  d->model = self->model;
  d->preprocess = self->preprocess;
  d->images = somscope_codes_ref (self->adversarial_pixels);
  d->codes_mode = g_settings_get_enum (self->settings, "som-codes") == 1 ? SOM_CODES_FLATTEN : SOM_CODES_MEAN;
  d->taps = g_array_new (FALSE, FALSE, sizeof (guint));
  index = somscope_layer_get_index (layer);
  g_array_append_val (d->taps, index);
  d->layer = g_object_ref (layer);
  g_hash_table_add (self->adversarial_pending, g_object_ref (layer));
  jobs_changed (self, 1);
  task = g_task_new (self, self->cancellable, adversarial_codes_done_cb, NULL);
  g_task_set_source_tag (task, ensure_adversarial_codes);
  g_task_set_task_data (task, d, (GDestroyNotify) adversarial_codes_data_free);
  run_in_worker (task, adversarial_codes_thread);
}

static void
attack_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);
  AttackData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  const gint32 *adv;
  guint n_classes = g_strv_length (self->class_names);
  gboolean current = g_task_get_cancellable (G_TASK (result)) == self->attack_cancellable;

  job_progress_close (d->progress);
  jobs_changed (self, -1);
  if (current)
    {
      finish_part (self, PART_ATTACK);
      self->attacking = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTACKING]);
    }
  /* Stopped or replaced: the last finished attack stays as it was. */
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (current && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_free (self->attack_summary);
          self->attack_summary = g_strdup_printf (_("The attack failed: %s"), error->message);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUMMARY]);
        }
      return;
    }
  if (!current || g_cancellable_is_cancelled (self->attack_cancellable))
    return;

  g_clear_pointer (&self->clean_pixels, som_array_free);
  g_clear_pointer (&self->adversarial_pixels, somscope_codes_unref);
  g_clear_pointer (&self->adversarial_predictions, som_array_free);
  g_clear_pointer (&self->attack, json_node_unref);
  self->clean_pixels = g_steal_pointer (&d->pixels);
  self->adversarial_pixels = somscope_codes_new (g_steal_pointer (&d->adversarial));
  g_hash_table_remove_all (self->replayed);
  self->adversarial_predictions = g_steal_pointer (&d->predictions);
  g_clear_pointer (&self->attack, json_node_unref);
  self->attack = som_attack_params_to_json (&d->params);
  adv = self->adversarial_predictions->data;
  for (gsize i = 0; i < self->n_inputs; i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (G_LIST_MODEL (self->inputs), i);

      somscope_input_set_adversarial_prediction (input, adv[i],
                                                 self->foreign_classes ? model_class_name (self, adv[i])
                                                 : adv[i] >= 0 && (guint) adv[i] < n_classes
                                                   ? self->class_names[adv[i]] : NULL);
    }
  for (guint t = 0; t < d->layers->len; t++)
    {
      SomscopeLayer *layer = g_ptr_array_index (d->layers, t);

      somscope_layer_set_adversarial_codes (layer, g_ptr_array_index (d->codes, t));
      map_adversarial (self, layer);
    }
  /* The other layers' adversarial codes were of an older attack's images;
   * those ticked since it started get this one's. */
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->layers)); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (G_LIST_MODEL (self->layers), i);

      if (g_ptr_array_find (d->layers, layer, NULL))
        continue;
      somscope_layer_set_adversarial_codes (layer, NULL);
      ensure_adversarial_codes (self, layer);
    }
  update_attack_summary (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUMMARY]);
}

/* What the attack pushes away from: the images' labels when they are
 * classes of the model; else (unlabelled images, or images whose classes
 * are not the model's, as a folder of "cat" and "dog" beside ten outputs)
 * the model's own predictions, which is what a saved attack's
 * "labels_from" says. */
static const SomArray *
attack_labels (SomscopeDocument *self,
               SomLabelSource   *source)
{
  if (self->labels != NULL && self->n_logits > 0 && !self->foreign_classes)
    {
      const gint32 *labels = self->labels->data;
      gboolean fit = TRUE;

      for (gsize i = 0; i < self->labels->shape[0] && fit; i++)
        fit = labels[i] >= 0 && (guint) labels[i] < self->n_logits;
      if (fit)
        {
          *source = SOM_LABELS_TRUTH;
          return self->labels;
        }
    }
  *source = SOM_LABELS_MODEL;
  return self->predictions;
}

static void
start_attack (SomscopeDocument *self)
{
  g_autoptr(GTask) task = NULL;
  AttackData *d;
  int method = g_settings_get_enum (self->settings, "attack-method");
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));
  SomLabelSource labels_from;
  const SomArray *labels = attack_labels (self, &labels_from);

  /* A new attack replaces one still running. */
  if (self->attack_cancellable != NULL)
    g_cancellable_cancel (self->attack_cancellable);
  g_clear_object (&self->attack_cancellable);
  if (method == 0 || self->model == NULL || self->preprocess == NULL || self->n_inputs == 0 || labels == NULL)
    return;
  self->attack_cancellable = g_cancellable_new ();

  d = g_new0 (AttackData, 1);
  d->model = self->model;
  d->preprocess = self->preprocess;
  som_attack_params_init (&d->params);
  d->params.method = method == 2 ? SOM_ATTACK_PGD : SOM_ATTACK_FGSM;
  d->params.eps = g_settings_get_double (self->settings, "attack-eps");
  d->params.steps = g_settings_get_int (self->settings, "attack-steps");
  d->params.seed = g_settings_get_int (self->settings, "som-seed");
  d->labels = som_array_copy (labels);
  d->params.labels_from = labels_from;
  d->codes_mode = g_settings_get_enum (self->settings, "som-codes") == 1 ? SOM_CODES_FLATTEN : SOM_CODES_MEAN;
  d->taps = g_array_new (FALSE, FALSE, sizeof (guint));
  d->layers = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (G_LIST_MODEL (self->layers), i);
      guint index = somscope_layer_get_index (layer);

      if (!somscope_layer_get_mapped (layer))
        continue;
      g_array_append_val (d->taps, index);
      g_ptr_array_add (d->layers, g_object_ref (layer));
    }
  d->progress = job_progress_new (self, self->attack_cancellable, attack_progress_apply);

  jobs_changed (self, 1);
  set_part (self, PART_ATTACK, 0, _("Attacking the images"));
  self->attacking = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTACKING]);
  task = g_task_new (self, self->attack_cancellable, attack_done_cb, NULL);
  g_task_set_source_tag (task, start_attack);
  g_task_set_task_data (task, d, (GDestroyNotify) attack_data_free);
  run_in_worker (task, attack_thread);
}

void
somscope_document_attack (SomscopeDocument *self)
{
  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));

  g_clear_handle_id (&self->attack_id, g_source_remove);
  if (self->state != SOMSCOPE_DOCUMENT_STATE_READY)
    return;
  start_attack (self);
}

gboolean
somscope_document_get_attacking (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), FALSE);
  return self->attacking;
}

double
somscope_document_get_attack_progress (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), -1);
  return self->attacking ? self->part_fraction[PART_ATTACK] : -1;
}

/* -- a session's attack, run again on one input ----------------------------
 *
 * A session keeps the attack's parameters, predictions and codes but not its
 * images.  When an input of a session is selected and the model is there,
 * the attack runs again on that input alone (a few milliseconds) so that
 * the gallery can show its adversarial image and the perturbation.  The
 * app's attacks start from the input itself (no random start), and each
 * image's attack is its own: the result is the saved attack's, which the
 * model's answer on it confirms (an image it does not is not shown). */

struct _Replay
{
  SomArray *clean;              /* 1×C×H×W in [0,1], or NULL while it runs */
  SomArray *adversarial;
  gboolean  running;
};

static void
replay_free (Replay *r)
{
  g_clear_pointer (&r->clean, som_array_free);
  g_clear_pointer (&r->adversarial, som_array_free);
  g_free (r);
}

typedef struct
{
  SomModel        *model;
  SomPreprocess   *preprocess;
  SomAttackParams  params;
  guint            input;
  gint32           label;
  gint32           expected;    /* the saved attack's prediction */
  SomArray        *clean, *adversarial;
} ReplayData;

static void
replay_data_free (ReplayData *d)
{
  g_clear_pointer (&d->clean, som_array_free);
  g_clear_pointer (&d->adversarial, som_array_free);
  g_free (d);
}

static void
replay_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ReplayData *d = task_data;
  g_autoptr(GError) error = NULL;
  SomPixelTransform tf;
  gint32 prediction = -1;

  somscope_worker_enter ();
  d->clean = som_preprocess_read_pixels (d->preprocess, d->input, 1, &error);
  som_pixel_transform_init_from_preprocess (&tf, d->preprocess);
  if (d->clean != NULL &&
      som_attack_run (d->model, &d->params, &tf, d->clean, &d->label, &d->adversarial, &prediction,
                      cancellable, NULL, NULL, &error) &&
      prediction != d->expected)
    g_set_error (&error, SOM_ERROR, SOM_ERROR_INVALID,
                 "input %u: the attack run again predicts %d where the session says %d",
                 d->input, prediction, d->expected);
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
  somscope_worker_leave ();
}

static void
replay_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);
  ReplayData *d = g_task_get_task_data (G_TASK (result));
  Replay *r = g_hash_table_lookup (self->replayed, GUINT_TO_POINTER (d->input));
  g_autoptr(GError) error = NULL;

  /* dropped meanwhile: another attack ran, or the maps were trained again */
  if (r == NULL || !r->running)
    return;
  r->running = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("%s", error->message);
      return;
    }
  r->clean = g_steal_pointer (&d->clean);
  r->adversarial = g_steal_pointer (&d->adversarial);
  if (self->selected_input == (int) d->input)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_INPUT]);
}

/* Starts the replay of @input where it can run; the images, when they are
 * there */
static const Replay *
replayed_images (SomscopeDocument *self,
                 guint             input)
{
  Replay *r = g_hash_table_lookup (self->replayed, GUINT_TO_POINTER (input));
  g_autoptr(GTask) task = NULL;
  ReplayData *d;
  SomAttackParams params;
  const SomArray *labels;

  if (r != NULL)
    return r->adversarial != NULL ? r : NULL;
  if (self->model == NULL || self->preprocess == NULL || self->attack == NULL || self->attacking ||
      self->adversarial_predictions == NULL || input >= self->adversarial_predictions->shape[0] ||
      !som_attack_params_from_json (self->attack, &params, NULL) || params.random_start)
    return NULL;
  /* the labels the saved attack used */
  labels = params.labels_from == SOM_LABELS_MODEL ? self->predictions : self->labels;
  if (labels == NULL || input >= labels->shape[0])
    return NULL;
  r = g_new0 (Replay, 1);
  r->running = TRUE;
  g_hash_table_insert (self->replayed, GUINT_TO_POINTER (input), r);
  d = g_new0 (ReplayData, 1);
  d->model = self->model;
  d->preprocess = self->preprocess;
  d->params = params;
  d->input = input;
  d->label = ((const gint32 *) labels->data)[input];
  d->expected = ((const gint32 *) self->adversarial_predictions->data)[input];
  task = g_task_new (self, self->cancellable, replay_done_cb, NULL);
  g_task_set_source_tag (task, replayed_images);
  g_task_set_task_data (task, d, (GDestroyNotify) replay_data_free);
  run_in_worker (task, replay_thread);
  return NULL;
}

/* The selected input: clean, adversarial, and the perturbation amplified
 * in the core's diverging colour map (ColorBrewer RdBu: blue negative,
 * white zero, red positive), the one the figures use. */
gboolean
somscope_document_get_adversarial_images (SomscopeDocument  *self,
                                          guint              input,
                                          GdkTexture       **adversarial,
                                          GdkTexture       **perturbation)
{
  const SomArray *clean = self->clean_pixels;
  const SomArray *adv = self->adversarial_pixels ? self->adversarial_pixels->array : NULL;
  const Replay *replay;
  guint c, h, w;
  const float *a, *b;
  float amax = 1e-12f;
  g_autofree guint8 *rgb = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const guint s = THUMBNAIL_SCALE;
  gsize stride;

  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), FALSE);

  /* a session's attack: its images come back one input at a time */
  if (adv == NULL && (replay = replayed_images (self, input)) != NULL)
    {
      clean = replay->clean;
      adv = replay->adversarial;
      input = 0;
    }
  if (adv == NULL || clean == NULL || input >= adv->shape[0] || adv->ndim != 4)
    return FALSE;
  c = adv->shape[1], h = adv->shape[2], w = adv->shape[3];
  *adversarial = make_thumbnail ((const float *) adv->data + (gsize) input * c * h * w, c, h, w);

  a = (const float *) clean->data + (gsize) input * c * h * w;
  b = (const float *) adv->data + (gsize) input * c * h * w;
  for (gsize i = 0; i < (gsize) c * h * w; i++)
    amax = MAX (amax, fabsf (b[i] - a[i]));
  stride = (gsize) w * s * 3;
  rgb = g_malloc ((gsize) h * s * stride);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        double d = 0;
        double color[3];
        guint8 px[3];

        for (guint k = 0; k < c; k++)
          d += b[((gsize) k * h + y) * w + x] - a[((gsize) k * h + y) * w + x];
        d /= c * amax;
        /* The figures' diverging map: −amax blue, 0 white, +amax red. */
        som_colormap_rgb (SOM_COLORMAP_DIVERGING, 0.5 + 0.5 * CLAMP (d, -1.0, 1.0), color);
        for (guint k = 0; k < 3; k++)
          px[k] = (guint8) lrint (255 * color[k]);
        for (guint dy = 0; dy < s; dy++)
          for (guint dx = 0; dx < s; dx++)
            memcpy (rgb + (gsize) (y * s + dy) * stride + (gsize) (x * s + dx) * 3, px, 3);
      }
  bytes = g_bytes_new_take (g_steal_pointer (&rgb), (gsize) h * s * stride);
  *perturbation = gdk_memory_texture_new (w * s, h * s, GDK_MEMORY_R8G8B8, bytes, stride);
  return TRUE;
}

/* -- sessions (.somscope): save, autosave */

struct _SomscopeSnapshot
{
  char       *path;
  char       *model_path;
  char       *model_sha256;
  char       *dataset_path;
  char       *dataset_sha256;
  JsonNode   *dataset_preprocessing;   /* the session's, when its images are not there */
  char       *activations_path;
  JsonNode   *metrics;
  gsize       n;
  SomArray   *labels;
  SomArray   *predictions;
  SomArray   *adversarial_predictions;
  JsonNode   *attack;
  GPtrArray  *layers;      /* SaveLayer */
  gint64      selection[3];
  gint64      seed;
  SomPreprocessOptions preprocessing;
};
typedef SomscopeSnapshot SaveData;

typedef struct
{
  guint      index;
  char      *name;
  char      *op;
  JsonNode  *shape;
  SomMap    *map;
  /* The layer's own, shared: codes are never changed once made, and a copy
   * on the main thread cost a frame (megabytes of fresh pages) when the
   * autosave followed the training. */
  SomscopeCodes *codes;
  SomscopeCodes *adversarial_codes;   /* or NULL */
  SomArray  *adversarial_bmus;    /* or NULL */
} SaveLayer;

static void
save_layer_free (SaveLayer *l)
{
  g_free (l->name);
  g_free (l->op);
  json_node_unref (l->shape);
  g_object_unref (l->map);
  somscope_codes_unref (l->codes);
  g_clear_pointer (&l->adversarial_codes, somscope_codes_unref);
  g_clear_pointer (&l->adversarial_bmus, som_array_free);
  g_free (l);
}

static void
save_data_free (SaveData *d)
{
  g_free (d->path);
  g_free (d->model_path);
  g_free (d->model_sha256);
  g_free (d->dataset_path);
  g_free (d->dataset_sha256);
  g_clear_pointer (&d->dataset_preprocessing, json_node_unref);
  g_clear_pointer (&d->metrics, json_node_unref);
  g_free (d->activations_path);
  g_clear_pointer (&d->labels, som_array_free);
  g_clear_pointer (&d->predictions, som_array_free);
  g_clear_pointer (&d->adversarial_predictions, som_array_free);
  g_clear_pointer (&d->attack, json_node_unref);
  g_ptr_array_unref (d->layers);
  g_free (d);
}

static gboolean
take_map_array (SomSession     *session,
                guint           position,
                SomLayerArray   which,
                SomMap         *map,
                const char     *name,
                GError        **error)
{
  const SomArray *array = som_map_get_array (map, name);

  if (array == NULL)
    return TRUE;
  return som_session_set_layer_array (session, position, which, array, error);
}

static void
add_values (JsonBuilder *builder,
            const float *values,
            guint        n)
{
  if (n == 0)
    {
      json_builder_add_null_value (builder);
      return;
    }
  json_builder_begin_array (builder);
  for (guint i = 0; i < n; i++)
    json_builder_add_double_value (builder, values[i]);
  json_builder_end_array (builder);
}

SomSession *
somscope_snapshot_to_session (SomscopeSnapshot  *d,
                              GError           **error)
{
  g_autoptr(SomSession) session = som_session_new ();
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) preprocessing = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "pad");
  json_builder_add_int_value (builder, d->preprocessing.pad);
  json_builder_set_member_name (builder, "resize");
  if (d->preprocessing.resize_height > 0)
    {
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, d->preprocessing.resize_height);
      json_builder_add_int_value (builder, d->preprocessing.resize_width);
      json_builder_end_array (builder);
    }
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "mean");
  add_values (builder, d->preprocessing.mean, d->preprocessing.n_mean);
  json_builder_set_member_name (builder, "std");
  add_values (builder, d->preprocessing.std, d->preprocessing.n_std);
  json_builder_end_object (builder);
  preprocessing = json_builder_get_root (builder);

  som_session_set_seed (session, d->seed);
  if ((d->model_path != NULL && !som_session_set_model (session, d->model_path, d->model_sha256, error)) ||
      (d->activations_path != NULL &&
       !som_session_set_activations (session, d->activations_path, NULL, error)) ||
      (d->dataset_path != NULL &&
       !som_session_set_dataset (session, d->dataset_path, d->dataset_sha256,
                                 d->dataset_preprocessing ? d->dataset_preprocessing : preprocessing,
                                 d->n, error)) ||
      (d->labels != NULL &&
       !som_session_set_array (session, SOM_SESSION_LABELS, d->labels, error)) ||
      (d->predictions != NULL &&
       !som_session_set_array (session, SOM_SESSION_PREDICTIONS, d->predictions, error)))
    return NULL;

  for (guint i = 0; i < d->layers->len; i++)
    {
      SaveLayer *l = g_ptr_array_index (d->layers, i);
      g_autoptr(JsonNode) meta = som_map_meta_to_json (l->map);
      int position;

      position = som_session_add_layer (session, l->index, l->name, l->op, l->shape, meta, error);
      if (position < 0 ||
          !som_session_set_layer_array (session, position, SOM_LAYER_CODEBOOK,
                                        som_map_get_codebook_array (l->map), error) ||
          !take_map_array (session, position, SOM_LAYER_BMUS, l->map, "bmus", error) ||
          !take_map_array (session, position, SOM_LAYER_HITS, l->map, "hits", error) ||
          !take_map_array (session, position, SOM_LAYER_UMATRIX, l->map, "umatrix", error) ||
          !take_map_array (session, position, SOM_LAYER_QE_PER_EPOCH, l->map, "qe_per_epoch", error) ||
          !take_map_array (session, position, SOM_LAYER_TE_PER_EPOCH, l->map, "te_per_epoch", error) ||
          !som_session_set_layer_array (session, position, SOM_LAYER_CODES, l->codes->array, error) ||
          (l->adversarial_codes != NULL &&
           !som_session_set_layer_array (session, position, SOM_LAYER_CODES_ADVERSARIAL,
                                         l->adversarial_codes->array, error)) ||
          (l->adversarial_bmus != NULL &&
           !som_session_set_layer_array (session, position, SOM_LAYER_BMUS_ADVERSARIAL,
                                         l->adversarial_bmus, error)))
        return NULL;
    }
  if (d->adversarial_predictions != NULL &&
      !som_session_set_array (session, SOM_SESSION_ADVERSARIAL_PREDICTIONS, d->adversarial_predictions, error))
    return NULL;
  som_session_set_attack (session, d->attack);
  som_session_set_metrics (session, d->metrics);
  som_session_set_selection (session, d->selection[0], d->selection[1], d->selection[2]);
  return g_steal_pointer (&session);
}

void
somscope_snapshot_free (SomscopeSnapshot *snapshot)
{
  save_data_free (snapshot);
}

static void
save_thread_body (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  SaveData *d = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomSession) session = NULL;

  /* The autosave follows the training while the maps are being looked at. */
  session = somscope_snapshot_to_session (d, &error);
  if (session == NULL || !som_session_save (session, d->path, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
  g_clear_object (&session);
}

static JsonNode *
shape_to_json (const SomLayer *info)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_array (builder);
  for (guint i = 0; i < info->ndim; i++)
    if (i == 0 || info->shape[i] < 0)
      json_builder_add_null_value (builder);
    else
      json_builder_add_int_value (builder, info->shape[i]);
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

static JsonNode *
codes_shape_to_json (const SomArray *codes)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_array (builder);
  json_builder_add_null_value (builder);
  json_builder_add_int_value (builder, codes->shape[1]);
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

static SaveData *
snapshot_for_save (SomscopeDocument *self,
                   const char       *path)
{
  SaveData *d = g_new0 (SaveData, 1);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));

  d->path = g_strdup (path);
  d->model_path = self->model != NULL ? g_file_get_path (self->model_file) : g_strdup (self->model_ref_path);
  d->model_sha256 = g_strdup (self->model_sha256);
  d->dataset_path = self->dataset_file ? g_file_get_path (self->dataset_file) : g_strdup (self->dataset_ref_path);
  d->dataset_sha256 = g_strdup (self->dataset_sha256);
  if (self->dataset_file == NULL && self->dataset_ref_path != NULL && self->dataset_ref_preprocessing != NULL)
    d->dataset_preprocessing = json_node_ref (self->dataset_ref_preprocessing);
  d->metrics = self->metrics ? json_node_ref (self->metrics) : NULL;
  d->activations_path = self->activations_file ? g_file_get_path (self->activations_file) : NULL;
  d->n = self->n_inputs;
  d->labels = self->labels ? som_array_copy (self->labels) : NULL;
  d->predictions = self->predictions ? som_array_copy (self->predictions) : NULL;
  d->adversarial_predictions = self->adversarial_predictions
                                 ? som_array_copy (self->adversarial_predictions) : NULL;
  d->attack = self->attack ? json_node_ref (self->attack) : NULL;
  d->seed = g_settings_get_int (self->settings, "som-seed");
  d->preprocessing = self->preprocessing;
  d->layers = g_ptr_array_new_with_free_func ((GDestroyNotify) save_layer_free);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (G_LIST_MODEL (self->layers), i);
      SomscopeCodes *codes = somscope_layer_get_codes (layer);
      SomMap *map = somscope_layer_get_map (layer);
      SaveLayer *l;

      if (map == NULL || codes == NULL || !somscope_layer_get_mapped (layer))
        continue;
      l = g_new0 (SaveLayer, 1);
      l->index = somscope_layer_get_index (layer);
      l->name = g_strdup (somscope_layer_get_name (layer));
      l->op = g_strdup (somscope_layer_get_op (layer));
      l->shape = self->model ? shape_to_json (som_model_get_layer (self->model, l->index))
                             : codes_shape_to_json (codes->array);
      l->map = g_object_ref (map);
      l->codes = somscope_codes_ref (codes);
      if (somscope_layer_get_adversarial_codes (layer) != NULL &&
          somscope_layer_get_adversarial_bmus (layer) != NULL)
        {
          l->adversarial_codes = somscope_codes_ref (somscope_layer_get_adversarial_codes (layer));
          l->adversarial_bmus = som_array_copy (somscope_layer_get_adversarial_bmus (layer));
        }
      g_ptr_array_add (d->layers, l);
    }
  d->selection[0] = self->selected_layer ? (gint64) somscope_layer_get_index (self->selected_layer) : -1;
  d->selection[1] = self->selected_input;
  d->selection[2] = self->selected_unit;
  return d;
}

void
somscope_document_save_async (SomscopeDocument    *self,
                              const char          *path,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));
  g_return_if_fail (path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, somscope_document_save_async);
  if (self->state != SOMSCOPE_DOCUMENT_STATE_READY)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("There is nothing to save yet"));
      return;
    }
  g_task_set_task_data (task, snapshot_for_save (self, path), (GDestroyNotify) save_data_free);
  run_in_worker (task, save_thread);
}

gboolean
somscope_document_save_finish (SomscopeDocument  *self,
                               GAsyncResult      *result,
                               GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (g_task_get_source_tag (G_TASK (result)) == somscope_document_save_async &&
      g_object_get_data (G_OBJECT (result), "somscope-autosave") == NULL)
    {
      SaveData *d = g_task_get_task_data (G_TASK (result));
      g_autofree char *session_name = g_path_get_basename (d->path);
      g_autofree char *dataset_name = self->dataset_file != NULL ? g_file_get_basename (self->dataset_file) : NULL;

      self->modified = FALSE;
      /* The window's subtitle names the session saved, as when it is opened */
      g_free (self->title);
      if (dataset_name != NULL)
        self->title = g_strdup_printf (_("%s on %s"), session_name, dataset_name);
      else
        self->title = g_steal_pointer (&session_name);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
    }
  return TRUE;
}

gboolean
somscope_document_get_modified (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), FALSE);
  return self->modified;
}

char *
somscope_document_autosave_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "somscope", "autosave.somscope", NULL);
}

static void
autosave_done_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);
  g_autofree char *path = somscope_document_autosave_path ();
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_message ("Autosave failed: %s", error->message);
      g_signal_emit (self, signals[AUTOSAVE_FAILED], 0, path, error->message);
    }
}

/* After the training jobs: the maps go to $XDG_STATE_HOME/somscope/.  A
 * failure is reported (autosave-failed) and changes nothing else. */
static void
somscope_document_autosave (SomscopeDocument *self)
{
  g_autofree char *path = somscope_document_autosave_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GTask) task = NULL;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_autofree char *message = g_strdup_printf ("%s: %s", dir, g_strerror (saved_errno));

      g_message ("Autosave failed: %s", message);
      g_signal_emit (self, signals[AUTOSAVE_FAILED], 0, path, message);
      return;
    }
  task = g_task_new (self, NULL, autosave_done_cb, NULL);
  g_task_set_source_tag (task, somscope_document_autosave);
  g_task_set_task_data (task, snapshot_for_save (self, path), (GDestroyNotify) save_data_free);
  run_in_worker (task, save_thread);
}

void
somscope_document_train (SomscopeDocument *self)
{
  guint n;

  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));

  if (self->state != SOMSCOPE_DOCUMENT_STATE_READY)
    return;
  /* A session's metrics described the maps it came with. */
  g_clear_pointer (&self->metrics, json_node_unref);
  /* Results of jobs still running are stale from now on. */
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (G_LIST_MODEL (self->layers), i);

      if (!somscope_layer_get_mapped (layer))
        continue;
      if (somscope_layer_get_codes (layer) != NULL)
        start_training (self, layer);
      else
        somscope_document_extract (self, layer);
    }
  update_training_progress (self);
}

/* After loading: the mapped layers without a map (a session brings its own). */
static void
train_missing (SomscopeDocument *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (G_LIST_MODEL (self->layers), i);

      if (!somscope_layer_get_mapped (layer) || somscope_layer_get_map (layer) != NULL)
        continue;
      if (somscope_layer_get_codes (layer) != NULL)
        start_training (self, layer);
      else
        somscope_document_extract (self, layer);
    }
  update_training_progress (self);
}

void
somscope_document_cancel (SomscopeDocument *self)
{
  guint n;

  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->attack_cancellable != NULL)
    g_cancellable_cancel (self->attack_cancellable);
  g_clear_handle_id (&self->attack_id, g_source_remove);
  g_clear_handle_id (&self->retrain_id, g_source_remove);
  /* Stopped before they started: they do not start on release. */
  if (self->held_training || self->held_attack)
    {
      self->held_training = FALSE;
      self->held_attack = FALSE;
      if (!somscope_document_get_busy (self))
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
  /* Jobs started from now on (the next attack's BMUs, a retraining) run;
   * the stopped ones see that their cancellable is no longer current. */
  if (self->cancellable != NULL)
    {
      g_clear_object (&self->cancellable);
      self->cancellable = g_cancellable_new ();
    }

  n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (G_LIST_MODEL (self->layers), i);
      SomscopeLayerStatus status = somscope_layer_get_status (layer);

      if (status == SOMSCOPE_LAYER_STATUS_WAITING || status == SOMSCOPE_LAYER_STATUS_TRAINING)
        {
          if (somscope_layer_get_map (layer) != NULL)
            somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_DONE, NULL);
          else
            somscope_layer_set_status (layer, SOMSCOPE_LAYER_STATUS_FAILED, _("Stopped"));
        }
    }
}

SomscopeLayer *
somscope_document_get_selected_layer (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return self->selected_layer;
}

void
somscope_document_set_selected_layer (SomscopeDocument *self,
                                      SomscopeLayer    *layer)
{
  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));
  g_return_if_fail (!layer || SOMSCOPE_IS_LAYER (layer));

  if (!g_set_object (&self->selected_layer, layer))
    return;
  /* A unit means something only on its own map. */
  somscope_document_set_selected_unit (self, -1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_LAYER]);
}

int
somscope_document_get_selected_input (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), -1);
  return self->selected_input;
}

void
somscope_document_set_selected_input (SomscopeDocument *self,
                                      int               input)
{
  guint n;

  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));

  if (input >= (int) g_list_model_get_n_items (G_LIST_MODEL (self->inputs)))
    input = -1;
  if (self->selected_input == input)
    return;
  self->selected_input = input;

  n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (G_LIST_MODEL (self->layers), i);

      somscope_layer_set_input (layer, input);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_INPUT]);
}

int
somscope_document_get_selected_unit (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), -1);
  return self->selected_unit;
}

void
somscope_document_set_selected_unit (SomscopeDocument *self,
                                     int               unit)
{
  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));

  if (self->selected_unit == unit)
    return;
  self->selected_unit = unit;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_UNIT]);
}

int
somscope_document_get_bmu (SomscopeDocument *self,
                           SomscopeLayer    *layer,
                           guint             input)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), -1);
  g_return_val_if_fail (SOMSCOPE_IS_LAYER (layer), -1);

  return somscope_layer_get_bmu (layer, input);
}

void
somscope_document_set_preprocessing (SomscopeDocument           *self,
                                     const SomPreprocessOptions *options)
{
  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));
  g_return_if_fail (options != NULL);

  self->preprocessing = *options;
}

const SomPreprocessOptions *
somscope_document_get_preprocessing (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return &self->preprocessing;
}

gboolean
somscope_document_get_suggested_preprocessing (SomscopeDocument     *self,
                                               SomPreprocessOptions *options)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), FALSE);

  if (self->has_suggestion)
    *options = self->suggestion;
  return self->has_suggestion;
}

SomscopeSnapshot *
somscope_document_snapshot (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return snapshot_for_save (self, NULL);
}

SomSessionRefState
somscope_document_get_model_state (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), SOM_SESSION_REF_NONE);
  return self->model_state;
}

const char *
somscope_document_get_model_ref_path (SomscopeDocument *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_DOCUMENT (self), NULL);
  return self->model_ref_path;
}

/* -- a moved model, found by the user */

typedef struct
{
  char          *path;
  char          *sha256;        /* the session's record */
  SomDataset    *dataset;       /* or NULL */
  SomPreprocessOptions preprocessing;

  /* Results */
  SomModel      *model;
  SomPreprocess *preprocess;
} LocateData;

static void
locate_data_free (LocateData *d)
{
  g_free (d->path);
  g_free (d->sha256);
  g_clear_object (&d->dataset);
  g_clear_object (&d->model);
  g_clear_pointer (&d->preprocess, som_preprocess_free);
  g_free (d);
}

static void
locate_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  LocateData *d = task_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *sum = NULL;
  guint channels = 0, height = 0, width = 0;
  gboolean channels_last = FALSE;

  somscope_worker_enter ();
  sum = som_file_sha256 (d->path, &error);
  if (sum != NULL && d->sha256 != NULL && g_ascii_strcasecmp (sum, d->sha256) != 0)
    g_set_error (&error, SOM_ERROR, SOM_ERROR_CORRUPT,
                 _("%s: not the model this session was made with (its SHA-256 differs)"), d->path);
  else if (sum != NULL)
    {
      d->model = som_model_load (d->path, &error);
      if (d->model != NULL && !som_model_check_runnable (d->model, &error))
        g_clear_object (&d->model);
      if (d->model != NULL && d->dataset != NULL &&
          som_model_get_image_shape (d->model, &channels, &height, &width, &channels_last, NULL))
        {
          d->preprocess = som_preprocess_new (d->dataset, &d->preprocessing, channels, height, width,
                                              channels_last, &error);
          if (d->preprocess == NULL)
            g_clear_object (&d->model);
        }
    }
  if (d->model == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
  somscope_worker_leave ();
}

static void
locate_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);
  g_autoptr(GTask) outer = user_data;
  LocateData *d = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  jobs_changed (self, -1);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (outer, g_steal_pointer (&error));
      return;
    }
  g_set_object (&self->model, d->model);
  if (d->preprocess != NULL)
    {
      g_clear_pointer (&self->preprocess, som_preprocess_free);
      self->preprocess = g_steal_pointer (&d->preprocess);
    }
  g_clear_object (&self->model_file);
  self->model_file = g_file_new_for_path (d->path);
  g_clear_pointer (&self->model_ref_path, g_free);
  self->model_state = SOM_SESSION_REF_OK;
  /* The session now points somewhere else: unsaved. */
  self->modified = TRUE;
  g_task_return_boolean (outer, TRUE);
}

void
somscope_document_locate_model_async (SomscopeDocument    *self,
                                      GFile               *file,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) outer = NULL;
  g_autoptr(GTask) task = NULL;
  LocateData *d;

  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));
  g_return_if_fail (G_IS_FILE (file));

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, somscope_document_locate_model_async);
  if (self->state != SOMSCOPE_DOCUMENT_STATE_READY || self->model != NULL)
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("This session is not missing its model"));
      return;
    }
  d = g_new0 (LocateData, 1);
  d->path = g_file_get_path (file);
  if (d->path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);

      locate_data_free (d);
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("%s: not a local file"), uri);
      return;
    }
  d->sha256 = g_strdup (self->model_sha256);
  d->dataset = self->dataset ? g_object_ref (self->dataset) : NULL;
  d->preprocessing = self->preprocessing;
  jobs_changed (self, 1);
  task = g_task_new (self, cancellable, locate_done_cb, g_steal_pointer (&outer));
  g_task_set_source_tag (task, locate_thread);
  g_task_set_task_data (task, d, (GDestroyNotify) locate_data_free);
  g_task_run_in_thread (task, locate_thread);
}

gboolean
somscope_document_locate_model_finish (SomscopeDocument  *self,
                                       GAsyncResult      *result,
                                       GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
