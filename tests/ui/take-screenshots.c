/* take-screenshots.c: the README's screenshots, rendered by GTK itself
 *
 *   dbus-run-session -- xvfb-run -a -s "-screen 0 1600x1000x24" \
 *     build/tests/ui/take-screenshots docs/screenshots
 *
 * Opens the demo, waits for the maps and the attack, then selects a misclassified input and
 * the unit it lands on, and saves the window for several views, the last the
 * hit map of the input's class on the same layer.  With
 * ADW_DEBUG_COLOR_SCHEME=prefer-dark the same in the dark style.  With
 * --training, training.png instead: the maps (400 epochs) half way through
 * their training, a layer still training selected, then Stop.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdlib.h>

#include "somscope-application.h"
#include "somscope-window.h"

static const char *outdir;
static gboolean training_shot;   /* --training */

static gboolean
maps_trained (SomscopeWindow *window)
{
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  guint n = g_list_model_get_n_items (mapped);

  if (somscope_window_get_document (window) == NULL || n == 0 ||
      somscope_document_get_busy (somscope_window_get_document (window)))
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);

      if (somscope_layer_get_status (layer) != SOMSCOPE_LAYER_STATUS_DONE)
        return FALSE;
    }
  return TRUE;
}

/* The first widget of @type (and @label, when not NULL) under @widget,
 * depth first. */
static GtkWidget *
find_type (GtkWidget  *widget,
           GType       type,
           const char *label)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type) &&
      (label == NULL || g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_type (child, type, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
training_half_way (SomscopeWindow *window)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  guint n = g_list_model_get_n_items (mapped), training = 0;

  if (document == NULL || somscope_document_get_progress (document) < 0.4)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);

      training += somscope_layer_get_status (layer) == SOMSCOPE_LAYER_STATUS_TRAINING;
    }
  return training > 0;
}

static void
settle (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  /* Lets frames happen (this is a tool, not a test). */
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
}

static void
save (GtkWidget  *widget,
      const char *name)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = g_build_filename (outdir, name, NULL);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  for (guint tries = 0; node == NULL && tries < 10; tries++)
    {
      /* Nothing drawn yet: let a frame happen. */
      settle (200);
      snapshot = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, snapshot, width, height);
      node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
    }
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    g_error ("could not write %s", path);
  g_print ("%s\n", path);
}

static void
on_activate (GApplication *app,
             gpointer      user_data)
{
  SomscopeWindow *window = SOMSCOPE_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  SomscopeDocument *document;
  GListModel *inputs;
  GListModel *mapped;
  g_autoptr(SomscopeLayer) last = NULL;
  SomscopeLayer *layer;
  guint n;
  int chosen = 0;

  if (training_shot)
    {
      SomscopeDocument *doc;
      GListModel *layers = somscope_window_get_mapped_layers (window);

      /* Half way through the training: the job line, the rows' lines, the
       * live maps. */
      while (!training_half_way (window))
        g_main_context_iteration (NULL, TRUE);
      doc = somscope_window_get_document (window);
      /* A layer still training, selected: its group opens in the sidebar. */
      for (guint i = g_list_model_get_n_items (layers); i-- > 0;)
        {
          g_autoptr(SomscopeLayer) candidate = g_list_model_get_item (layers, i);

          if (somscope_layer_get_status (candidate) == SOMSCOPE_LAYER_STATUS_TRAINING)
            {
              somscope_document_set_selected_layer (doc, candidate);
              break;
            }
        }
      settle (300);
      save (GTK_WIDGET (window), "training.png");
      gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel", NULL);
      g_application_quit (app);
      return;
    }

  while (!maps_trained (window))
    g_main_context_iteration (NULL, TRUE);
  document = somscope_window_get_document (window);
  settle (1500);
  save (GTK_WIDGET (window), "overview.png");

  /* A misclassified input tells the more interesting story. */
  inputs = somscope_document_get_inputs (document);
  n = g_list_model_get_n_items (inputs);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (inputs, i);

      if (somscope_input_get_misclassified (input))
        {
          chosen = i;
          break;
        }
    }
  mapped = somscope_window_get_mapped_layers (window);
  last = g_list_model_get_item (mapped, g_list_model_get_n_items (mapped) - 1);
  somscope_document_set_selected_layer (document, last);
  somscope_document_set_selected_input (document, chosen);
  layer = somscope_document_get_selected_layer (document);
  g_signal_emit_by_name (somscope_window_get_map_view (window), "unit-activated",
                         somscope_layer_get_input_bmu (layer));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "classes");
  settle (1500);
  save (GTK_WIDGET (window), "classes.png");

  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "response");
  settle (1500);
  save (GTK_WIDGET (window), "response.png");

  /* Where the inputs of the chosen one's class land on this layer. */
  {
    g_autoptr(SomscopeInput) input = g_list_model_get_item (inputs, chosen);
    GtkDropDown *classes = GTK_DROP_DOWN (find_type (GTK_WIDGET (window), GTK_TYPE_DROP_DOWN, NULL));
    GtkWidget *won = find_type (GTK_WIDGET (window), GTK_TYPE_TOGGLE_BUTTON, "_Won by Unit");

    /* The gallery shows the whole class. */
    g_assert (won != NULL);
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (won), FALSE);
    gtk_drop_down_set_selected (classes, somscope_input_get_label (input) + 1);
    gtk_widget_activate_action (GTK_WIDGET (window), "win.show-view", "s", "hits");
    settle (1500);
    save (GTK_WIDGET (window), "class-hits.png");
  }

  g_application_quit (app);
}

int
main (int argc, char **argv)
{
  g_autoptr(SomscopeApplication) app = NULL;
  GSettings *settings;

  training_shot = argc == 3 && g_str_equal (argv[1], "--training");
  if (argc != 2 && !training_shot)
    {
      g_printerr ("usage: take-screenshots [--training] OUTDIR\n");
      return EXIT_FAILURE;
    }
  outdir = argv[argc - 1];
  g_mkdir_with_parents (outdir, 0755);
  gtk_init ();
  app = somscope_application_new ();
  settings = somscope_application_get_settings (app);
  g_settings_set_int (settings, "window-width", 1600);
  g_settings_set_int (settings, "window-height", 1000);
  /* Long enough to catch the maps half way. */
  if (training_shot)
    g_settings_set_int (settings, "som-epochs", 400);
  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate), NULL);
  return g_application_run (G_APPLICATION (app), 1, argv);
}
