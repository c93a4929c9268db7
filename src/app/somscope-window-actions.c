/* somscope-window-actions.c: the window's commands
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "somscope-export-dialog.h"
#include "somscope-window-private.h"

static GtkFileFilter *
new_filter (const char         *name,
            const char * const *patterns)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, name);
  for (guint i = 0; patterns[i] != NULL; i++)
    gtk_file_filter_add_pattern (filter, patterns[i]);
  return filter;
}

static void
open_model_response_cb (SomscopeWindow       *self,
                        int                   response,
                        GtkFileChooserNative *native)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) model = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      GFile *dataset = NULL;

      /* A new model keeps the images the user was looking at. */
      if (self->document != NULL)
        dataset = somscope_document_get_dataset_file (self->document);
      somscope_window_open (self, model, dataset);
    }
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (native));
  g_object_unref (native);
}

static void
open_model_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  static const char * const onnx[] = { "*.onnx", "*.somscope", NULL };
  static const char * const all[] = { "*", NULL };
  GtkFileChooserNative *native;

  native = gtk_file_chooser_native_new (_("Open a Model"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), new_filter (_("ONNX models and Somscope sessions"), onnx));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), new_filter (_("All files"), all));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_signal_connect_swapped (native, "response", G_CALLBACK (open_model_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
open_dataset_response_cb (SomscopeWindow       *self,
                          int                   response,
                          GtkFileChooserNative *native)
{
  if (response == GTK_RESPONSE_ACCEPT && self->document != NULL &&
      somscope_document_get_model_file (self->document) != NULL)
    {
      g_autoptr(GFile) dataset = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));

      somscope_window_open (self, somscope_document_get_model_file (self->document), dataset);
    }
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (native));
  g_object_unref (native);
}

static void
open_dataset_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  static const char * const images[] = {
    "*idx3-ubyte", "*idx3-ubyte.gz", "*.bin", "*.npz", NULL
  };
  static const char * const all[] = { "*", NULL };
  GtkFileChooserNative *native;

  native = gtk_file_chooser_native_new (_("Open a Dataset"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native),
                               new_filter (_("Image datasets (IDX, CIFAR-10, adversarial .npz)"), images));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), new_filter (_("All files"), all));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_signal_connect_swapped (native, "response", G_CALLBACK (open_dataset_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

/* An image folder (one subfolder per class) is a folder, which the dataset
 * chooser's Open would enter instead of choosing */
static void
open_image_folder_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  GtkFileChooserNative *native;

  native = gtk_file_chooser_native_new (_("Open a Folder of Images, One Subfolder per Class"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_signal_connect_swapped (native, "response", G_CALLBACK (open_dataset_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
open_demo_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  somscope_window_open_demo (SOMSCOPE_WINDOW (widget));
}

static void
restore_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  somscope_window_restore (SOMSCOPE_WINDOW (widget));
}

static void
train_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);

  if (self->document != NULL)
    somscope_document_train (self->document);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);

  somscope_window_cancel_jobs (self);
}

static void
zoom_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  SomscopeMapView *view = somscope_window_get_map_view (self);
  const char *map_action = NULL;

  if (g_str_equal (action_name, "win.zoom-in"))
    map_action = "map.zoom-in";
  else if (g_str_equal (action_name, "win.zoom-out"))
    map_action = "map.zoom-out";
  else
    map_action = "map.zoom-reset";
  gtk_widget_activate_action (GTK_WIDGET (view), map_action, NULL);
}

static void
toggle_sidebar_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);

  gtk_widget_set_visible (self->sidebar, !gtk_widget_get_visible (self->sidebar));
}

