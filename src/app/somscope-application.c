/* somscope-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "somscope-application.h"
#include "somscope-document.h"
#include "somscope-preferences-window.h"
#include "somscope-settings.h"
#include "somscope-window.h"

struct _SomscopeApplication
{
  AdwApplication parent_instance;

  GSettings *settings;
  char      *activations;   /* --activations FILE.npz */
};

G_DEFINE_FINAL_TYPE (SomscopeApplication, somscope_application, ADW_TYPE_APPLICATION)

static SomscopeWindow *
get_window (SomscopeApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (somscope_window_new (self));
  return SOMSCOPE_WINDOW (window);
}

/* No arguments: the demo, so a new user sees maps at once. */
static void
somscope_application_activate (GApplication *app)
{
  GtkWindow *existing = gtk_application_get_active_window (GTK_APPLICATION (app));
  SomscopeWindow *window = get_window (SOMSCOPE_APPLICATION (app));

  gtk_window_present (GTK_WINDOW (window));
  if (existing == NULL)
    {
      SomscopeApplication *self = SOMSCOPE_APPLICATION (app);

      somscope_window_offer_recovery (window);
      if (self->activations != NULL)
        {
          g_autoptr(GFile) file = g_file_new_for_commandline_arg (self->activations);

          somscope_window_open (window, file, NULL);
        }
      else
        somscope_window_open_demo (window);
    }
}

/* somscope MODEL [DATASET]: a bad file shows the error in the window. */
static void
somscope_application_open (GApplication  *app,
                           GFile        **files,
                           int            n_files,
                           const char    *hint)
{
  GtkWindow *existing = gtk_application_get_active_window (GTK_APPLICATION (app));
  SomscopeWindow *window = get_window (SOMSCOPE_APPLICATION (app));

  gtk_window_present (GTK_WINDOW (window));
  if (existing == NULL)
    somscope_window_offer_recovery (window);
  if (n_files > 2)
    {
      somscope_window_show_error (window, _("Open a model and at most one dataset"));
      return;
    }
  somscope_window_open (window, files[0], n_files > 1 ? files[1] : NULL);
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  GList *windows = gtk_application_get_windows (app);

  /* Closing the windows lets them save their state, stop their jobs and
   * ask about unsaved work; the application ends with the last one. */
  for (GList *l = windows; l != NULL;)
    {
      GtkWindow *window = l->data;

      l = l->next;
      gtk_window_close (window);
    }
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *param,
                 gpointer       user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (user_data));
  AdwAboutWindow *about;

  about = ADW_ABOUT_WINDOW (adw_about_window_new ());
  adw_about_window_set_application_name (about, _("Somscope"));
  adw_about_window_set_application_icon (about, APP_ID);
  adw_about_window_set_version (about, PACKAGE_VERSION);
  adw_about_window_set_comments (about,
                                 _("Look inside trained neural networks with self-organizing maps"));
  adw_about_window_set_license_type (about, GTK_LICENSE_GPL_3_0);
  adw_about_window_set_website (about, "https://github.com/somscope/somscope");
  gtk_window_set_transient_for (GTK_WINDOW (about), window);
  gtk_window_present (GTK_WINDOW (about));
}

static void
preferences_activated (GSimpleAction *action,
                       GVariant      *param,
                       gpointer       user_data)
{
  SomscopeApplication *self = SOMSCOPE_APPLICATION (user_data);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWindow *preferences;

  preferences = GTK_WINDOW (somscope_preferences_window_new (self->settings));
  gtk_window_set_transient_for (preferences, window);
  gtk_window_present (preferences);
}

#define HELP_URL "https://github.com/somscope/somscope#readme"

typedef struct
{
  SomscopeWindow *window;       /* weak */
  char           *readme;       /* the local README tried first, or NULL */
  gboolean        online;       /* HELP_URL is being tried */
} HelpData;

static void
help_data_free (HelpData *help)
{
  g_clear_weak_pointer (&help->window);
  g_free (help->readme);
  g_free (help);
}

