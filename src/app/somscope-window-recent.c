/* somscope-window-recent.c: the recently opened files, in the Open menu and on the start page
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "somscope-window-private.h"

#define MAX_RECENT 8

static GSettings *
get_settings (void)
{
  return somscope_application_get_settings (SOMSCOPE_APPLICATION (g_application_get_default ()));
}

static char *
uri_basename (const char *uri)
{
  g_autoptr(GFile) file = g_file_new_for_uri (uri);

  return g_file_get_basename (file);
}

/* GMenu labels take "_" as a mnemonic mark: file names keep theirs. */
static char *
escape_underlines (const char *text)
{
  g_auto(GStrv) parts = g_strsplit (text, "_", -1);

  return g_strjoinv ("__", parts);
}

static char *
entry_label (const char *model,
             const char *dataset)
{
  g_autofree char *m = uri_basename (model);
  g_autofree char *d = *dataset ? uri_basename (dataset) : NULL;

  if (d == NULL)
    return g_steal_pointer (&m);
  /* Translators: a recent file: "MODEL on DATASET" */
  return g_strdup_printf (_("%s on %s"), m, d);
}

static gboolean
entry_exists (const char *uri)
{
  g_autoptr(GFile) file = g_file_new_for_uri (uri);

  return g_file_query_exists (file, NULL);
}

static void
rebuild (SomscopeWindow *self)
{
  g_autoptr(GVariant) entries = g_settings_get_value (get_settings (), "recent-files");
  GVariantIter iter;
  const char *model, *dataset;
  GtkWidget *row;
  guint shown = 0;

  g_menu_remove_all (self->recent_section);
  while ((row = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))) != NULL)
    gtk_list_box_remove (self->recent_list, row);

  g_variant_iter_init (&iter, entries);
  while (g_variant_iter_next (&iter, "(&s&s)", &model, &dataset))
    {
      g_autofree char *label = NULL;
      g_autofree char *menu_label = NULL;
      g_autofree char *title = NULL;
      g_autofree char *path = NULL;
      g_autoptr(GFile) file = NULL;
      g_autoptr(GMenuItem) item = NULL;
      GVariant *target;

      if (!entry_exists (model))
        continue;
      target = g_variant_new ("(ss)", model, dataset);
      g_variant_ref_sink (target);
      label = entry_label (model, dataset);
      menu_label = escape_underlines (label);
      item = g_menu_item_new (menu_label, NULL);
      g_menu_item_set_action_and_target_value (item, "win.open-recent", target);
      g_menu_append_item (self->recent_section, item);

      file = g_file_new_for_uri (model);
      path = g_file_get_parse_name (file);
      title = uri_basename (model);
      row = adw_action_row_new ();
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      if (*dataset)
        {
          g_autofree char *d = uri_basename (dataset);

          adw_action_row_set_subtitle (ADW_ACTION_ROW (row), d);
        }
      gtk_widget_set_tooltip_text (row, path);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (row), "win.open-recent");
      gtk_actionable_set_action_target_value (GTK_ACTIONABLE (row), target);
      gtk_list_box_append (self->recent_list, row);
      g_variant_unref (target);
      shown++;
    }
  gtk_widget_set_visible (self->recent_clamp, shown > 0);
}

/* Prepends (model, dataset) to the list, without duplicates, at most
 * MAX_RECENT; the files also go to the desktop's recent files. */
void
somscope_window_remember (SomscopeWindow *self,
                          GFile          *model,
                          GFile          *dataset)
{
  g_autoptr(GVariant) old = g_settings_get_value (get_settings (), "recent-files");
  g_autofree char *model_uri = g_file_get_uri (model);
  g_autofree char *dataset_uri = dataset ? g_file_get_uri (dataset) : g_strdup ("");
  GtkRecentManager *manager = gtk_recent_manager_get_default ();
  GVariantBuilder builder;
  GVariantIter iter;
  const char *m, *d;
  guint n = 1;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  g_variant_builder_add (&builder, "(ss)", model_uri, dataset_uri);
  g_variant_iter_init (&iter, old);
  while (n < MAX_RECENT && g_variant_iter_next (&iter, "(&s&s)", &m, &d))
    {
      if (g_str_equal (m, model_uri) && g_str_equal (d, dataset_uri))
        continue;
      g_variant_builder_add (&builder, "(ss)", m, d);
      n++;
    }
  g_settings_set_value (get_settings (), "recent-files", g_variant_builder_end (&builder));

  gtk_recent_manager_add_item (manager, model_uri);
  if (*dataset_uri)
    gtk_recent_manager_add_item (manager, dataset_uri);
}

static void
open_recent_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  const char *model, *dataset;
  g_autoptr(GFile) model_file = NULL;
  g_autoptr(GFile) dataset_file = NULL;

  g_variant_get (param, "(&s&s)", &model, &dataset);
  model_file = g_file_new_for_uri (model);
  if (*dataset)
    dataset_file = g_file_new_for_uri (dataset);
  somscope_window_open (self, model_file, dataset_file);
}

GMenuModel *
somscope_window_get_recent_menu (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return G_MENU_MODEL (self->recent_section);
}

GtkListBox *
somscope_window_get_recent_list (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return self->recent_list;
}

void
somscope_window_recent_init (SomscopeWindow *self)
{
  g_signal_connect_object (get_settings (), "changed::recent-files", G_CALLBACK (rebuild), self,
                           G_CONNECT_SWAPPED);
  rebuild (self);
}

void
somscope_window_recent_class_init (SomscopeWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, recent_section);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, recent_list);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, recent_clamp);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "(ss)", open_recent_action);
}
