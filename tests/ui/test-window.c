/* test-window.c: the main window comes up with its title; a bad file from the
 * command line shows the window with the error instead of exiting; the cairo
 * renderer's upload memory outlives a round trip to the X server; help that
 * no application opens is reported in the window
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "somscope-application.h"
#include "somscope-preferences-window.h"
#include "somscope-window.h"
#include "somscope-window-private.h"

#ifdef HAVE_CAIRO_XLIB
#include <gdk/x11/gdkx.h>
#include <X11/extensions/XShm.h>
#endif

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
collect_shortcuts (GtkWidget *widget,
                   GPtrArray *shortcuts)
{
  if (GTK_IS_SHORTCUTS_SHORTCUT (widget))
    g_ptr_array_add (shortcuts, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    collect_shortcuts (child, shortcuts);
}

/* Every entry of the shortcuts window (Ctrl+?) shows a key: an action's
 * entry takes its key from the application's accelerators, and an entry
 * whose action has none showed an empty key ("Stop the running jobs" did).
 * And every accelerator the application sets is listed there. */
static void
on_activate_shortcuts (GApplication *app, gpointer user_data)
{
  GtkApplicationWindow *window = GTK_APPLICATION_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  GtkShortcutsWindow *overlay = gtk_application_window_get_help_overlay (window);
  g_autoptr(GPtrArray) shortcuts = g_ptr_array_new ();
  g_autoptr(GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto(GStrv) described = NULL;

  g_assert_nonnull (overlay);
  collect_shortcuts (GTK_WIDGET (overlay), shortcuts);
  g_assert_cmpuint (shortcuts->len, >=, 10);
  for (guint i = 0; i < shortcuts->len; i++)
    {
      g_autofree char *title = NULL, *action = NULL, *accelerator = NULL;

      g_object_get (shortcuts->pdata[i], "title", &title, "action-name", &action, "accelerator", &accelerator, NULL);
      if (action != NULL)
        {
          g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), action);

          if (accels[0] == NULL)
            g_error ("\"%s\" (%s) is listed without a key", title, action);
          g_hash_table_add (listed, g_steal_pointer (&action));
        }
      else if (accelerator == NULL || *accelerator == '\0')
        g_error ("\"%s\" is listed without a key", title);
    }
  described = gtk_application_list_action_descriptions (GTK_APPLICATION (app));
  for (guint i = 0; described[i] != NULL; i++)
    {
      g_autofree char *name = NULL;
      g_autoptr(GVariant) target = NULL;

      g_assert_true (g_action_parse_detailed_name (described[i], &name, &target, NULL));
      if (!g_hash_table_contains (listed, name))
        g_error ("%s has a key the shortcuts window does not list", described[i]);
    }
  g_application_quit (app);
}

static void
test_shortcuts (void)
{
  g_autoptr(SomscopeApplication) app = somscope_application_new ();

  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate_shortcuts), NULL);
  g_assert_cmpint (g_application_run (G_APPLICATION (app), 0, NULL), ==, 0);
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

#ifdef HAVE_CAIRO_XLIB
/* The SysV shared memory segments this process has mapped (their ids), and
 * the one holding @address in *@holding (or -1). */
static GHashTable *
shm_segments (gconstpointer address,
              gint64       *holding)
{
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;
  GHashTable *ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  lines = g_strsplit (maps, "\n", -1);
  *holding = -1;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint64 start, end;
      gint64 *id = g_new (gint64, 1);
      char path[64] = "";

      /* start-end perms offset dev inode path: a segment's inode is its id */
      if (sscanf (lines[i], "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x %*s %*s %*s %" G_GINT64_MODIFIER "d %63s",
                  &start, &end, id, path) != 4 || !g_str_has_prefix (path, "/SYSV"))
        {
          g_free (id);
          continue;
        }
      if ((guint64) GPOINTER_TO_SIZE (address) >= start && (guint64) GPOINTER_TO_SIZE (address) < end)
        *holding = *id;
      g_hash_table_add (ids, id);
    }
  return ids;
}

