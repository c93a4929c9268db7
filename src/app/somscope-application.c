/* somscope-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "somscope-application.h"
#include "somscope-window.h"

struct _SomscopeApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (SomscopeApplication, somscope_application, ADW_TYPE_APPLICATION)

static void
somscope_application_activate (GApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    window = GTK_WINDOW (somscope_window_new (SOMSCOPE_APPLICATION (app)));
  gtk_window_present (window);
}

static void
somscope_application_open (GApplication  *app,
                           GFile        **files,
                           int            n_files,
                           const char    *hint)
{
  somscope_application_activate (app);
}

static void
quit_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (user_data));
  AdwAboutWindow *about;

  about = ADW_ABOUT_WINDOW (adw_about_window_new ());
  adw_about_window_set_application_name (about, _("Somscope"));
  adw_about_window_set_application_icon (about, APP_ID);
  adw_about_window_set_version (about, PACKAGE_VERSION);
  adw_about_window_set_comments (about, _("Look inside trained neural networks with self-organizing maps"));
  adw_about_window_set_license_type (about, GTK_LICENSE_GPL_3_0);
  gtk_window_set_transient_for (GTK_WINDOW (about), window);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated },
  { "about", about_activated },
};

static void
somscope_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };

  G_APPLICATION_CLASS (somscope_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
}

static void
somscope_application_class_init (SomscopeApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->activate = somscope_application_activate;
  app_class->open = somscope_application_open;
  app_class->startup = somscope_application_startup;
}

static void
somscope_application_init (SomscopeApplication *self)
{
}

SomscopeApplication *
somscope_application_new (void)
{
  SomscopeApplication *app;

  app = g_object_new (SOMSCOPE_TYPE_APPLICATION,
                      "application-id", APP_ID,
                      "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE,
                      NULL);
  g_application_set_resource_base_path (G_APPLICATION (app), RESOURCE_BASE_PATH);
  return app;
}