/* A README no application here opens (a desktop with no Markdown viewer, or
 * one that needs a terminal) falls back to the online one; when that fails
 * too, the window says where the README is instead of GTK's bare "Could
 * not show link" dialog. */
static void
help_shown_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  HelpData *help = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (gtk_show_uri_full_finish (GTK_WINDOW (source), result, &error) || help->window == NULL)
    {
      help_data_free (help);
      return;
    }
  g_debug ("could not show %s: %s", help->online ? HELP_URL : help->readme, error->message);
  if (!help->online)
    {
      help->online = TRUE;
      gtk_show_uri_full (GTK_WINDOW (source), HELP_URL, GDK_CURRENT_TIME, NULL, help_shown_cb, help);
      return;
    }
  if (help->readme != NULL)
    /* Translators: the error, then the path of the README */
    text = g_strdup_printf (_("Could not open the help: %s. It is in %s"), error->message, help->readme);
  else
    /* Translators: the error, then the address of the help */
    text = g_strdup_printf (_("Could not open the help: %s. It is at %s"), error->message, HELP_URL);
  somscope_window_show_error (help->window, text);
  help_data_free (help);
}

/* The README of the source tree when run from it, else the installed docs,
 * else the online one. */
static void
help_activated (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (user_data));
  const char *candidates[] = {
    SOMSCOPE_SOURCE_DIR "/README.md",
    DOCDIR "/README.md",
  };
  HelpData *help;
  g_autofree char *uri = NULL;

  help = g_new0 (HelpData, 1);
  /* the window that shows a failure: the main one, even from the preferences */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (user_data)); l != NULL; l = l->next)
    if (SOMSCOPE_IS_WINDOW (l->data))
      {
        g_set_weak_pointer (&help->window, l->data);
        break;
      }
  for (guint i = 0; i < G_N_ELEMENTS (candidates) && help->readme == NULL; i++)
    if (g_file_test (candidates[i], G_FILE_TEST_IS_REGULAR))
      help->readme = g_strdup (candidates[i]);
  if (help->readme != NULL)
    uri = g_filename_to_uri (help->readme, NULL, NULL);
  help->online = uri == NULL;
  gtk_show_uri_full (window, help->online ? HELP_URL : uri, GDK_CURRENT_TIME, NULL, help_shown_cb, help);
}

static const GActionEntry app_actions[] = {
  { "quit", quit_activated },
  { "about", about_activated },
  { "preferences", preferences_activated },
  { "help", help_activated },
};

/* GTK 4.8's cairo renderer paints each frame into a new image the size of
 * the damage (calloc), and copies every texture it draws into another.
 * With glibc's defaults an image that size is mmap'd, or the heap's top is
 * given back to the system once freed: the next frame then touches fresh
 * pages, a fault for every 4 KiB (12 µs each on a virtual machine), and a
 * frame whose damage grew paid 1,000–2,500 faults (perf: two thirds of the
 * main thread's faults while the maps train were that image's memset).
 * Kept, a frame reuses the last one's memory.  Allocations above 32 MiB
 * (datasets, activations) are still mmap'd and given back. */