typedef struct {
  SomscopeWindow *window;
  GHashTable     *seen;    /* every segment mapped after a frame */
  guint           frames;
} PoolWatch;

static void
frame_segments_cb (GdkFrameClock *clock,
                   PoolWatch     *watch)
{
  gint64 kept;
  g_autoptr(GHashTable) mapped = shm_segments (NULL, &kept);
  GHashTableIter iter;
  gint64 *id;

  watch->frames++;
  g_hash_table_iter_init (&iter, mapped);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, NULL))
    g_hash_table_add (watch->seen, g_memdup2 (id, sizeof *id));
}

static void
on_activate_upload_pool (GApplication *app,
                         gpointer      user_data)
{
  SomscopeWindow *window = SOMSCOPE_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  GtkWidget *content = adw_application_window_get_content (ADW_APPLICATION_WINDOW (window));
  GdkDisplay *display = gtk_widget_get_display (GTK_WIDGET (window));
  PoolWatch watch = { window, g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL), 0 };
  gint64 deadline = g_get_monotonic_time () + 240 * G_USEC_PER_SEC;
  gint64 kept = -1;
  guint shown_at;

  while (!gtk_widget_get_mapped (GTK_WIDGET (window)))
    g_main_context_iteration (NULL, TRUE);
  if (!GDK_IS_X11_DISPLAY (display) || !GSK_IS_CAIRO_RENDERER (gtk_native_get_renderer (GTK_NATIVE (window))) ||
      !XShmQueryExtension (gdk_x11_display_get_xdisplay (display)))
    {
      g_test_skip ("only the cairo renderer on X11 with MIT-SHM uploads through cairo's pools");
      g_hash_table_unref (watch.seen);
      g_application_quit (app);
      return;
    }
  /* The window keeps an image in a shared segment. */
  g_assert_nonnull (window->upload_pool);
  g_hash_table_unref (shm_segments (cairo_image_surface_get_data (window->upload_pool), &kept));
  g_assert_cmpint (kept, >=, 0);
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "after-paint",
                    G_CALLBACK (frame_segments_cb), &watch);
  /* The demo loads (activate opens it), the window paints the document
   * whole, and the jobs start: cairo used to drop its pool between such
   * frames (after the layouts' round trips to the server) and make a new
   * segment, every page of it faulted in again, for the next large one. */
  while (somscope_window_get_document (window) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  shown_at = watch.frames;
  while (watch.frames < shown_at + 10)
    g_main_context_iteration (NULL, TRUE);
  /* Whole-window frames, each after the server has caught up. */
  for (guint round = 0; round < 4; round++)
    {
      guint before = watch.frames;

      gtk_widget_set_opacity (content, round % 2 ? 1.0 : 0.9);
      while (watch.frames == before)
        g_main_context_iteration (NULL, TRUE);
      gdk_display_sync (display);
    }
  g_signal_handlers_disconnect_by_func (gtk_widget_get_frame_clock (GTK_WIDGET (window)), frame_segments_cb, &watch);
  /* One segment all along: the kept one. */
  g_assert_cmpuint (g_hash_table_size (watch.seen), ==, 1);
  g_assert_true (g_hash_table_contains (watch.seen, &kept));
  g_hash_table_unref (watch.seen);
  g_application_quit (app);
}
#endif

static void
test_upload_pool (void)
{
#ifdef HAVE_CAIRO_XLIB
  g_autoptr(SomscopeApplication) app = somscope_application_new ();

  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate_upload_pool), NULL);
  g_assert_cmpint (g_application_run (G_APPLICATION (app), 0, NULL), ==, 0);
#else
  g_test_skip ("built without cairo-xlib");
#endif
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

static GtkWidget *
find_row (GtkWidget  *widget,
          const char *title)
{
  if (ADW_IS_PREFERENCES_ROW (widget) &&
      g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), title) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_row (child, title);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The attack's rows: the strength is for any attack, the steps for PGD. */
