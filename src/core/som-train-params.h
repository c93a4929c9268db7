/* som-train-params.h: how a self-organizing map is trained
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "som-grid.h"

G_BEGIN_DECLS

typedef enum { SOM_MODE_BATCH, SOM_MODE_ONLINE } SomMode;
typedef enum { SOM_INIT_PCA, SOM_INIT_RANDOM } SomInit;
typedef enum
{
  SOM_NEIGHBORHOOD_GAUSSIAN,
  SOM_NEIGHBORHOOD_BUBBLE,
  SOM_NEIGHBORHOOD_CUT_GAUSSIAN,
  SOM_NEIGHBORHOOD_EPANECHNIKOV,
} SomNeighborhood;
typedef enum { SOM_COOLING_LINEAR, SOM_COOLING_EXPONENTIAL, SOM_COOLING_INVERSE } SomCooling;
typedef enum { SOM_DISTANCE_EUCLIDEAN, SOM_DISTANCE_COSINE } SomDistance;
typedef enum { SOM_NONFINITE_ERROR, SOM_NONFINITE_SKIP } SomNonfinite;

/* Called by the trainer once per epoch, from the training thread (the
 * calling thread of som_trainer_train, the trainer's own thread for
 * som_trainer_train_async), with @codebook (units × dim floats) as that
 * epoch's update left it and @qe, its quantization error over all rows (the
 * value of "qe_per_epoch"[epoch − 1]).  Measuring @qe takes the BMU pass that
 * starts the next epoch (or the final pass), so the call comes at that point,
 * not right after the update.  @codebook is only valid during the call: copy
 * what you need (for example to hand it to the main loop) and return quickly;
 * training waits for the call. */
typedef void (*SomEpochFunc) (guint        epoch,
                              guint        epochs,
                              const float *codebook,
                              double       qe,
                              gpointer     user_data);

/* Defaults (contracts.md section 3): hex, planar, batch, PCA init, gaussian,
 * 10 epochs, radius0 = max(R, C)/2, radius1 = 1, linear cooling, alpha0 = 0.5
 * (online only), Euclidean, nonfinite rows are an error, seed 0. */
typedef struct
{
  guint           rows;
  guint           cols;
  SomTopology     topology;
  gboolean        toroidal;
  guint           epochs;
  SomMode         mode;
  SomInit         init;
  SomNeighborhood neighborhood;
  double          radius0;      /* ≤ 0: max(R, C)/2 */
  double          radius1;
  SomCooling      cooling;
  double          alpha0;       /* online learning rate at the start; it cools to alpha0/100 */
  SomDistance     distance;
  SomNonfinite    nonfinite;
  guint64         seed;
  gsize           chunk_rows;   /* rows per BLAS call; 0 = automatic */
  SomEpochFunc    epoch_func;   /* optional, see SomEpochFunc; not kept by the map */
  gpointer        epoch_data;
} SomTrainParams;

void         som_train_params_init          (SomTrainParams *params);
/* radius0 with the default applied */
double       som_train_params_get_radius0   (const SomTrainParams *params);

/* Weight of grid distance² @d2 at radius @sigma. */
double       som_neighborhood_weight        (SomNeighborhood neighborhood,
                                             double          d2,
                                             double          sigma);
/* A schedule from @start (t = 0) to @end (t = 1). */
double       som_cooling_value              (SomCooling cooling,
                                             double     start,
                                             double     end,
                                             double     t);

const char  *som_mode_to_string             (SomMode mode);
gboolean     som_mode_from_string           (const char *text, SomMode *mode);
const char  *som_init_to_string             (SomInit init);
gboolean     som_init_from_string           (const char *text, SomInit *init);
const char  *som_neighborhood_to_string     (SomNeighborhood neighborhood);
gboolean     som_neighborhood_from_string   (const char *text, SomNeighborhood *neighborhood);
const char  *som_cooling_to_string          (SomCooling cooling);
gboolean     som_cooling_from_string        (const char *text, SomCooling *cooling);
const char  *som_distance_to_string         (SomDistance distance);
gboolean     som_distance_from_string       (const char *text, SomDistance *distance);
const char  *som_nonfinite_to_string        (SomNonfinite nonfinite);
gboolean     som_nonfinite_from_string      (const char *text, SomNonfinite *nonfinite);

G_END_DECLS
