/* somscope-preprocess-dialog.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "somscope-preprocess-dialog.h"

struct _SomscopePreprocessDialog
{
  AdwMessageDialog parent_instance;

  /* Template widgets */
  GtkSpinButton *pad_spin;
  GtkEntry      *resize_entry;
  GtkEntry      *mean_entry;
  GtkEntry      *std_entry;
};

G_DEFINE_FINAL_TYPE (SomscopePreprocessDialog, somscope_preprocess_dialog, ADW_TYPE_MESSAGE_DIALOG)

static void
somscope_preprocess_dialog_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), SOMSCOPE_TYPE_PREPROCESS_DIALOG);
  G_OBJECT_CLASS (somscope_preprocess_dialog_parent_class)->dispose (object);
}

static void
somscope_preprocess_dialog_class_init (SomscopePreprocessDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = somscope_preprocess_dialog_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE_PATH "/somscope-preprocess-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, SomscopePreprocessDialog, pad_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreprocessDialog, resize_entry);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreprocessDialog, mean_entry);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreprocessDialog, std_entry);
}

static void
somscope_preprocess_dialog_init (SomscopePreprocessDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

static char *
format_values (const float *values,
               guint        n)
{
  GString *str = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (str, i ? ",%g" : "%g", values[i]);
  return g_string_free (str, FALSE);
}

GtkWidget *
somscope_preprocess_dialog_new (GtkWindow                  *parent,
                                const SomPreprocessOptions *suggestion,
                                const char                 *message)
{
  SomscopePreprocessDialog *self;
  g_autofree char *resize = NULL;
  g_autofree char *mean = format_values (suggestion->mean, suggestion->n_mean);
  g_autofree char *std = format_values (suggestion->std, suggestion->n_std);

  g_return_val_if_fail (!parent || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (suggestion != NULL, NULL);

  self = g_object_new (SOMSCOPE_TYPE_PREPROCESS_DIALOG,
                       "transient-for", parent,
                       "body", message,
                       NULL);
  gtk_spin_button_set_value (self->pad_spin, suggestion->pad);
  if (suggestion->resize_height > 0)
    resize = g_strdup_printf ("%ux%u", suggestion->resize_height, suggestion->resize_width);
  gtk_editable_set_text (GTK_EDITABLE (self->resize_entry), resize ? resize : "");
  gtk_editable_set_text (GTK_EDITABLE (self->mean_entry), mean);
  gtk_editable_set_text (GTK_EDITABLE (self->std_entry), std);
  return GTK_WIDGET (self);
}

gboolean
somscope_preprocess_dialog_get_options (SomscopePreprocessDialog  *self,
                                        SomPreprocessOptions      *options,
                                        GError                   **error)
{
  const char *resize, *mean, *std;

  g_return_val_if_fail (SOMSCOPE_IS_PREPROCESS_DIALOG (self), FALSE);

  resize = gtk_editable_get_text (GTK_EDITABLE (self->resize_entry));
  mean = gtk_editable_get_text (GTK_EDITABLE (self->mean_entry));
  std = gtk_editable_get_text (GTK_EDITABLE (self->std_entry));
  memset (options, 0, sizeof *options);
  options->pad = gtk_spin_button_get_value_as_int (self->pad_spin);
  /* Translators: the field names in errors about the preprocessing dialog */
  return (!*resize || som_preprocess_parse_resize (resize, &options->resize_height, &options->resize_width, error)) &&
         (!*mean || som_preprocess_parse_values (mean, _("Mean"), options->mean, &options->n_mean, error)) &&
         (!*std || som_preprocess_parse_values (std, _("Standard deviation"), options->std, &options->n_std, error));
}
