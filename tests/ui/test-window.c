/* test-window.c: the main window comes up with its title; a bad file from the
 * command line shows the window with the error instead of exiting
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

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

static void
on_open (GApplication  *app,
         GFile        **files,
         int            n_files,
         const char    *hint,
         gpointer       user_data)
{
  SomscopeWindow *window = SOMSCOPE_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  g_assert_nonnull (window);
  while (somscope_window_get_last_error (window) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_test_message ("error: %s", somscope_window_get_last_error (window));
  g_assert_nonnull (strstr (somscope_window_get_last_error (window), "garbage.onnx"));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
  g_assert_null (somscope_window_get_document (window));
  g_application_quit (app);
}

static void
test_bad_file_from_command_line (void)
{
  g_autoptr(SomscopeApplication) app = somscope_application_new ();
  g_autofree char *dir = g_dir_make_tmp ("somscope-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "garbage.onnx", NULL);
  char *argv[] = { "somscope", path, NULL };

  g_assert_true (g_file_set_contents (path, "not a model", -1, NULL));
  g_signal_connect_after (app, "open", G_CALLBACK (on_open), NULL);
  g_assert_cmpint (g_application_run (G_APPLICATION (app), 2, argv), ==, 0);
  g_unlink (path);
  g_rmdir (dir);
}

static void
on_activate_recovery (GApplication *app, gpointer user_data)
{
  const char *recovered = user_data;

  /* The autosave moved aside before the demo could overwrite it. */
  g_assert_true (g_file_test (recovered, G_FILE_TEST_IS_REGULAR));
  g_application_quit (app);
}

/* An autosave at start means the last run did not close cleanly. */
static void
test_recovery_offered (void)
{
  g_autoptr(SomscopeApplication) app = somscope_application_new ();
  g_autofree char *autosave = somscope_document_autosave_path ();
  g_autofree char *dir = g_path_get_dirname (autosave);
  g_autofree char *recovered = g_build_filename (dir, "recovered.somscope", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_unlink (recovered);
  g_assert_true (g_file_set_contents (autosave, "a session", -1, NULL));
  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate_recovery), recovered);
  g_assert_cmpint (g_application_run (G_APPLICATION (app), 0, NULL), ==, 0);
  g_assert_false (g_file_test (autosave, G_FILE_TEST_EXISTS));
  g_unlink (recovered);
}

/* The job bar's estimate: linear in the progress made since the jobs
 * started, silent while too early to tell, rounded for reading. */
static void
test_estimate (void)
{
  g_autofree char *few = somscope_format_remaining (4);
  g_autofree char *seconds = somscope_format_remaining (31);
  g_autofree char *minutes = somscope_format_remaining (125);

  /* 20 s for 0.1 → 0.3: 0.7 to go takes 70 s. */
  g_assert_cmpfloat_with_epsilon (somscope_estimate_remaining (20 * G_USEC_PER_SEC, 0.1, 0.3), 70.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (somscope_estimate_remaining (3 * G_USEC_PER_SEC, 0.0, 0.5), 3.0, 1e-9);
  g_assert_cmpfloat (somscope_estimate_remaining (G_USEC_PER_SEC, 0.0, 0.5), <, 0);
  g_assert_cmpfloat (somscope_estimate_remaining (60 * G_USEC_PER_SEC, 0.5, 0.51), <, 0);
  g_assert_cmpfloat (somscope_estimate_remaining (60 * G_USEC_PER_SEC, 0.0, 1.0), <, 0);
  g_assert_cmpstr (few, ==, "a few seconds left");
  g_assert_cmpstr (seconds, ==, "about 35 s left");
  g_assert_cmpstr (minutes, ==, "about 3 min left");
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/window/estimate", test_estimate);
  g_test_add_func ("/window/opens", test_window_opens);
  g_test_add_func ("/window/bad-file-from-command-line", test_bad_file_from_command_line);
  g_test_add_func ("/window/recovery-offered", test_recovery_offered);
  return g_test_run ();
}
