/* somscope-window-session.c: the window's session commands: data export, a moved model, the attack
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "somscope-export-data-dialog.h"
#include "somscope-window-private.h"
#include "somscope-window-session.h"

#define N_JOBS_KEY "somscope-session-jobs"

static void
jobs_add (SomscopeWindow *self,
          int             delta)
{
  guint n = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (self), N_JOBS_KEY));

  g_object_set_data (G_OBJECT (self), N_JOBS_KEY, GUINT_TO_POINTER (n + delta));
}

guint
somscope_window_get_n_session_jobs (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), 0);
  return GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (self), N_JOBS_KEY));
}

gboolean
somscope_window_is_idle (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), FALSE);
  return self->pending == NULL && somscope_window_get_n_session_jobs (self) == 0 &&
         (self->document == NULL || !somscope_document_get_busy (self->document));
}

/* -- data export */

typedef struct
{
  SomscopeWindow *window;
  char           *dir;
} ExportReport;

static void
export_data_done_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  ExportReport *r = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) paths = somscope_export_data_finish (result, &error);

  if (paths == NULL)
    somscope_window_show_error (r->window, error->message);
  else
    {
      /* Translators: files exported, and the folder */
      g_autofree char *message = g_strdup_printf (ngettext ("%u file exported to %s", "%u files exported to %s",
                                                            g_strv_length (paths)),
                                                  g_strv_length (paths), r->dir);

      somscope_window_show_message (r->window, message);
    }
  jobs_add (r->window, -1);
  g_object_unref (r->window);
  g_free (r->dir);
  g_free (r);
}

void
somscope_window_export_data (SomscopeWindow          *self,
                             SomscopeExportDataFlags  what,
                             SomExportFormat          format,
                             const char              *dir)
{
  ExportReport *r;

  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));
  g_return_if_fail (dir != NULL);

  if (self->document == NULL)
    {
      somscope_window_show_error (self, _("There is nothing to export yet"));
      return;
    }
  r = g_new0 (ExportReport, 1);
  r->window = g_object_ref (self);
  r->dir = g_strdup (dir);
  jobs_add (self, 1);
  somscope_export_data_async (self->document, what, format, dir, NULL, export_data_done_cb, r);
}

static void
export_data_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);

  if (self->document == NULL ||
      somscope_document_get_state (self->document) != SOMSCOPE_DOCUMENT_STATE_READY)
    {
      somscope_window_show_error (self, _("There is nothing to export yet"));
      return;
    }
  gtk_window_present (GTK_WINDOW (somscope_export_data_dialog_new (self)));
}

/* -- saving */

static void
save_to_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SomscopeWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  jobs_add (self, -1);
  if (!somscope_document_save_finish (SOMSCOPE_DOCUMENT (object), result, &error))
    somscope_window_show_error (self, error->message);
  else
    somscope_window_show_message (self, _("Session saved"));
}

void
somscope_window_save_to (SomscopeWindow *self,
                         const char     *path)
{
  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  if (self->document == NULL)
    return;
  jobs_add (self, 1);
  somscope_document_save_async (self->document, path, NULL, save_to_done_cb, g_object_ref (self));
}

/* -- a moved or changed model */

static void
locate_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(SomscopeWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  jobs_add (self, -1);
  if (!somscope_document_locate_model_finish (SOMSCOPE_DOCUMENT (object), result, &error))
    somscope_window_show_error (self, error->message);
  else
    {
      somscope_window_show_message (self, _("Model found: the session will refer to it when saved"));
      somscope_window_update_actions (self);
    }
}

void
somscope_window_locate_model (SomscopeWindow *self,
                              GFile          *file)
{
  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->document == NULL)
    return;
  jobs_add (self, 1);
  somscope_document_locate_model_async (self->document, file, NULL, locate_done_cb, g_object_ref (self));
}

static void
locate_response_cb (SomscopeWindow       *self,
                    int                   response,
                    GtkFileChooserNative *native)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));

      somscope_window_locate_model (self, file);
    }
  gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (native));
  g_object_unref (native);
}

static void
locate_model_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  const char *old_path = self->document ? somscope_document_get_model_ref_path (self->document) : NULL;
  g_autofree char *title = NULL;
  GtkFileChooserNative *native;

  if (old_path == NULL)
    return;
  {
    g_autofree char *name = g_path_get_basename (old_path);

    /* Translators: file chooser title; the model's file name */
    title = g_strdup_printf (_("Where Is “%s”?"), name);
  }
  native = gtk_file_chooser_native_new (title, GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                        _("_Use This Model"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("ONNX models"));
  gtk_file_filter_add_pattern (filter, "*.onnx");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_signal_connect_swapped (native, "response", G_CALLBACK (locate_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

void
somscope_window_check_references (SomscopeWindow *self)
{
  const char *path;
  g_autofree char *message = NULL;
  AdwToast *toast;

  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));

  if (self->document == NULL)
    return;
  path = somscope_document_get_model_ref_path (self->document);
  switch (somscope_document_get_model_state (self->document))
    {
    case SOM_SESSION_REF_MISSING:
      /* Translators: the model file's path */
      message = g_strdup_printf (_("%s: the session’s model moved or was deleted; the maps are all "
                                   "here, but attacks and new layers need the model"), path);
      break;
    case SOM_SESSION_REF_CHANGED:
      message = g_strdup_printf (_("%s: the model changed since the session was saved (its SHA-256 "
                                   "differs), so it is not used; the maps are all here"), path);
      break;
    default:
      return;
    }
  g_free (self->last_error);
  self->last_error = g_strdup (message);
  toast = adw_toast_new (message);
  adw_toast_set_button_label (toast, _("_Locate…"));
  adw_toast_set_action_name (toast, "win.locate-model");
  adw_toast_set_timeout (toast, 0);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
  somscope_window_update_session_actions (self);
}

/* -- the attack */

static void
attack_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);

  if (self->document == NULL)
    return;
  if (somscope_document_get_model_file (self->document) == NULL)
    {
      somscope_window_show_error (self, _("The attack needs the model, and this session has none"));
      return;
    }
  somscope_document_attack (self->document);
}

void
somscope_window_update_session_actions (SomscopeWindow *self)
{
  gboolean has_document = self->document != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export-data", has_document);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.attack", has_document);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.locate-model",
                                 has_document && somscope_document_get_model_ref_path (self->document) != NULL);
}

void
somscope_window_install_session_actions (SomscopeWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_install_action (widget_class, "win.export-data", NULL, export_data_action);
  gtk_widget_class_install_action (widget_class, "win.locate-model", NULL, locate_model_action);
  gtk_widget_class_install_action (widget_class, "win.attack", NULL, attack_action);
}
