/* somscope-types.h: forward typedefs and enums shared by the app
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _SomscopeDocument SomscopeDocument;
typedef struct _SomscopeInput    SomscopeInput;
typedef struct _SomscopeLayer    SomscopeLayer;
typedef struct _SomscopeMapView  SomscopeMapView;
typedef struct _SomscopeWindow   SomscopeWindow;

/* Where a layer's map stands. */
typedef enum
{
  SOMSCOPE_LAYER_STATUS_IDLE,       /* not mapped */
  SOMSCOPE_LAYER_STATUS_WAITING,    /* mapped, waiting for activations or a trainer */
  SOMSCOPE_LAYER_STATUS_TRAINING,
  SOMSCOPE_LAYER_STATUS_DONE,
  SOMSCOPE_LAYER_STATUS_FAILED,
} SomscopeLayerStatus;

/* What a map view shows (the view switcher's pages). */
typedef enum
{
  SOMSCOPE_VIEW_UMATRIX,
  SOMSCOPE_VIEW_HITS,
  SOMSCOPE_VIEW_CLASSES,
  SOMSCOPE_VIEW_COMPONENT,
  SOMSCOPE_VIEW_RESPONSE,
} SomscopeView;

/* What the document is doing. */
typedef enum
{
  SOMSCOPE_DOCUMENT_STATE_EMPTY,
  SOMSCOPE_DOCUMENT_STATE_LOADING,
  SOMSCOPE_DOCUMENT_STATE_READY,
  SOMSCOPE_DOCUMENT_STATE_FAILED,
} SomscopeDocumentState;

G_END_DECLS