static void
test_preferences (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.somscope.Somscope");
  GtkWidget *window = somscope_preferences_window_new (settings);
  GtkWidget *eps = find_row (window, "_Strength ε");
  GtkWidget *steps = find_row (window, "PGD S_teps");
  const struct { const char *method; gboolean eps, steps; } cases[] = {
    { "fgsm", TRUE, FALSE }, { "pgd", TRUE, TRUE }, { "none", FALSE, FALSE },
  };

  g_assert_nonnull (eps);
  g_assert_nonnull (steps);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_settings_set_string (settings, "attack-method", cases[i].method);
      g_assert_cmpint (gtk_widget_get_sensitive (eps), ==, cases[i].eps);
      g_assert_cmpint (gtk_widget_get_sensitive (steps), ==, cases[i].steps);
    }
  g_settings_reset (settings, "attack-method");
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
on_activate_help (GApplication *app, gpointer user_data)
{
  SomscopeWindow *window = SOMSCOPE_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  GListModel *toplevels = gtk_window_get_toplevels ();
  const char *error;
  guint shown = 0;

  g_action_group_activate_action (G_ACTION_GROUP (app), "help", NULL);
  while (somscope_window_get_last_error (window) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  error = somscope_window_get_last_error (window);
  g_test_message ("error: %s", error);
  g_assert_true (g_str_has_prefix (error, "Could not open the help: "));
  g_assert_nonnull (strstr (error, "README.md"));
  /* in the window's toasts, not in GTK's "Could not show link" dialog */
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) toplevel = g_list_model_get_item (toplevels, i);
      shown += gtk_widget_get_visible (toplevel);
    }
  g_assert_cmpuint (shown, ==, 1);
  g_application_quit (app);
}

/* F1 on a machine where no application opens the README or a web page
 * (no applications in XDG_DATA_DIRS): the window says so and where the
 * README is. */
static void
test_help_unopenable (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(SomscopeApplication) app = somscope_application_new ();

      g_signal_connect_after (app, "activate", G_CALLBACK (on_activate_help), NULL);
      g_assert_cmpint (g_application_run (G_APPLICATION (app), 0, NULL), ==, 0);
      return;
    }
  {
    g_autofree char *dir = g_dir_make_tmp ("somscope-test-XXXXXX", NULL);
    g_autofree char *data_dirs = g_strdup (g_getenv ("XDG_DATA_DIRS"));
    const char *keep[] = { "mime", "icons" };   /* the images' types, the icons */
    const char *const *system = g_get_system_data_dirs ();

    for (guint k = 0; k < G_N_ELEMENTS (keep); k++)
      for (guint i = 0; system[i] != NULL; i++)
        {
          g_autofree char *target = g_build_filename (system[i], keep[k], NULL);
          g_autofree char *link = g_build_filename (dir, keep[k], NULL);
          if (g_file_test (target, G_FILE_TEST_IS_DIR))
            {
              g_assert_cmpint (symlink (target, link), ==, 0);
              break;
            }
        }
    /* the child inherits the environment; GLib reads it once per process */
    g_setenv ("XDG_DATA_DIRS", dir, TRUE);
    g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    if (data_dirs != NULL)
      g_setenv ("XDG_DATA_DIRS", data_dirs, TRUE);
    else
      g_unsetenv ("XDG_DATA_DIRS");
    for (guint k = 0; k < G_N_ELEMENTS (keep); k++)
      {
        g_autofree char *link = g_build_filename (dir, keep[k], NULL);
        g_unlink (link);
      }
    g_assert_cmpint (g_rmdir (dir), ==, 0);
    g_test_trap_assert_passed ();
  }
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/window/estimate", test_estimate);
  g_test_add_func ("/window/opens", test_window_opens);
  g_test_add_func ("/window/shortcuts", test_shortcuts);
  g_test_add_func ("/window/bad-file-from-command-line", test_bad_file_from_command_line);
  g_test_add_func ("/window/recovery-offered", test_recovery_offered);
  g_test_add_func ("/window/upload-pool", test_upload_pool);
  g_test_add_func ("/window/preferences", test_preferences);
  g_test_add_func ("/window/help-unopenable", test_help_unopenable);
  return g_test_run ();
}
