/* som-attack.h: adversarial attacks on the [0,1] pixel scale (FGSM, FGM, PGD)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "som-model.h"
#include "som-preprocess.h"

G_BEGIN_DECLS

typedef enum { SOM_ATTACK_FGSM, SOM_ATTACK_PGD } SomAttackMethod;
typedef enum { SOM_NORM_LINF, SOM_NORM_L2 } SomNorm;
typedef enum { SOM_LABELS_TRUTH, SOM_LABELS_MODEL } SomLabelSource;

/* contracts.md section 3, "Attacks and analysis".  FGSM with the L2 norm is
 * FGM.  Defaults (som_attack_params_init): FGSM, L∞, ε 0.1, 10 steps,
 * α = 2.5·ε/steps, 1 restart, no random start, untargeted, labels from the
 * ground truth, seed 0, batches of 64. */
typedef struct
{
  SomAttackMethod method;
  SomNorm         norm;
  double          eps;
  guint           steps;          /* PGD */
  double          alpha;          /* PGD step size; ≤ 0: 2.5·eps/steps */
  gboolean        random_start;   /* PGD */
  guint           restarts;       /* PGD; restarts after the first start at random */
  gint            target;         /* targeted class, or −1 (untargeted) */
  SomLabelSource  labels_from;
  guint64         seed;
  guint           batch_size;
} SomAttackParams;

void         som_attack_params_init      (SomAttackParams       *params);
/* Bad values (ε < 0 or not finite, steps 0, restarts 0, a target outside
 * [0, n_classes)): SOM_ERROR_INVALID saying which.  @n_classes 0: unknown. */
gboolean     som_attack_params_check     (const SomAttackParams *params,
                                          guint                  n_classes,
                                          GError               **error);
double       som_attack_params_get_alpha (const SomAttackParams *params);
/* {"method","norm","eps",("steps","alpha","random_start","restarts" for PGD),
 *  "targeted":CLASS|null,"labels_from","seed"} */
JsonNode    *som_attack_params_to_json   (const SomAttackParams *params);
/* The parameters som_attack_params_to_json() wrote (a session's attack):
 * members it leaves out keep their defaults; a missing or unknown method,
 * norm or ε, or values som_attack_params_check() refuses, are
 * SOM_ERROR_INVALID. */
gboolean     som_attack_params_from_json (JsonNode              *node,
                                          SomAttackParams       *params,
                                          GError               **error);
const char  *som_attack_method_to_string (SomAttackMethod method);
gboolean     som_attack_method_from_string (const char *text, SomAttackMethod *method);
const char  *som_norm_to_string          (SomNorm norm);
gboolean     som_norm_from_string        (const char *text, SomNorm *norm);

/* From pixel space to the model's input: per-channel (x − mean)/std, then the
 * channels-last layout if the model wants it.  The attack perturbs and clips
 * the pixels; the gradient is taken through this transform. */
typedef struct
{
  guint    channels;
  float    mean[3];
  float    std[3];
  gboolean channels_last;
} SomPixelTransform;

void         som_pixel_transform_init_identity (SomPixelTransform *tf,
                                                guint              channels);
void         som_pixel_transform_init_from_preprocess (SomPixelTransform *tf,
                                                SomPreprocess     *preprocess);
/* A new model input from N×C×H×W pixels. */
SomArray    *som_pixel_transform_apply   (const SomPixelTransform *tf,
                                          const SomArray          *pixels);

/* Runs @func on [start, start + n) for consecutive batches of @n items,
 * on as many worker threads as OpenBLAS has (each worker then runs BLAS
 * single-threaded; restored afterwards).  Stops at the first error. */
typedef gboolean (*SomBatchFunc) (gsize     start,
                                  gsize     n,
                                  gpointer  data,
                                  GError  **error);
gboolean     som_batch_parallel          (gsize                    n,
                                          gsize                    batch,
                                          SomBatchFunc             func,
                                          gpointer                 data,
                                          GCancellable            *cancellable,
                                          GError                 **error);

/* Predictions (argmax of output 0, the first maximum) of N pixel images. */
gboolean     som_attack_predict          (SomModel                *model,
                                          const SomPixelTransform *tf,
                                          const SomArray          *pixels,
                                          guint                    batch_size,
                                          gint32                  *predictions,
                                          GCancellable            *cancellable,
                                          GError                 **error);

/* The gradient of the summed cross-entropy with respect to the pixels. */
gboolean     som_attack_pixel_gradient   (SomModel                *model,
                                          const SomPixelTransform *tf,
                                          const SomArray          *pixels,
                                          const gint32            *labels,
                                          SomArray               **grad,
                                          SomArray               **logits,
                                          GCancellable            *cancellable,
                                          GError                 **error);

/* Attacks N×C×H×W pixel images in [0,1].
 * @labels: the attack's labels (ground truth, or the model's predictions for
 *   SOM_LABELS_MODEL: the caller picks; ignored when targeted).
 * @adversarial: (out): the adversarial images, N×C×H×W in [0,1].
 * @adversarial_predictions: (optional): N predictions on them.
 * Deterministic for a seed, whatever the batch size. */
gboolean     som_attack_run              (SomModel                *model,
                                          const SomAttackParams   *params,
                                          const SomPixelTransform *tf,
                                          const SomArray          *pixels,
                                          const gint32            *labels,
                                          SomArray               **adversarial,
                                          gint32                  *adversarial_predictions,
                                          GCancellable            *cancellable,
                                          SomProgressFunc          progress,
                                          gpointer                 progress_data,
                                          GError                 **error);

typedef struct
{
  gsize  count;
  double clean_accuracy;        /* NaN without ground truth */
  double adversarial_accuracy;  /* NaN without ground truth */
  double attack_success_rate;   /* NaN when no input was right to begin with */
  double mean_linf;
  double mean_l2;
} SomAttackStats;

/* @truth may be NULL (then the reference labels are @clean predictions).
 * attack_success_rate: of the inputs classified correctly when clean, the
 * fraction the attack makes wrong (targeted, @target ≥ 0: that end in the
 * target).  Norms are per input, in pixel units, averaged over all inputs. */
void         som_attack_stats            (const gint32   *truth,
                                          const gint32   *clean,
                                          const gint32   *adversarial,
                                          const SomArray *pixels,
                                          const SomArray *adversarial_pixels,
                                          gint            target,
                                          SomAttackStats *stats);

G_END_DECLS
