/* somscope-export-data-dialog.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "somscope-export-data-dialog.h"
#include "somscope-window-session.h"

struct _SomscopeExportDataDialog
{
  AdwWindow parent_instance;

  /* Template widgets */
  AdwComboRow    *format_row;
  GtkSwitch      *activations_switch;
  GtkSwitch      *codebooks_switch;
  GtkSwitch      *cod_switch;
  GtkSwitch      *bmus_switch;
  GtkSwitch      *metrics_switch;
  GtkWidget      *export_button;

  /* Owned */
  SomscopeWindow *parent;
};

G_DEFINE_FINAL_TYPE (SomscopeExportDataDialog, somscope_export_data_dialog, ADW_TYPE_WINDOW)

SomscopeExportDataFlags
somscope_export_data_dialog_get_what (SomscopeExportDataDialog *self)
{
  SomscopeExportDataFlags what = 0;

  g_return_val_if_fail (SOMSCOPE_IS_EXPORT_DATA_DIALOG (self), 0);

  if (gtk_switch_get_active (self->activations_switch))
    what |= SOMSCOPE_EXPORT_DATA_ACTIVATIONS;
  if (gtk_switch_get_active (self->codebooks_switch))
    what |= SOMSCOPE_EXPORT_DATA_CODEBOOKS;
  if (gtk_switch_get_active (self->cod_switch))
    what |= SOMSCOPE_EXPORT_DATA_COD;
  if (gtk_switch_get_active (self->bmus_switch))
    what |= SOMSCOPE_EXPORT_DATA_BMUS;
  if (gtk_switch_get_active (self->metrics_switch))
    what |= SOMSCOPE_EXPORT_DATA_METRICS;
  return what;
}

SomExportFormat
somscope_export_data_dialog_get_format (SomscopeExportDataDialog *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_EXPORT_DATA_DIALOG (self), SOM_EXPORT_NPY);
  return adw_combo_row_get_selected (self->format_row) == 1 ? SOM_EXPORT_CSV : SOM_EXPORT_NPY;
}

static void
switches_changed_cb (SomscopeExportDataDialog *self)
{
  gtk_widget_set_sensitive (self->export_button, somscope_export_data_dialog_get_what (self) != 0);
}

void
somscope_export_data_dialog_export_to (SomscopeExportDataDialog *self,
                                       GFile                    *dir)
{
  g_autofree char *path = NULL;

  g_return_if_fail (SOMSCOPE_IS_EXPORT_DATA_DIALOG (self));
  g_return_if_fail (G_IS_FILE (dir));

  path = g_file_get_path (dir);
  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (dir);
      g_autofree char *message = g_strdup_printf (_("%s: not a local folder"), uri);

      somscope_window_show_error (self->parent, message);
      return;
    }
  somscope_window_export_data (self->parent, somscope_export_data_dialog_get_what (self),
                               somscope_export_data_dialog_get_format (self), path);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
folder_response_cb (SomscopeExportDataDialog *self,
                    int                       response,
                    GtkFileChooserNative     *native)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) dir = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));

      somscope_export_data_dialog_export_to (self, dir);
    }
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (native));
  g_object_unref (native);
}

static void
choose_folder_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  SomscopeExportDataDialog *self = SOMSCOPE_EXPORT_DATA_DIALOG (widget);
  GtkFileChooserNative *native;

  native = gtk_file_chooser_native_new (_("Export Data to a Folder"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Export"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_signal_connect_swapped (native, "response", G_CALLBACK (folder_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
somscope_export_data_dialog_dispose (GObject *object)
{
  SomscopeExportDataDialog *self = SOMSCOPE_EXPORT_DATA_DIALOG (object);

  g_clear_object (&self->parent);
  gtk_widget_dispose_template (GTK_WIDGET (object), SOMSCOPE_TYPE_EXPORT_DATA_DIALOG);
  G_OBJECT_CLASS (somscope_export_data_dialog_parent_class)->dispose (object);
}

static void
somscope_export_data_dialog_class_init (SomscopeExportDataDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = somscope_export_data_dialog_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE_PATH "/somscope-export-data-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDataDialog, format_row);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDataDialog, activations_switch);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDataDialog, codebooks_switch);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDataDialog, cod_switch);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDataDialog, bmus_switch);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDataDialog, metrics_switch);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDataDialog, export_button);
  gtk_widget_class_bind_template_callback (widget_class, switches_changed_cb);
  gtk_widget_class_install_action (widget_class, "export-data.choose-folder", NULL, choose_folder_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
somscope_export_data_dialog_init (SomscopeExportDataDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
somscope_export_data_dialog_new (SomscopeWindow *parent)
{
  SomscopeExportDataDialog *self;

  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (parent), NULL);

  self = g_object_new (SOMSCOPE_TYPE_EXPORT_DATA_DIALOG, "transient-for", parent, NULL);
  self->parent = g_object_ref (parent);
  return GTK_WIDGET (self);
}
