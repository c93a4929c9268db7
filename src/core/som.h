/* som.h: the public API of libsomscope (no GTK)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-types.h"
#include "som-io.h"
#include "som-array.h"

/* -- onnx (model, executor, operators) */
#include "som-model.h"
#include "som-layer-tree.h"

/* -- datasets and preprocessing */
#include "som-dataset.h"
#include "som-preprocess.h"

/* -- som (grid, trainer, map files) */
#include "som-grid.h"
#include "som-train-params.h"
#include "som-chunk-source.h"
#include "som-map.h"
#include "som-map-file.h"
#include "som-trainer.h"
#include "som-features.h"

/* -- figures (renderers, colour maps, export) */
#include "som-colormap.h"
#include "som-render.h"
#include "som-figure.h"

/* -- attacks and analysis */
#include "som-grad.h"
#include "som-attack.h"
#include "som-metrics.h"
#include "som-analysis.h"

/* -- sessions */
#include "som-session.h"
#include "som-activations.h"
