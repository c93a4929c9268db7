/* somscope-export-dialog.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "somscope-export-dialog.h"
#include "somscope-export.h"
#include "somscope-window.h"

struct _SomscopeExportDialog
{
  AdwWindow parent_instance;

  /* Template widgets */
  AdwComboRow    *content_row;
  AdwComboRow    *format_row;
  GtkSpinButton  *width_spin;
  AdwActionRow   *dpi_row;
  GtkSpinButton  *dpi_spin;
  GtkSwitch      *dark_switch;

  /* Owned */
  SomscopeWindow *parent;
  SomscopeLayer  *layer;
  GListModel     *mapped_layers;
  SomscopeView    view;
  guint           feature;
  int             klass;
  SomscopeTrajectoryView *trajectory;  /* or NULL: no input selected */
  char           *trajectory_title;
};

/* The content row's choices */
enum {
  CONTENT_LAYER,
  CONTENT_ALL_LAYERS,
  CONTENT_TRAJECTORY,
};

G_DEFINE_FINAL_TYPE (SomscopeExportDialog, somscope_export_dialog, ADW_TYPE_WINDOW)

static const char *extensions[] = { "png", "svg", "pdf" };
static const char *view_names[] = { "umatrix", "hits", "classes", "component", "response" };

static void
format_changed_cb (SomscopeExportDialog *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->dpi_row), adw_combo_row_get_selected (self->format_row) == 0);
}

static void
export_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(SomscopeWindow) parent = user_data;
  g_autoptr(GError) error = NULL;

  if (!somscope_export_finish (result, &error))
    somscope_window_show_error (parent, error->message);
  else
    somscope_window_show_message (parent, _("Figure exported"));
}

static void
save_response_cb (SomscopeExportDialog *self,
                  int                   response,
                  GtkFileChooserNative *native)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      g_autofree char *path = g_file_get_path (file);
      g_autoptr(GListStore) one = NULL;
      SomscopeExportOptions options;
      GListModel *layers;

      somscope_export_options_init (&options);
      options.view = self->view;
      options.feature = self->feature;
      options.klass = self->klass;
      options.format = adw_combo_row_get_selected (self->format_row);
      options.width_cm = gtk_spin_button_get_value (self->width_spin);
      options.dpi = gtk_spin_button_get_value (self->dpi_spin);
      options.dark = gtk_switch_get_active (self->dark_switch);
      if (adw_combo_row_get_selected (self->content_row) == CONTENT_ALL_LAYERS)
        layers = self->mapped_layers;
      else
        {
          one = g_list_store_new (SOMSCOPE_TYPE_LAYER);
          g_list_store_append (one, self->layer);
          layers = G_LIST_MODEL (one);
        }
      if (path != NULL && adw_combo_row_get_selected (self->content_row) == CONTENT_TRAJECTORY)
        somscope_export_trajectory_async (self->trajectory, &options, self->trajectory_title, path, NULL,
                                          export_done_cb, g_object_ref (self->parent));
      else if (path != NULL)
        somscope_export_async (layers, &options, path, NULL, export_done_cb, g_object_ref (self->parent));
      gtk_window_destroy (GTK_WINDOW (self));
    }
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (native));
  g_object_unref (native);
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  SomscopeExportDialog *self = SOMSCOPE_EXPORT_DIALOG (widget);
  guint format = adw_combo_row_get_selected (self->format_row);
  guint content = adw_combo_row_get_selected (self->content_row);
  g_autofree char *name = NULL;
  GtkFileChooserNative *native;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *pattern = g_strdup_printf ("*.%s", extensions[format]);

  if (content == CONTENT_TRAJECTORY)
    {
      const char *full = self->trajectory_title ? self->trajectory_title : "input";
      const char *dot = strstr (full, " · ");
      g_autofree char *first = g_strndup (full, dot ? (gsize) (dot - full) : strlen (full));
      g_autofree char *title = g_ascii_strdown (first, -1);

      /* "Image 17 · Coat → Shirt": trajectory-image-17.png */
      g_strdelimit (title, " /\\:", '-');
      name = g_strdup_printf ("trajectory-%s.%s", title, extensions[format]);
    }
  else if (content == CONTENT_ALL_LAYERS)
    name = g_strdup_printf ("all-layers-%s.%s", view_names[self->view], extensions[format]);
  else
    {
      g_autofree char *layer = g_strdup (somscope_layer_get_short_name (self->layer));

      g_strdelimit (layer, "/\\\\:", '-');
      name = g_strdup_printf ("%s-%s.%s", layer, view_names[self->view], extensions[format]);
    }
  native = gtk_file_chooser_native_new (_("Export Figure"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_filter_add_pattern (filter, pattern);
  gtk_file_filter_set_name (filter, extensions[format]);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filter);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_signal_connect_swapped (native, "response", G_CALLBACK (save_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
somscope_export_dialog_dispose (GObject *object)
{
  SomscopeExportDialog *self = SOMSCOPE_EXPORT_DIALOG (object);

  g_clear_object (&self->parent);
  g_clear_object (&self->layer);
  g_clear_object (&self->trajectory);
  g_clear_pointer (&self->trajectory_title, g_free);
  g_clear_object (&self->mapped_layers);
  gtk_widget_dispose_template (GTK_WIDGET (object), SOMSCOPE_TYPE_EXPORT_DIALOG);
  G_OBJECT_CLASS (somscope_export_dialog_parent_class)->dispose (object);
}

static void
somscope_export_dialog_class_init (SomscopeExportDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = somscope_export_dialog_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE_PATH "/somscope-export-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDialog, content_row);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDialog, format_row);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDialog, width_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDialog, dpi_row);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDialog, dpi_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopeExportDialog, dark_switch);
  gtk_widget_class_install_action (widget_class, "export.save", NULL, save_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
somscope_export_dialog_init (SomscopeExportDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->format_row, "notify::selected", G_CALLBACK (format_changed_cb), self);
}

GtkWidget *
somscope_export_dialog_new (SomscopeWindow *parent,
                            SomscopeLayer  *layer,
                            GListModel     *mapped_layers,
                            SomscopeView    view,
                            guint           feature,
                            int             klass,
                            SomscopeTrajectoryView *trajectory,
                            const char     *trajectory_title)
{
  SomscopeExportDialog *self;

  g_return_val_if_fail (SOMSCOPE_IS_LAYER (layer), NULL);

  self = g_object_new (SOMSCOPE_TYPE_EXPORT_DIALOG, "transient-for", parent, NULL);
  self->parent = g_object_ref (parent);
  self->layer = g_object_ref (layer);
  self->mapped_layers = g_object_ref (mapped_layers);
  self->view = view;
  self->feature = feature;
  self->klass = klass;
  /* The trajectory is offered once an input is selected. */
  if (trajectory != NULL && somscope_trajectory_view_get_n_layers (trajectory) > 0 &&
      somscope_trajectory_view_get_clean_bmu (trajectory, 0) >= 0)
    {
      self->trajectory = g_object_ref (trajectory);
      self->trajectory_title = g_strdup (trajectory_title);
      gtk_string_list_append (GTK_STRING_LIST (adw_combo_row_get_model (self->content_row)),
                              _("The input's trajectory"));
    }
  return GTK_WIDGET (self);
}
