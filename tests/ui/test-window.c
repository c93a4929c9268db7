/* test-window.c: the main window comes up with its title
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "somscope-application.h"
#include "somscope-window.h"

static void
on_activate (GApplication *app, gpointer user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  g_assert_nonnull (window);
  g_assert_true (SOMSCOPE_IS_WINDOW (window));
  g_assert_cmpstr (gtk_window_get_title (window), ==, "Somscope");
  g_application_quit (app);
}

static void
test_window_opens (void)
{
  g_autoptr(SomscopeApplication) app = somscope_application_new ();

  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate), NULL);
  g_assert_cmpint (g_application_run (G_APPLICATION (app), 0, NULL), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/window/opens", test_window_opens);
  return g_test_run ();
}