static void
keep_frame_memory (void)
{
  mallopt (M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt (M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

/* The heap grows by about 16 MiB in the first frames of a document (its
 * widgets, the first whole-window image, the first live maps).  Each new
 * page costs twice on a virtual machine: the guest's fault (6 µs), and the
 * host's when user space first writes it (6 µs more, not seen by the guest:
 * a page populated by the kernel alone is still slow to the app's first
 * write, e.g. 10 ms for a 6 MB frame image).  So the heap is grown here,
 * its pages populated in one call and written once, by a thread of their
 * own while the window and the document load, then left in the heap (under
 * M_TRIM_THRESHOLD) for those frames. */
#define HEAP_RESERVE (24 * 1024 * 1024)

static gpointer
warm_heap (gpointer block)
{
  gsize page = sysconf (_SC_PAGESIZE);
  char *start = (char *) (((guintptr) block + page - 1) & ~(guintptr) (page - 1));
  char *end = (char *) (((guintptr) block + HEAP_RESERVE) & ~(guintptr) (page - 1));

#ifdef MADV_POPULATE_WRITE
  /* Kernels before 5.14 refuse it: the writes then fault the pages in. */
  madvise (start, end - start, MADV_POPULATE_WRITE);
#endif
  for (volatile char *p = start; p < end; p += page)
    *p = 0;
  free (block);
  return NULL;
}

static void
populate_heap (void)
{
  /* Allocated here, on the main thread, to grow the main thread's heap. */
  char *block = malloc (HEAP_RESERVE);

  if (block != NULL)
    g_thread_unref (g_thread_new ("somscope-heap", warm_heap, block));
}

static void
somscope_application_startup (GApplication *app)
{
  keep_frame_memory ();
  populate_heap ();
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "app.preferences", { "<Control>comma", NULL } },
    { "app.help", { "F1", NULL } },
    { "win.open-model", { "<Control>o", NULL } },
    { "win.open-dataset", { "<Control><Shift>o", NULL } },
    { "win.save", { "<Control>s", NULL } },
    { "win.export", { "<Control>e", NULL } },
    { "win.copy-view", { "<Control><Shift>c", NULL } },
    { "win.zoom-in", { "<Control>plus", "<Control>equal", NULL } },
    { "win.zoom-out", { "<Control>minus", NULL } },
    { "win.zoom-reset", { "<Control>0", NULL } },
    { "win.toggle-sidebar", { "F9", NULL } },
    { "win.show-help-overlay", { "<Control>question", NULL } },
  };

  G_APPLICATION_CLASS (somscope_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action, accels[i].accels);
}

static int
somscope_application_handle_local_options (GApplication *app,
                                           GVariantDict *options)
{
  SomscopeApplication *self = SOMSCOPE_APPLICATION (app);
  g_autofree char *activations = NULL;

  if (g_variant_dict_lookup (options, "activations", "^ay", &activations))
    {
      g_free (self->activations);
      self->activations = g_steal_pointer (&activations);
    }
  return -1;
}

/* The windows are gone and their jobs cancelled: let the worker threads
 * return before the process exits under them. */
static void
somscope_application_shutdown (GApplication *app)
{
  GList *windows;

  /* The windows' jobs stop first: a window lives on after it is destroyed
   * while a job's callback holds it, so its dispose may come too late. */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l != NULL; l = l->next)
    if (SOMSCOPE_IS_WINDOW (l->data))
      somscope_window_cancel_jobs (l->data);
  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))) != NULL)
    gtk_window_destroy (windows->data);
  G_APPLICATION_CLASS (somscope_application_parent_class)->shutdown (app);
  if (!somscope_wait_for_workers (30000))
    g_message ("Some worker threads did not stop in time");
}

static void
somscope_application_finalize (GObject *object)
{
  SomscopeApplication *self = SOMSCOPE_APPLICATION (object);

  g_free (self->activations);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (somscope_application_parent_class)->finalize (object);
}

static void
somscope_application_class_init (SomscopeApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = somscope_application_finalize;
  app_class->activate = somscope_application_activate;
  app_class->open = somscope_application_open;
  app_class->startup = somscope_application_startup;
  app_class->shutdown = somscope_application_shutdown;
  app_class->handle_local_options = somscope_application_handle_local_options;
}

static void
somscope_application_init (SomscopeApplication *self)
{
  static const GOptionEntry entries[] = {
    { "activations", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Map the layers of a .npz of activations (no model)"), N_("FILE.npz") },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self),
                                                      _("[MODEL [DATASET] | SESSION.somscope]"));
  self->settings = somscope_settings_new (NULL);
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

GSettings *
somscope_application_get_settings (SomscopeApplication *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_APPLICATION (self), NULL);
  return self->settings;
}
