/* somscope-document.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "somscope-document.h"
#include "somscope-enums.h"

struct _SomscopeDocument
{
  GObject parent_instance;

  /* Owned */
  GSettings             *settings;
  GListStore            *layers;
  GListStore            *inputs;
  GFile                 *model_file;
  GFile                 *dataset_file;
  char                  *title;
  char                  *summary;
  char                  *message;
  GStrv                  class_names;
  SomscopeLayer         *selected_layer;
  GCancellable          *cancellable;     /* the current jobs; replaced on restart */

  SomscopeDocumentState  state;
  double                 progress;
  int                    selected_input;
  int                    selected_unit;
  guint                  n_jobs;
};

enum {
  PROP_0,
  PROP_STATE,
  PROP_TITLE,
  PROP_SUMMARY,
  PROP_LAYERS,
  PROP_INPUTS,
  PROP_BUSY,
  PROP_PROGRESS,
  PROP_MESSAGE,
  PROP_SELECTED_LAYER,
  PROP_SELECTED_INPUT,
  PROP_SELECTED_UNIT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (SomscopeDocument, somscope_document, G_TYPE_OBJECT)

static void
somscope_document_dispose (GObject *object)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->selected_layer);
  G_OBJECT_CLASS (somscope_document_parent_class)->dispose (object);
}

static void
somscope_document_finalize (GObject *object)
{
  SomscopeDocument *self = SOMSCOPE_DOCUMENT (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->layers);
  g_clear_object (&self->inputs);
  g_clear_object (&self->model_file);
  g_clear_object (&self->dataset_file);
  g_free (self->title);
  g_free (self->summary);
  g_free (self->message);
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
    case PROP_SUMMARY:
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
  properties[PROP_LAYERS] = g_param_spec_object ("layers", NULL, NULL, G_TYPE_LIST_MODEL, ro);
  properties[PROP_INPUTS] = g_param_spec_object ("inputs", NULL, NULL, G_TYPE_LIST_MODEL, ro);
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, ro);
  properties[PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, ro);
  properties[PROP_MESSAGE] = g_param_spec_string ("message", NULL, NULL, NULL, ro);
  properties[PROP_SELECTED_LAYER] =
    g_param_spec_object ("selected-layer", NULL, NULL, SOMSCOPE_TYPE_LAYER, rw);
  properties[PROP_SELECTED_INPUT] =
    g_param_spec_int ("selected-input", NULL, NULL, -1, G_MAXINT, -1, rw);
  properties[PROP_SELECTED_UNIT] =
    g_param_spec_int ("selected-unit", NULL, NULL, -1, G_MAXINT, -1, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
somscope_document_init (SomscopeDocument *self)
{
  self->layers = g_list_store_new (SOMSCOPE_TYPE_LAYER);
  self->inputs = g_list_store_new (SOMSCOPE_TYPE_INPUT);
  self->selected_input = -1;
  self->selected_unit = -1;
  self->class_names = g_new0 (char *, 1);
}

SomscopeDocument *
somscope_document_new (GSettings *settings)
{
  SomscopeDocument *self = g_object_new (SOMSCOPE_TYPE_DOCUMENT, NULL);

  self->settings = g_object_ref (settings);
  return self;
}

void
somscope_document_load_async (SomscopeDocument    *self,
                              GFile               *model,
                              GFile               *dataset,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *name = NULL;

  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));
  g_return_if_fail (G_IS_FILE (model));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, somscope_document_load_async);
  name = g_file_get_parse_name (model);
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("%s: models cannot be read yet"), name);
}

gboolean
somscope_document_load_finish (SomscopeDocument  *self,
                               GAsyncResult      *result,
                               GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
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
  return self->n_jobs > 0;
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

void
somscope_document_train (SomscopeDocument *self)
{
  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));
}

void
somscope_document_cancel (SomscopeDocument *self)
{
  g_return_if_fail (SOMSCOPE_IS_DOCUMENT (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
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

      somscope_layer_set_input_bmu (layer,
                                    input >= 0 ? somscope_document_get_bmu (self, layer, input) : -1);
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

  return -1;
}