/* The visible map, as drawn on screen, to the clipboard. */
static void
copy_view_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  GtkWidget *view = GTK_WIDGET (somscope_window_get_map_view (self));
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (view);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  int width = gtk_widget_get_width (view);
  int height = gtk_widget_get_height (view);
  GskRenderer *renderer;

  if (width <= 0 || height <= 0)
    return;
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    return;
  renderer = gtk_native_get_renderer (gtk_widget_get_native (view));
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_clipboard_set_texture (gtk_widget_get_clipboard (view), texture);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (_("View copied as an image")));
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  SomscopeMapView *view = somscope_window_get_map_view (self);
  SomscopeLayer *layer = self->document ? somscope_document_get_selected_layer (self->document) : NULL;
  GtkWidget *dialog;
  guint feature;
  int klass, input = self->document ? somscope_document_get_selected_input (self->document) : -1;
  g_autofree char *title = NULL;

  if (layer == NULL || somscope_layer_get_map (layer) == NULL)
    {
      somscope_window_show_error (self, _("There is no trained map to export yet"));
      return;
    }
  g_object_get (view, "feature", &feature, "class", &klass, NULL);
  if (input >= 0)
    {
      g_autoptr(SomscopeInput) item = g_list_model_get_item (somscope_document_get_inputs (self->document), input);
      g_autofree char *name = NULL;
      g_autofree char *caption = NULL;

      if (item != NULL)
        {
          g_object_get (item, "title", &name, "caption", &caption, NULL);
          /* Translators: the exported trajectory's title: "Image 17 · Coat → Shirt" */
          title = g_strdup_printf (_("%s · %s"), name, caption);
        }
    }
  dialog = somscope_export_dialog_new (self, layer, G_LIST_MODEL (self->mapped_layers),
                                       somscope_map_view_get_view (view), feature, klass,
                                       self->trajectory_view, title);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
save_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(SomscopeWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!somscope_document_save_finish (SOMSCOPE_DOCUMENT (object), result, &error))
    somscope_window_show_error (self, error->message);
  else
    somscope_window_show_message (self, _("Session saved"));
  if (self->close_after_save && error == NULL)
    gtk_window_destroy (GTK_WINDOW (self));
  self->close_after_save = FALSE;
}

static void
save_response_cb (SomscopeWindow       *self,
                  int                   response,
                  GtkFileChooserNative *native)
{
  if (response == GTK_RESPONSE_ACCEPT && self->document != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL && !g_str_has_suffix (path, ".somscope"))
        {
          char *with = g_strconcat (path, ".somscope", NULL);

          g_free (path);
          path = with;
        }
      if (path != NULL)
        somscope_document_save_async (self->document, path, NULL, save_done_cb, g_object_ref (self));
    }
  else
    self->close_after_save = FALSE;
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (native));
  g_object_unref (native);
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  static const char * const sessions[] = { "*.somscope", NULL };
  GtkFileChooserNative *native;
  g_autofree char *name = NULL;

  native = gtk_file_chooser_native_new (_("Save the Session"), GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), new_filter (_("Somscope sessions"), sessions));
  name = g_strdup_printf ("%s.somscope", _("analysis"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_signal_connect_swapped (native, "response", G_CALLBACK (save_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
show_view_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);

  adw_view_stack_set_visible_child_name (self->view_stack, g_variant_get_string (param, NULL));
}

void
somscope_window_update_actions (SomscopeWindow *self)
{
  gboolean has_document = self->document != NULL;
  gboolean busy = has_document && somscope_document_get_busy (self->document);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-dataset", has_document);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-image-folder", has_document);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.train", has_document);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel", busy || self->pending != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.copy-view", has_document);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export", has_document);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save", has_document);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-in", has_document);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-out", has_document);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-reset", has_document);
  somscope_window_update_session_actions (self);
}

void
somscope_window_install_actions (SomscopeWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_install_action (widget_class, "win.open-model", NULL, open_model_action);
  gtk_widget_class_install_action (widget_class, "win.open-dataset", NULL, open_dataset_action);
  gtk_widget_class_install_action (widget_class, "win.open-image-folder", NULL, open_image_folder_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, open_demo_action);
  gtk_widget_class_install_action (widget_class, "win.restore", NULL, restore_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "win.copy-view", NULL, copy_view_action);
  gtk_widget_class_install_action (widget_class, "win.train", NULL, train_action);
  gtk_widget_class_install_action (widget_class, "win.cancel", NULL, cancel_action);
  /* Escape stops the jobs, as in a browser.  A binding of the window, not
   * an application accelerator: those come before the focused widget, and
   * Escape in the layer search would have stopped a training. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.cancel", NULL);
  gtk_widget_class_install_action (widget_class, "win.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-reset", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-sidebar", NULL, toggle_sidebar_action);
  gtk_widget_class_install_action (widget_class, "win.show-view", "s", show_view_action);
  somscope_window_install_session_actions (klass);
}
