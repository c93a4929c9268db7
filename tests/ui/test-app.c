/* test-app.c: the app on the demo, end to end, under Xvfb
 *
 * Starts on the bundled demo, waits (main loop, no sleeps) for every default
 * layer's map, then checks what a user sees against the core: the BMU marked
 * on each layer for a selected input, the gallery filtered by a unit, and a
 * corrupt model leaving the session as it was.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "som-colormap.h"
#include "som-map.h"
#include "som-session.h"

#include "somscope-application.h"
#include "somscope-export.h"
#include "somscope-export-dialog.h"
#include "somscope-layer-group.h"
#include "somscope-preprocess-dialog.h"
#include "somscope-sched.h"
#include "somscope-window.h"
#include "somscope-window-private.h"

#define WAIT_SECONDS 240

static SomscopeWindow *window;
static char *tmpdir;
static int test_status;

typedef gboolean (*Condition) (gpointer data);

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main loop until @condition holds; fails after WAIT_SECONDS
 * (a timer wakes the loop, so that a condition that never comes fails
 * rather than blocks). */
static void
wait_for (Condition   condition,
          gpointer    data,
          const char *what)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
  guint timer = g_timeout_add_seconds (1, wake_up, NULL);

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (timer);
}

static gboolean
document_ready (gpointer data)
{
  SomscopeDocument *document = somscope_window_get_document (window);

  return document != NULL && somscope_document_get_state (document) == SOMSCOPE_DOCUMENT_STATE_READY;
}

static gboolean
maps_trained (gpointer data)
{
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  guint n = g_list_model_get_n_items (mapped);

  if (n == 0)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);

      if (somscope_layer_get_status (layer) != SOMSCOPE_LAYER_STATUS_DONE)
        return FALSE;
    }
  return TRUE;
}

static gboolean
other_document_ready (gpointer data)
{
  SomscopeDocument *document = somscope_window_get_document (window);

  return document != data && document_ready (NULL);
}

static gboolean
error_shown (gpointer data)
{
  const char *error = somscope_window_get_last_error (window);

  return error != NULL && strstr (error, data) != NULL;
}

static gboolean
document_idle (gpointer data)
{
  return !somscope_document_get_busy (somscope_window_get_document (window));
}

static gboolean
allocated (gpointer data)
{
  return gtk_widget_get_width (data) > 0 && gtk_widget_get_mapped (data);
}

static void
held_load_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (somscope_document_load_finish (SOMSCOPE_DOCUMENT (object), result, &error));
  g_assert_no_error (error);
  *(gboolean *) data = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static gboolean
layers_done (gpointer data)
{
  GListModel *layers = somscope_document_get_layers (data);
  guint trained = 0;

  for (guint i = 0; i < g_list_model_get_n_items (layers); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (layers, i);

      if (!somscope_layer_get_mapped (layer))
        continue;
      if (somscope_layer_get_status (layer) != SOMSCOPE_LAYER_STATUS_DONE)
        return FALSE;
      trained++;
    }
  return trained > 0 && !somscope_document_get_busy (data);
}

static guint
layers_with_maps (SomscopeDocument *document)
{
  GListModel *layers = somscope_document_get_layers (document);
  guint n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (layers); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (layers, i);

      n += somscope_layer_get_map (layer) != NULL ||
           somscope_layer_get_status (layer) == SOMSCOPE_LAYER_STATUS_TRAINING;
    }
  return n;
}

/* A document told to hold its jobs (as the window does until it has
 * painted a new document) starts none of them until released, counts as
 * busy meanwhile, and starts them all on release; stopped while held, it
 * starts nothing. */
static void
test_held_jobs (void)
{
  GSettings *settings = somscope_application_get_settings (SOMSCOPE_APPLICATION (g_application_get_default ()));
  g_autoptr(GFile) model = NULL;
  g_autoptr(GFile) images = NULL;

  g_assert_true (somscope_find_demo (&model, &images));
  for (guint stop = 0; stop < 2; stop++)
    {
      g_autoptr(SomscopeDocument) document = somscope_document_new (settings);
      gboolean loaded = FALSE;

      somscope_document_hold_jobs (document);
      somscope_document_load_async (document, model, images, NULL, held_load_cb, &loaded);
      wait_for (flag_set, &loaded, "the held document to load");
      /* Several turns of the main loop: nothing starts by itself. */
      for (guint i = 0; i < 20; i++)
        g_main_context_iteration (NULL, FALSE);
      g_assert_cmpuint (layers_with_maps (document), ==, 0);
      g_assert_false (somscope_document_get_attacking (document));
      g_assert_true (somscope_document_get_busy (document));
      if (stop)
        {
          somscope_document_cancel (document);
          g_assert_false (somscope_document_get_busy (document));
          somscope_document_release_jobs (document);
          g_assert_cmpuint (layers_with_maps (document), ==, 0);
          g_assert_false (somscope_document_get_attacking (document));
          g_assert_false (somscope_document_get_busy (document));
          continue;
        }
      somscope_document_release_jobs (document);
      g_assert_true (somscope_document_get_attacking (document));
      wait_for (layers_done, document, "the released maps to train");
      g_assert_cmpuint (layers_with_maps (document), >, 0);
      somscope_document_cancel (document);
    }
}

static void
test_demo_maps (void)
{
  SomscopeDocument *document;
  GListModel *mapped;
  guint n;

  wait_for (document_ready, NULL, "the demo to load");
  document = somscope_window_get_document (window);
  g_assert_cmpuint (g_list_model_get_n_items (somscope_document_get_inputs (document)), ==, 300);
  g_assert_cmpuint (g_list_model_get_n_items (somscope_window_get_gallery (window)), ==, 300);
  g_assert_nonnull (somscope_document_get_selected_layer (document));

  wait_for (maps_trained, NULL, "the maps to train");
  mapped = somscope_window_get_mapped_layers (window);
  n = g_list_model_get_n_items (mapped);
  g_assert_cmpuint (n, >=, 3);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);
      SomMap *map = somscope_layer_get_map (layer);

      g_assert_nonnull (map);
      g_assert_cmpuint (som_grid_get_rows (som_map_get_grid (map)), ==, 8);
      g_assert_cmpuint (som_grid_get_cols (som_map_get_grid (map)), ==, 10);
      g_assert_cmpfloat (somscope_layer_get_progress (layer), ==, 1.0);
    }
  wait_for (document_idle, NULL, "the jobs to finish");
}

/* The perturbation is drawn in the core's diverging map: every pixel is one
 * of its 256 entries, and the largest change (a pixel of ±amax) is an end. */
static void
check_perturbation_colors (GdkTexture *texture)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  g_autofree guint8 *pixels = g_malloc ((gsize) width * height * 4);
  g_autoptr(GHashTable) entries = g_hash_table_new (NULL, NULL);
  gboolean extreme = FALSE;

  for (guint i = 0; i < SOM_COLORMAP_N_ENTRIES; i++)
    {
      double rgb[3];
      guint key;

      som_colormap_entry (SOM_COLORMAP_DIVERGING, i, rgb);
      key = (guint) lrint (255 * rgb[0]) << 16 | (guint) lrint (255 * rgb[1]) << 8 | (guint) lrint (255 * rgb[2]);
      g_hash_table_insert (entries, GUINT_TO_POINTER (key + 1), GUINT_TO_POINTER (i + 1));
    }
  /* Cairo's ARGB32: B, G, R, A in memory on little-endian machines. */
  gdk_texture_download (texture, pixels, (gsize) width * 4);
  for (gsize p = 0; p < (gsize) width * height; p++)
    {
      const guint8 *px = pixels + 4 * p;
      guint key = (guint) px[2] << 16 | (guint) px[1] << 8 | px[0];
      guint index = GPOINTER_TO_UINT (g_hash_table_lookup (entries, GUINT_TO_POINTER (key + 1)));

      if (index == 0)
        g_error ("perturbation pixel %zu (#%06x) is not in the diverging colour map", p, key);
      extreme |= index == 1 || index == SOM_COLORMAP_N_ENTRIES;
    }
  g_assert_true (extreme);
}

/* The attack (FGSM by default) gives every input an adversarial prediction,
 * and every layer the BMUs of the adversarial codes, as the core finds them. */
static gboolean
layers_grouped_again (gpointer data)
{
  GListModel *rows = somscope_window_get_layer_rows (window);
  g_autoptr(GtkTreeListRow) row = g_list_model_get_item (rows, 0);
  g_autoptr(GObject) item = row ? gtk_tree_list_row_get_item (row) : NULL;

  return SOMSCOPE_IS_LAYER_GROUP (item);
}

/* The sidebar groups the layers by module (the demo's /stem, /layer1…), the
 * selected layer is shown (its groups opened), and the search lists the
 * layers whose names match. */
static guint search_rows_wanted;

static gboolean
search_applied (gpointer data)
{
  GListModel *rows = somscope_window_get_layer_rows (window);
  guint n = g_list_model_get_n_items (rows);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GtkTreeListRow) row = g_list_model_get_item (rows, i);
      g_autoptr(GObject) item = gtk_tree_list_row_get_item (row);
      if (!SOMSCOPE_IS_LAYER (item))
        return FALSE;
    }
  return n == search_rows_wanted;
}

static void
test_layer_tree (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *rows = somscope_window_get_layer_rows (window);
  GListModel *layers = somscope_document_get_layers (document);
  SomscopeLayer *selected = somscope_document_get_selected_layer (document);
  guint n = g_list_model_get_n_items (rows), groups = 0, below = 0, matching = 0;
  gboolean selected_shown = FALSE;

  g_assert_nonnull (selected);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GtkTreeListRow) row = g_list_model_get_item (rows, i);
      g_autoptr(GObject) item = gtk_tree_list_row_get_item (row);
      if (SOMSCOPE_IS_LAYER_GROUP (item) && gtk_tree_list_row_get_depth (row) == 0)
        {
          groups++;
          below += somscope_layer_group_get_n_layers (SOMSCOPE_LAYER_GROUP (item));
        }
      else if (gtk_tree_list_row_get_depth (row) == 0)
        below++;
      if (item == (GObject *) selected)
        {
          selected_shown = TRUE;
          g_assert_true (gtk_single_selection_get_selected (GTK_SINGLE_SELECTION (rows)) == i);
        }
    }
  g_assert_cmpuint (groups, >=, 3);
  g_assert_cmpuint (below, ==, g_list_model_get_n_items (layers));
  g_assert_true (selected_shown);

  for (guint i = 0; i < g_list_model_get_n_items (layers); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (layers, i);
      g_autofree char *name = g_utf8_strdown (somscope_layer_get_name (layer), -1);
      if (strstr (name, "relu") != NULL)
        matching++;
    }
  g_assert_cmpuint (matching, >, 0);
  search_rows_wanted = matching;
  gtk_editable_set_text (somscope_window_get_layer_search (window), "ReLU");
  wait_for (search_applied, NULL, "the layer search");
  gtk_editable_set_text (somscope_window_get_layer_search (window), "");
  search_rows_wanted = 0;
  wait_for (layers_grouped_again, NULL, "the layer tree after the search");
}

static void
test_attack (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *inputs = somscope_document_get_inputs (document);
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  g_autoptr(GdkTexture) adversarial = NULL;
  g_autoptr(GdkTexture) perturbation = NULL;
  guint flipped = 0;

  for (guint i = 0; i < g_list_model_get_n_items (inputs); i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (inputs, i);

      g_assert_cmpint (somscope_input_get_adversarial_prediction (input), >=, 0);
      flipped += somscope_input_get_adversarial_prediction (input) != somscope_input_get_prediction (input);
    }
  g_test_message ("%u of 300 predictions flipped", flipped);
  g_assert_cmpuint (flipped, >, 0);

  somscope_document_set_selected_input (document, 7);
  for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);
      const SomArray *codes = somscope_layer_get_adversarial_codes (layer)->array;
      g_autoptr(GError) error = NULL;
      gint32 bmu = -1;

      g_assert_nonnull (somscope_layer_get_adversarial_bmus (layer));
      g_assert_true (som_map_find_bmus (somscope_layer_get_map (layer),
                                        (const float *) codes->data + 7 * codes->shape[1], 1,
                                        codes->shape[1], &bmu, NULL, NULL, NULL, &error));
      g_assert_cmpint (somscope_layer_get_adversarial_bmu (layer), ==, bmu);
    }
  g_assert_true (somscope_document_get_adversarial_images (document, 7, &adversarial, &perturbation));
  g_assert_cmpint (gdk_texture_get_width (adversarial), ==, gdk_texture_get_width (perturbation));
  check_perturbation_colors (perturbation);
  somscope_document_set_selected_input (document, -1);
}

static gboolean
trajectory_rendered (gpointer data)
{
  return somscope_trajectory_view_get_texture (data) != NULL;
}

static void
assert_same_pixels (GdkTexture      *texture,
                    cairo_surface_t *surface)
{
  int width = cairo_image_surface_get_width (surface);
  int height = cairo_image_surface_get_height (surface);
  int stride = cairo_image_surface_get_stride (surface);
  g_autofree guchar *pixels = g_malloc ((gsize) stride * height);
  int differ = 0;

  g_assert_cmpint (gdk_texture_get_width (texture), ==, width);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, height);
  cairo_surface_flush (surface);
  gdk_texture_download (texture, pixels, stride);
  for (int y = 0; y < height; y++)
    differ += memcmp (pixels + (gsize) y * stride, cairo_image_surface_get_data (surface) + (gsize) y * stride,
                      (gsize) width * 4) != 0;
  g_assert_cmpint (differ, ==, 0);
}

/* The panel's drawing, made in its worker, is pixel for pixel what the core
 * renderer (the exporter's) draws of the same layers and BMUs. */
static void
assert_trajectory_drawn (SomscopeTrajectoryView *view)
{
  guint n = somscope_trajectory_view_get_n_layers (view);
  int width, height;
  g_autofree SomMapData *data = g_new0 (SomMapData, n);
  g_autofree int *clean = g_new0 (int, n);
  g_autofree int *adv = g_new0 (int, n);
  g_autofree double *distances = g_new0 (double, n);
  SomRenderOptions options;
  g_autoptr(GError) error = NULL;
  cairo_surface_t *surface;
  cairo_t *cr;

  wait_for (trajectory_rendered, view, "the trajectory's render");
  width = gtk_widget_get_width (GTK_WIDGET (view));
  height = gtk_widget_get_height (GTK_WIDGET (view));
  for (guint i = 0; i < n; i++)
    {
      g_assert_true (somscope_layer_get_map_data (somscope_trajectory_view_get_layer (view, i), &data[i]));
      clean[i] = somscope_trajectory_view_get_clean_bmu (view, i);
      adv[i] = somscope_trajectory_view_get_adversarial_bmu (view, i);
      distances[i] = somscope_trajectory_view_get_distance (view, i);
    }
  som_render_options_init (&options);
  options.font_size = 9;
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (surface);
  som_render_trajectory (cr, width, height, data, n, clean, adv,
                         somscope_trajectory_view_has_chart (view) ? distances : NULL,
                         somscope_trajectory_view_get_divergence_layer (view), &options, &error);
  g_assert_no_error (error);
  cairo_destroy (cr);
  assert_same_pixels (somscope_trajectory_view_get_texture (view), surface);
  cairo_surface_destroy (surface);
}

/* The first widget under @widget (itself included, depth first) that
 * @match accepts. */
static GtkWidget *
find_widget (GtkWidget     *widget,
             gboolean     (*match) (GtkWidget *, gconstpointer),
             gconstpointer  data)
{
  if (match (widget, data))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, match, data);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
has_css_class (GtkWidget     *widget,
               gconstpointer  css_class)
{
  return gtk_widget_has_css_class (widget, css_class);
}

static GtkWidget *
find_css_class (GtkWidget  *widget,
                const char *css_class)
{
  return find_widget (widget, has_css_class, css_class);
}

static gboolean
gallery_complete (gpointer data)
{
  GListModel *shown = G_LIST_MODEL (gtk_grid_view_get_model (data));

  return g_list_model_get_n_items (shown) == g_list_model_get_n_items (somscope_window_get_gallery (window));
}

/* The gallery gets its cells a row per frame, yet ends up showing every
 * input, and selects the selected one wherever it is. */
static void
test_gallery (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GtkWidget *gallery = find_css_class (GTK_WIDGET (window), "gallery");
  GtkSelectionModel *selection;
  GListModel *inputs = somscope_document_get_inputs (document);
  guint last = g_list_model_get_n_items (inputs) - 1;
  g_autoptr(SomscopeInput) item = NULL;

  g_assert_true (GTK_IS_GRID_VIEW (gallery));
  wait_for (gallery_complete, gallery, "every input in the gallery");
  selection = gtk_grid_view_get_model (GTK_GRID_VIEW (gallery));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (selection)), >, 2 * 12);
  somscope_document_set_selected_input (document, last);
  item = g_list_model_get_item (G_LIST_MODEL (selection),
                                gtk_single_selection_get_selected (GTK_SINGLE_SELECTION (selection)));
  g_assert_cmpuint (somscope_input_get_index (item), ==, last);
  somscope_document_set_selected_input (document, -1);
}

/* The trajectory panel draws, for the selected input, both BMUs on every
 * mapped layer (the core's, for the clean and the adversarial codes), their
 * grid distance and the first layer where they part. */
/* @widget's first event controller of @type (the widget owns it). */
static GtkEventController *
find_controller (GtkWidget *widget,
                 GType      type)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (controller, type))
        return controller;
    }
  return NULL;
}

/* Each layer's map in the trajectory is somewhere, and a click on it shows
 * that layer in the main view. */
static void
check_trajectory_clicks (SomscopeTrajectoryView *view)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  SomscopeLayer *before = somscope_document_get_selected_layer (document);
  GtkEventController *click = find_controller (GTK_WIDGET (view), GTK_TYPE_GESTURE_CLICK);
  guint n = somscope_trajectory_view_get_n_layers (view);
  int width = gtk_widget_get_width (GTK_WIDGET (view));
  int height = gtk_widget_get_height (GTK_WIDGET (view));
  g_autofree double *xs = g_new (double, n);
  g_autofree double *ys = g_new (double, n);
  g_autofree gboolean *found = g_new0 (gboolean, n);

  g_assert_nonnull (click);
  g_assert_cmpint (width, >, 0);
  for (int y = 0; y < height; y += 5)
    for (int x = 0; x < width; x += 5)
      {
        SomscopeLayer *layer = somscope_trajectory_view_layer_at (view, x, y);

        for (guint i = 0; layer != NULL && i < n; i++)
          if (!found[i] && somscope_trajectory_view_get_layer (view, i) == layer)
            {
              found[i] = TRUE;
              xs[i] = x;
              ys[i] = y;
            }
      }
  g_assert_null (somscope_trajectory_view_layer_at (view, width / 2, height - 2));
  for (guint i = 0; i < n; i++)
    {
      g_assert_true (found[i]);
      g_signal_emit_by_name (click, "released", 1, xs[i], ys[i]);
      g_assert_true (somscope_document_get_selected_layer (document) == somscope_trajectory_view_get_layer (view, i));
    }
  somscope_document_set_selected_layer (document, before);
}

static void
test_trajectory (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  SomscopeTrajectoryView *view = somscope_window_get_trajectory_view (window);
  guint inputs[] = { 7, 123 };

  for (guint k = 0; k < G_N_ELEMENTS (inputs); k++)
    {
      int divergence = -1;

      somscope_document_set_selected_input (document, inputs[k]);
      g_assert_cmpuint (somscope_trajectory_view_get_n_layers (view), ==, g_list_model_get_n_items (mapped));
      g_assert_true (somscope_trajectory_view_has_chart (view));
      for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
        {
          g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);
          SomMap *map = somscope_layer_get_map (layer);
          const SomArray *codes = somscope_layer_get_codes (layer)->array;
          const SomArray *adv_codes = somscope_layer_get_adversarial_codes (layer)->array;
          SomGrid *grid = som_map_get_grid (map);
          g_autoptr(GError) error = NULL;
          gint32 clean = -1, adv = -1;
          double cx, cy, ax, ay;

          g_assert_true (somscope_trajectory_view_get_layer (view, i) == layer);
          g_assert_true (som_map_find_bmus (map, (const float *) codes->data + inputs[k] * codes->shape[1], 1,
                                            codes->shape[1], &clean, NULL, NULL, NULL, &error));
          g_assert_true (som_map_find_bmus (map, (const float *) adv_codes->data + inputs[k] * adv_codes->shape[1],
                                            1, adv_codes->shape[1], &adv, NULL, NULL, NULL, &error));
          g_assert_no_error (error);
          g_assert_cmpint (somscope_trajectory_view_get_clean_bmu (view, i), ==, clean);
          g_assert_cmpint (somscope_trajectory_view_get_adversarial_bmu (view, i), ==, adv);
          /* The distance between the two units' grid positions, by hand. */
          som_grid_get_position (grid, clean, &cx, &cy);
          som_grid_get_position (grid, adv, &ax, &ay);
          g_assert_cmpfloat_with_epsilon (somscope_trajectory_view_get_distance (view, i),
                                          hypot (cx - ax, cy - ay), 1e-9);
          if (divergence < 0 && hypot (cx - ax, cy - ay) > 1.0 + 1e-9)
            divergence = i;
        }
      g_test_message ("input %u diverges at layer %d", inputs[k], divergence);
      g_assert_cmpint (somscope_trajectory_view_get_divergence_layer (view), ==, divergence);
      assert_trajectory_drawn (view);
      if (k == 0)
        check_trajectory_clicks (view);
    }
  somscope_document_set_selected_input (document, -1);
  g_assert_cmpint (somscope_trajectory_view_get_clean_bmu (view, 0), ==, -1);
  g_assert_false (somscope_trajectory_view_has_chart (view));
}

static gboolean
attack_in_core (gpointer data)
{
  SomscopeDocument *document = somscope_window_get_document (window);

  /* The core reports after each batch: the attack is inside its loop. */
  return somscope_document_get_attack_progress (document) > 0;
}

static gboolean
attack_done (gpointer data)
{
  SomscopeDocument *document = somscope_window_get_document (window);

  return !somscope_document_get_attacking (document) && !somscope_document_get_busy (document);
}

static GArray *
adversarial_predictions (SomscopeDocument *document)
{
  GListModel *inputs = somscope_document_get_inputs (document);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < g_list_model_get_n_items (inputs); i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (inputs, i);
      int p = somscope_input_get_adversarial_prediction (input);

      g_array_append_val (out, p);
    }
  return out;
}

/* A PGD attack started by new settings and stopped from the window (the
 * job bar's Stop) while it runs in the core's loop: the attack returns, the
 * app is idle, and everything is as the last finished attack left it: the
 * predictions, the summary, the maps, the selection.  The app then runs the
 * next attack to the end (the FGSM again, which gives the same results). */
static void
test_attack_cancel (void)
{
  GSettings *settings = somscope_application_get_settings (SOMSCOPE_APPLICATION (g_application_get_default ()));
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  g_autoptr(GArray) before = adversarial_predictions (document);
  g_autoptr(GArray) after = NULL;
  g_autoptr(GArray) again = NULL;
  g_autoptr(GPtrArray) maps = g_ptr_array_new ();
  g_autofree char *summary = NULL;
  g_autofree char *summary_after = NULL;

  g_object_get (document, "summary", &summary, NULL);
  for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);

      g_ptr_array_add (maps, somscope_layer_get_map (layer));
    }
  somscope_document_set_selected_input (document, 11);

  g_settings_set_int (settings, "attack-steps", 40);
  g_settings_set_enum (settings, "attack-method", 2);
  wait_for (attack_in_core, NULL, "the PGD attack to run");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel", NULL);
  wait_for (attack_done, NULL, "the attack to stop");

  after = adversarial_predictions (document);
  g_assert_cmpmem (after->data, after->len * sizeof (int), before->data, before->len * sizeof (int));
  g_object_get (document, "summary", &summary_after, NULL);
  g_assert_cmpstr (summary_after, ==, summary);
  g_assert_cmpint (somscope_document_get_selected_input (document), ==, 11);
  for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);

      g_assert_true (somscope_layer_get_map (layer) == g_ptr_array_index (maps, i));
      g_assert_cmpint (somscope_layer_get_status (layer), ==, SOMSCOPE_LAYER_STATUS_DONE);
      g_assert_nonnull (somscope_layer_get_adversarial_bmus (layer));
    }

  /* Back to FGSM: it runs to the end, as before. */
  g_settings_set_enum (settings, "attack-method", 1);
  g_settings_set_int (settings, "attack-steps", 10);
  somscope_document_attack (document);
  g_assert_true (somscope_document_get_attacking (document));
  wait_for (attack_done, NULL, "the FGSM attack");
  again = adversarial_predictions (document);
  g_assert_cmpmem (again->data, again->len * sizeof (int), before->data, before->len * sizeof (int));
  somscope_document_set_selected_input (document, -1);
}

/* Selecting an input marks, on every layer, the unit the core finds as its
 * best match for that input's code. */
static void
test_input_bmus (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  guint inputs[] = { 0, 17, 299 };

  for (guint k = 0; k < G_N_ELEMENTS (inputs); k++)
    {
      somscope_document_set_selected_input (document, inputs[k]);
      for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
        {
          g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);
          SomMap *map = somscope_layer_get_map (layer);
          const SomArray *codes = somscope_layer_get_codes (layer)->array;
          g_autoptr(GError) error = NULL;
          gint32 bmu = -1;

          g_assert_true (som_map_find_bmus (map, (const float *) codes->data + inputs[k] * codes->shape[1],
                                            1, codes->shape[1], &bmu, NULL, NULL, NULL, &error));
          g_assert_no_error (error);
          g_assert_cmpint (bmu, >=, 0);
          g_assert_cmpint (somscope_layer_get_input_bmu (layer), ==, bmu);
          g_assert_nonnull (somscope_layer_get_response (layer));
        }
    }
  somscope_document_set_selected_input (document, -1);
}

static gboolean
is_toggle_labelled (GtkWidget     *widget,
                    gconstpointer  label)
{
  return GTK_IS_TOGGLE_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0;
}

static GtkToggleButton *
find_toggle (GtkWidget  *widget,
             const char *label)
{
  return GTK_TOGGLE_BUTTON (find_widget (widget, is_toggle_labelled, label));
}

/* The class mix under the gallery's header, against one counted here from
 * the map's BMUs and the inputs' labels: "Unit 12 wins 40 inputs: ● Coat 30
 * · ● Shirt 10", most frequent first, ties in class order. */
static void
check_unit_mix (SomscopeDocument *document,
                guint             unit,
                guint             won)
{
  const char * const *names = somscope_document_get_class_names (document);
  GListModel *gallery = somscope_window_get_gallery (window);
  guint n_classes = g_strv_length ((char **) names);
  g_autofree guint *per_class = g_new0 (guint, n_classes);
  g_autoptr(GString) expected = g_string_new (NULL);
  guint listed = 0;

  for (guint i = 0; i < g_list_model_get_n_items (gallery); i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (gallery, i);
      int label = somscope_input_get_label (input);

      g_assert_cmpint (label, >=, 0);
      g_assert_cmpint (label, <, n_classes);
      per_class[label]++;
    }
  g_string_printf (expected, won == 1 ? "Unit %u wins %u input" : "Unit %u wins %u inputs", unit, won);
  while (listed < won)
    {
      guint top = 0;

      for (guint c = 1; c < n_classes; c++)
        if (per_class[c] > per_class[top])
          top = c;
      g_string_append_printf (expected, "%s●\u00a0%s\u00a0%u", listed == 0 ? ": " : " · ", names[top], per_class[top]);
      listed += per_class[top];
      per_class[top] = 0;
    }
  g_assert_cmpstr (somscope_window_get_unit_mix (window), ==, expected->str);
}

/* Clicking a unit (found by hit-testing its centre) filters the gallery to
 * the inputs that unit wins, and says their class mix. */
static void
test_unit_filter (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  SomscopeLayer *layer = somscope_document_get_selected_layer (document);
  SomscopeMapView *view = somscope_window_get_map_view (window);
  const SomArray *bmus = som_map_get_array (somscope_layer_get_map (layer), "bmus");
  const gint32 *b = bmus->data;
  GListModel *gallery = somscope_window_get_gallery (window);
  guint counts[8 * 10] = { 0 };
  guint best = 0;
  double x, y;

  wait_for (allocated, view, "the map view to show");
  for (gsize i = 0; i < bmus->shape[0]; i++)
    counts[b[i]]++;
  for (guint u = 0; u < G_N_ELEMENTS (counts); u++)
    if (counts[u] > counts[best])
      best = u;

  g_assert_true (somscope_map_view_get_unit_center (view, best, &x, &y));
  g_assert_cmpint (somscope_map_view_unit_at (view, x, y), ==, best);
  g_signal_emit_by_name (view, "unit-activated", (int) best);

  g_assert_cmpint (somscope_document_get_selected_unit (document), ==, best);
  g_assert_cmpint (somscope_map_view_get_selected_unit (view), ==, best);
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, counts[best]);
  for (guint i = 0; i < g_list_model_get_n_items (gallery); i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (gallery, i);

      g_assert_cmpint (b[somscope_input_get_index (input)], ==, best);
    }
  check_unit_mix (document, best, counts[best]);

  /* Off, the gallery shows every input again and the mix goes. */
  gtk_toggle_button_set_active (find_toggle (GTK_WIDGET (window), "_Won by Unit"), FALSE);
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, bmus->shape[0]);
  g_assert_null (somscope_window_get_unit_mix (window));
}

/* Whether @widget shows whole in the scrolled window around it. */
static gboolean
fully_visible (GtkWidget *widget)
{
  GtkWidget *scrolled = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
  graphene_rect_t bounds;

  return scrolled != NULL && gtk_widget_compute_bounds (widget, scrolled, &bounds) &&
         bounds.origin.x >= 0 && bounds.origin.y >= 0 &&
         bounds.origin.x + bounds.size.width <= gtk_widget_get_width (scrolled) &&
         bounds.origin.y + bounds.size.height <= gtk_widget_get_height (scrolled);
}

static void
find_compact_views (GtkWidget *widget,
                    GPtrArray *views)
{
  if (SOMSCOPE_IS_MAP_VIEW (widget))
    {
      gboolean compact;

      g_object_get (widget, "compact", &compact, NULL);
      if (compact && somscope_map_view_get_layer (SOMSCOPE_MAP_VIEW (widget)) != NULL &&
          gtk_widget_get_mapped (widget) && fully_visible (widget))
        g_ptr_array_add (views, widget);
      return;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    find_compact_views (child, views);
}

static GtkEventController *
find_motion_controller (GtkWidget *widget)
{
  return find_controller (widget, GTK_TYPE_EVENT_CONTROLLER_MOTION);
}

static gboolean
multiples_shown (gpointer data)
{
  g_ptr_array_set_size (data, 0);
  find_compact_views (GTK_WIDGET (window), data);
  return ((GPtrArray *) data)->len > 0;
}

/* The small multiples answer the pointer as the big map does: a unit's
 * centre picks the small map itself (it is a target), hovering outlines that
 * unit, and its tooltip describes it. */
static void
test_multiples_hover (void)
{
  g_autoptr(GPtrArray) views = g_ptr_array_new ();
  guint units[] = { 0, 37, 79 };

  wait_for (multiples_shown, views, "the small multiples");
  g_test_message ("%u small multiples in view", views->len);
  g_assert_cmpuint (views->len, >=, 3);
  for (guint v = 0; v < views->len; v++)
    {
      SomscopeMapView *view = g_ptr_array_index (views, v);
      GtkEventController *motion = find_motion_controller (GTK_WIDGET (view));

      g_assert_nonnull (motion);
      for (guint k = 0; k < G_N_ELEMENTS (units); k++)
        {
          g_autofree char *text = NULL;
          g_autofree char *expected = g_strdup_printf ("Unit %u", units[k]);
          double x, y, wx, wy;

          g_assert_true (somscope_map_view_get_unit_center (view, units[k], &x, &y));
          g_assert_cmpint (somscope_map_view_unit_at (view, x, y), ==, units[k]);
          g_assert_true (gtk_widget_translate_coordinates (GTK_WIDGET (view), GTK_WIDGET (window), x, y,
                                                           &wx, &wy));
          g_assert_true (gtk_widget_pick (GTK_WIDGET (window), wx, wy, GTK_PICK_DEFAULT) == GTK_WIDGET (view));

          g_signal_emit_by_name (motion, "motion", x, y);
          g_assert_cmpint (somscope_map_view_get_hover_unit (view), ==, units[k]);
          text = somscope_map_view_dup_unit_text (view, units[k]);
          g_assert_nonnull (strstr (text, expected));
          g_assert_nonnull (strstr (text, "Hits:"));
        }
      g_signal_emit_by_name (motion, "leave");
      g_assert_cmpint (somscope_map_view_get_hover_unit (view), ==, -1);
    }
}

static gboolean
is_type (GtkWidget     *widget,
         gconstpointer  type)
{
  return G_TYPE_CHECK_INSTANCE_TYPE (widget, GPOINTER_TO_SIZE (type));
}

/* The window's first widget of @type. */
static gpointer
find_in_window (GType type)
{
  GtkWidget *widget = find_widget (GTK_WIDGET (window), is_type, GSIZE_TO_POINTER (type));

  g_assert_nonnull (widget);
  return widget;
}

static SomscopeLayer *
find_mapped_layer (const char *op)
{
  GListModel *mapped = somscope_window_get_mapped_layers (window);

  for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);

      if (g_strcmp0 (somscope_layer_get_op (layer), op) == 0)
        return layer;
    }
  g_error ("no mapped %s layer", op);
}

/* The component plane's feature runs over the selected layer's features,
 * and the view shows the one chosen: its tooltip reads the codebook's
 * weight of that feature. */
static void
test_component_feature (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  SomscopeLayer *old_layer = somscope_document_get_selected_layer (document);
  AdwViewStack *stack = find_in_window (ADW_TYPE_VIEW_STACK);
  GtkSpinButton *spin = find_in_window (GTK_TYPE_SPIN_BUTTON);
  GtkAdjustment *adjustment = gtk_spin_button_get_adjustment (spin);
  const char *ops[] = { "GlobalAveragePool", "Gemm" };
  guint last = 0;

  adw_view_stack_set_visible_child_name (stack, "component");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (spin)));
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      SomscopeLayer *layer = find_mapped_layer (ops[i]);
      SomMap *map = somscope_layer_get_map (layer);
      SomscopeMapView *view;
      guint dim = som_map_get_dim (map), feature;
      g_autofree char *text = NULL;
      g_autofree char *expected = NULL;

      somscope_document_set_selected_layer (document, layer);
      view = somscope_window_get_map_view (window);
      g_assert_cmpfloat (gtk_adjustment_get_upper (adjustment), ==, dim - 1);
      g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (spin)));
      /* the pool's last feature is past the logits' range: it comes back to their last */
      g_assert_cmpfloat (gtk_adjustment_get_value (adjustment), ==, MIN (last, dim - 1));
      feature = dim - 1;
      gtk_spin_button_set_value (spin, feature);
      g_object_get (view, "feature", &last, NULL);
      g_assert_cmpuint (last, ==, feature);
      text = somscope_map_view_dup_unit_text (view, 7);
      expected = g_strdup_printf ("Feature %u: %.4g", feature, som_map_get_codebook (map)[7 * dim + feature]);
      g_assert_nonnull (strstr (text, expected));
      g_test_message ("%s: %u features, %s", somscope_layer_get_name (layer), dim, expected);
    }
  gtk_spin_button_set_value (spin, 0);
  adw_view_stack_set_visible_child_name (stack, "umatrix");
  somscope_document_set_selected_layer (document, old_layer);
}

static void
export_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GError **error = user_data;

  if (!somscope_export_finish (result, error) && *error == NULL)
    g_assert_not_reached ();
  if (*error == NULL)
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "done");
}

static gboolean
export_finished (gpointer data)
{
  return *(GError **) data != NULL;
}

static void
export_figure (GListModel      *layers,
               SomFigureFormat  format,
               SomscopeView     view,
               const char      *path)
{
  SomscopeExportOptions options;
  g_autoptr(GError) error = NULL;

  somscope_export_options_init (&options);
  options.format = format;
  options.view = view;
  somscope_export_async (layers, &options, path, NULL, export_done_cb, &error);
  wait_for (export_finished, &error, "the export");
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
}

static int
pdf_pages (const char *path)
{
  g_autofree char *out = NULL;
  g_autofree char *quoted = g_shell_quote (path);
  g_autofree char *command = g_strdup_printf ("pdfinfo %s", quoted);
  const char *pages;
  int status;

  g_assert_true (g_spawn_command_line_sync (command, &out, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  pages = strstr (out, "Pages:");
  g_assert_nonnull (pages);
  return atoi (pages + strlen ("Pages:"));
}

/* Every format, the selected layer alone and every mapped layer. */
static void
test_export (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  g_autoptr(GListStore) one = g_list_store_new (SOMSCOPE_TYPE_LAYER);
  const char *names[] = { "map.png", "map.svg", "map.pdf" };
  SomscopeView views[] = { SOMSCOPE_VIEW_UMATRIX, SOMSCOPE_VIEW_HITS, SOMSCOPE_VIEW_CLASSES };

  g_list_store_append (one, somscope_document_get_selected_layer (document));
  for (guint f = 0; f < G_N_ELEMENTS (names); f++)
    {
      g_autofree char *path = g_build_filename (tmpdir, names[f], NULL);
      g_autofree char *all = g_strdup_printf ("%s/all-%s", tmpdir, names[f]);
      g_autofree char *contents = NULL;
      gsize length;

      export_figure (G_LIST_MODEL (one), f, views[f], path);
      g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
      switch (f)
        {
        case SOM_FIGURE_PNG:
          {
            const guint8 *b = (const guint8 *) contents;

            g_assert_cmpmem (contents, 8, "\x89PNG\r\n\x1a\n", 8);
            /* IHDR width: 8.5 cm at 300 dpi */
            g_assert_cmpuint ((b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19], ==, 1004);
          }
          break;
        case SOM_FIGURE_SVG:
          g_assert_nonnull (strstr (contents, "<svg"));
          g_assert_nonnull (strstr (contents, "</svg>"));
          break;
        case SOM_FIGURE_PDF:
          g_assert_true (g_str_has_prefix (contents, "%PDF-"));
          g_assert_cmpint (pdf_pages (path), ==, 1);
          break;
        default:
          g_assert_not_reached ();
        }
      g_unlink (path);

      export_figure (mapped, f, SOMSCOPE_VIEW_UMATRIX, all);
      g_assert_true (g_file_test (all, G_FILE_TEST_IS_REGULAR));
      if (f == SOM_FIGURE_PDF)
        g_assert_cmpint (pdf_pages (all), ==, g_list_model_get_n_items (mapped));
      g_unlink (all);
    }
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_IS_REGULAR);
}

static void
save_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GError **error = user_data;

  if (somscope_document_save_finish (SOMSCOPE_DOCUMENT (object), result, error))
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "done");
}

static gboolean
adversarial_images_shown (gpointer data)
{
  g_autoptr(GdkTexture) adversarial = NULL;
  g_autoptr(GdkTexture) perturbation = NULL;

  return somscope_document_get_adversarial_images (somscope_window_get_document (window), GPOINTER_TO_UINT (data),
                                                   &adversarial, &perturbation);
}

/* The pixels of @texture, as Cairo's ARGB32 */
static guint8 *
texture_pixels (GdkTexture *texture)
{
  guint8 *pixels = g_malloc ((gsize) gdk_texture_get_width (texture) * gdk_texture_get_height (texture) * 4);

  gdk_texture_download (texture, pixels, (gsize) gdk_texture_get_width (texture) * 4);
  return pixels;
}

/* A saved session holds every mapped layer with the app's BMUs; the
 * autosave after training exists too. */
static void
test_save_session (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  g_autofree char *path = g_build_filename (tmpdir, "test.somscope", NULL);
  g_autofree char *autosave = somscope_document_autosave_path ();
  g_autoptr(SomSession) session = NULL;
  g_autoptr(GError) error = NULL;

  /* The autosave is written in a worker after the last map, not a job the
   * document waits for: on a loaded machine it may still be on its way. */
  wait_for (file_exists, autosave, "the autosave");
  g_assert_true (somscope_document_get_modified (document));
  somscope_document_save_async (document, path, NULL, save_done_cb, &error);
  wait_for (export_finished, &error, "the save");
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (somscope_document_get_modified (document));
  /* the subtitle names the session now, as when it is opened */
  g_assert_true (g_str_has_prefix (somscope_document_get_title (document), "test.somscope on "));
  g_assert_cmpstr (adw_window_title_get_subtitle (window->window_title), ==,
                   somscope_document_get_title (document));

  session = som_session_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_session_get_n_layers (session), ==, g_list_model_get_n_items (mapped));
  g_assert_cmpuint (som_session_get_n_inputs (session), ==, 300);
  for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);
      int position = som_session_find_layer (session, somscope_layer_get_index (layer));
      const SomArray *bmus;

      g_assert_cmpint (position, >=, 0);
      bmus = som_session_get_layer_array (session, position, SOM_LAYER_BMUS);
      g_assert_nonnull (bmus);
      for (guint k = 0; k < 300; k++)
        g_assert_cmpint (((const gint32 *) bmus->data)[k], ==, somscope_layer_get_bmu (layer, k));
      bmus = som_session_get_layer_array (session, position, SOM_LAYER_BMUS_ADVERSARIAL);
      g_assert_nonnull (bmus);
      g_assert_cmpint (((const gint32 *) bmus->data)[5], ==,
                       ((const gint32 *) somscope_layer_get_adversarial_bmus (layer)->data)[5]);
    }
  g_assert_nonnull (som_session_get_array (session, SOM_SESSION_ADVERSARIAL_PREDICTIONS));
  g_assert_nonnull (som_session_get_attack (session));

  /* Opened again, the session shows the same maps without training. */
  {
    g_autoptr(GFile) file = g_file_new_for_path (path);
    g_autoptr(GPtrArray) before = g_ptr_array_new_with_free_func (g_object_unref);
    g_autofree char *attack_summary = g_strdup (somscope_document_get_attack_summary (document));
    g_autoptr(GdkTexture) adversarial = NULL;
    g_autoptr(GdkTexture) perturbation = NULL;
    g_autoptr(GdkTexture) replayed = NULL;
    g_autoptr(GdkTexture) replayed_perturbation = NULL;
    GListModel *reopened;

    g_assert_true (somscope_document_get_adversarial_images (document, 9, &adversarial, &perturbation));

    g_assert_nonnull (attack_summary);
    g_assert_true (g_str_has_suffix (attack_summary, " of 300 flipped"));
    for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
      g_ptr_array_add (before, g_list_model_get_item (mapped, i));
    somscope_window_open (window, file, NULL);
    wait_for (other_document_ready, document, "the session to open");
    reopened = somscope_window_get_mapped_layers (window);
    g_assert_cmpuint (g_list_model_get_n_items (reopened), ==, before->len);
    g_assert_true (maps_trained (NULL));
    g_assert_false (somscope_document_get_busy (somscope_window_get_document (window)));
    for (guint i = 0; i < before->len; i++)
      {
        g_autoptr(SomscopeLayer) layer = g_list_model_get_item (reopened, i);
        SomscopeLayer *old = g_ptr_array_index (before, i);

        g_assert_cmpuint (somscope_layer_get_index (layer), ==, somscope_layer_get_index (old));
        g_assert_nonnull (somscope_layer_get_adversarial_bmus (layer));
        for (guint k = 0; k < 300; k++)
          g_assert_cmpint (somscope_layer_get_bmu (layer, k), ==, somscope_layer_get_bmu (old, k));
        g_assert_cmpmem (som_map_get_codebook (somscope_layer_get_map (layer)),
                         som_map_get_n_units (somscope_layer_get_map (layer)) * som_map_get_dim (somscope_layer_get_map (layer)) * sizeof (float),
                         som_map_get_codebook (somscope_layer_get_map (old)),
                         som_map_get_n_units (somscope_layer_get_map (old)) * som_map_get_dim (somscope_layer_get_map (old)) * sizeof (float));
      }
    g_assert_nonnull (somscope_input_get_thumbnail (g_list_model_get_item (somscope_window_get_gallery (window), 0)));
    /* the sidebar's attack line: the session's attack, not "No attack" */
    g_assert_cmpstr (somscope_document_get_attack_summary (somscope_window_get_document (window)), ==, attack_summary);

    /* The session keeps no images: the attack runs again on a selected
     * input, and gives the images the attack gave. */
    somscope_document_set_selected_input (somscope_window_get_document (window), 9);
    wait_for (adversarial_images_shown, GUINT_TO_POINTER (9), "the input's adversarial image");
    g_assert_true (somscope_document_get_adversarial_images (somscope_window_get_document (window), 9,
                                                             &replayed, &replayed_perturbation));
    g_assert_true (gtk_widget_get_visible (window->adversarial_box));
    {
      g_autofree guint8 *a = texture_pixels (adversarial), *b = texture_pixels (replayed);
      gsize n = (gsize) gdk_texture_get_width (adversarial) * gdk_texture_get_height (adversarial) * 4, differ = 0;

      g_assert_cmpint (gdk_texture_get_width (replayed), ==, gdk_texture_get_width (adversarial));
      g_assert_cmpint (gdk_texture_get_height (replayed), ==, gdk_texture_get_height (adversarial));
      for (gsize i = 0; i < n; i++)
        differ += a[i] != b[i];
      g_test_message ("the adversarial image run again: %zu of %zu bytes differ", differ, n);
      /* (a gradient of exactly zero in one sum order may not be in another) */
      g_assert_cmpuint (differ, <=, n / 100);
    }
  }
  g_unlink (path);
}

/* The @index-th GtkEntry under @widget, depth first. */
static GtkWidget *
find_entry (GtkWidget *widget,
            guint      index)
{
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();

  g_ptr_array_add (stack, widget);
  while (stack->len > 0)
    {
      GtkWidget *w = g_ptr_array_steal_index (stack, stack->len - 1);
      g_autoptr(GPtrArray) children = g_ptr_array_new ();

      if (GTK_IS_ENTRY (w) && index-- == 0)
        return w;
      for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
        g_ptr_array_add (children, c);
      while (children->len > 0)
        g_ptr_array_add (stack, g_ptr_array_steal_index (children, children->len - 1));
    }
  g_assert_not_reached ();
}

static gboolean
preprocess_dialog_shown (gpointer data)
{
  return somscope_window_get_preprocess_dialog (window) != NULL;
}

/* A model whose input does not fit the images (3×32×32 against 1×28×28)
 * proposes the fix, padding by 2; accepting it opens the model. */
static void
test_preprocessing (void)
{
  SomscopeDocument *before = somscope_window_get_document (window);
  g_autofree char *path = g_build_filename (g_getenv ("SOMSCOPE_SOURCE_DIR"), "tests", "data",
                                            "fixtures", "bnres.onnx", NULL);
  g_autoptr(GFile) model = g_file_new_for_path (path);
  GtkWidget *dialog;
  SomscopeDocument *after;

  g_assert_nonnull (somscope_document_get_dataset_file (before));
  somscope_window_open (window, model, somscope_document_get_dataset_file (before));
  wait_for (preprocess_dialog_shown, NULL, "the preprocessing dialog");
  g_assert_true (somscope_window_get_document (window) == before);
  dialog = somscope_window_get_preprocess_dialog (window);
  /* The dialog (a template) is prefilled with the fix: pad by 2, the
   * images' own scale; a field that does not parse names itself. */
  g_assert_true (SOMSCOPE_IS_PREPROCESS_DIALOG (dialog));
  {
    SomPreprocessOptions options;
    g_autoptr(GError) error = NULL;
    GtkWidget *resize = find_entry (dialog, 0);

    g_assert_true (somscope_preprocess_dialog_get_options (SOMSCOPE_PREPROCESS_DIALOG (dialog), &options, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (options.pad, ==, 2);
    g_assert_cmpuint (options.resize_height, ==, 0);
    gtk_editable_set_text (GTK_EDITABLE (resize), "32 by 32");
    g_assert_false (somscope_preprocess_dialog_get_options (SOMSCOPE_PREPROCESS_DIALOG (dialog), &options, &error));
    g_assert_nonnull (error);
    g_test_message ("bad resize: %s", error->message);
    gtk_editable_set_text (GTK_EDITABLE (resize), "");
  }
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "open");
  wait_for (other_document_ready, before, "the padded images to load");
  after = somscope_window_get_document (window);
  g_assert_cmpuint (somscope_document_get_preprocessing (after)->pad, ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (somscope_document_get_inputs (after)), ==, 300);
  wait_for (maps_trained, NULL, "the maps of the padded model");
}

/* "Bring your own" activations: a .npz of codes and labels maps without a
 * model; the maps' BMUs are the core's for those codes. */
static void
test_activations (void)
{
  SomscopeDocument *before = somscope_window_get_document (window);
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  g_autofree char *path = g_build_filename (tmpdir, "acts.npz", NULL);
  g_autoptr(SomNpzWriter) writer = som_npz_writer_new (path, FALSE, NULL);
  g_autoptr(SomscopeLayer) first = g_list_model_get_item (mapped, 0);
  g_autoptr(SomscopeLayer) second = g_list_model_get_item (mapped, 1);
  g_autoptr(SomArray) labels = som_array_new_1d_i32 (300);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  GListModel *layers;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 300; i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (somscope_document_get_inputs (before), i);

      ((gint32 *) labels->data)[i] = somscope_input_get_label (input);
    }
  g_assert_true (som_npz_writer_add_array (writer, "layer_001", somscope_layer_get_codes (first)->array, &error));
  g_assert_true (som_npz_writer_add_array (writer, "layer_002", somscope_layer_get_codes (second)->array, &error));
  g_assert_true (som_npz_writer_add_array (writer, "labels", labels, &error));
  g_assert_true (som_npz_writer_close (writer, &error));
  g_assert_no_error (error);

  somscope_window_open (window, file, NULL);
  wait_for (other_document_ready, before, "the activations to open");
  layers = somscope_document_get_layers (somscope_window_get_document (window));
  g_assert_cmpuint (g_list_model_get_n_items (layers), ==, 2);
  wait_for (maps_trained, NULL, "the maps of the activations");
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (layers, i);
      SomMap *map = somscope_layer_get_map (layer);
      const SomArray *codes = somscope_layer_get_codes (layer)->array;
      gint32 bmu = -1;

      g_assert_true (som_map_find_bmus (map, (const float *) codes->data + 42 * codes->shape[1], 1,
                                        codes->shape[1], &bmu, NULL, NULL, NULL, &error));
      g_assert_cmpint (somscope_layer_get_bmu (layer, 42), ==, bmu);
      g_assert_nonnull (som_map_get_array (map, "class_hits"));
    }
  /* The autosave may still be reading it: removed at the end. */
}

/* A corrupt model shows an error naming the file; the session stays. */
static void
test_corrupt_model (void)
{
  SomscopeDocument *before = somscope_window_get_document (window);
  guint n_layers = g_list_model_get_n_items (somscope_document_get_layers (before));
  g_autofree char *path = g_build_filename (tmpdir, "corrupt.onnx", NULL);
  g_autoptr(GFile) model = g_file_new_for_path (path);
  GFile *dataset = somscope_document_get_dataset_file (before);

  g_assert_true (g_file_set_contents (path, "\x08\x07\x12\x05junk\xff\xff\xff", 11, NULL));
  somscope_window_open (window, model, dataset);
  wait_for (error_shown, "corrupt.onnx", "the error");
  g_test_message ("error: %s", somscope_window_get_last_error (window));
  g_assert_nonnull (strstr (somscope_window_get_last_error (window), "corrupt.onnx"));
  g_assert_true (somscope_window_get_document (window) == before);
  g_assert_cmpuint (g_list_model_get_n_items (somscope_document_get_layers (before)), ==, n_layers);
  g_assert_true (maps_trained (NULL));

  /* The same dropped on the window, the dataset first. */
  {
    GtkEventController *target = find_controller (GTK_WIDGET (window), GTK_TYPE_DROP_TARGET);
    g_autofree char *dropped_path = g_build_filename (tmpdir, "dropped.onnx", NULL);
    g_autoptr(GFile) dropped = g_file_new_for_path (dropped_path);
    g_autoptr(GFile) demo_model = NULL;
    g_autoptr(GFile) demo_images = NULL;
    GFile *files[2];
    GValue value = G_VALUE_INIT;
    gboolean accepted = FALSE;

    /* (The document before may be of activations alone, with no images.) */
    g_assert_true (somscope_find_demo (&demo_model, &demo_images));
    files[0] = demo_images;
    files[1] = dropped;
    g_assert_nonnull (target);
    g_assert_true (g_file_set_contents (dropped_path, "\x08\x07\x12\x05junk\xff\xff\xff", 11, NULL));
    g_value_init (&value, GDK_TYPE_FILE_LIST);
    g_value_take_boxed (&value, gdk_file_list_new_from_array (files, G_N_ELEMENTS (files)));
    g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &accepted);
    g_value_unset (&value);
    g_assert_true (accepted);
    wait_for (error_shown, "dropped.onnx", "the dropped model's error");
    g_assert_true (somscope_window_get_document (window) == before);
    g_assert_true (maps_trained (NULL));
    g_unlink (dropped_path);
  }
  g_unlink (path);
}

static gboolean
maps_have_rows (gpointer data)
{
  GListModel *mapped = somscope_window_get_mapped_layers (window);

  if (!maps_trained (NULL))
    return FALSE;
  for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);

      if (som_grid_get_rows (som_map_get_grid (somscope_layer_get_map (layer))) != GPOINTER_TO_UINT (data))
        return FALSE;
    }
  return TRUE;
}

/* New map settings retrain the maps (debounced). */
static void
test_settings_retrain (void)
{
  GSettings *settings = somscope_application_get_settings (SOMSCOPE_APPLICATION (g_application_get_default ()));

  SomscopeDocument *document = somscope_window_get_document (window);
  SomscopeLayer *layer = somscope_document_get_selected_layer (document);
  GListModel *gallery = somscope_window_get_gallery (window);
  const SomArray *bmus;
  const gint32 *b;
  guint won = 0;

  /* The gallery shows the inputs unit 0 wins, and goes on doing so for the
   * map trained again. */
  somscope_document_set_selected_unit (document, 0);
  gtk_toggle_button_set_active (find_toggle (GTK_WIDGET (window), "_Won by Unit"), TRUE);

  g_settings_set_int (settings, "som-rows", 5);
  g_settings_set_int (settings, "som-rows", 6);
  wait_for (maps_have_rows, GUINT_TO_POINTER (6), "maps with 6 rows");

  g_assert_true (somscope_document_get_selected_layer (document) == layer);
  bmus = som_map_get_array (somscope_layer_get_map (layer), "bmus");
  b = bmus->data;
  for (gsize i = 0; i < bmus->shape[0]; i++)
    won += b[i] == 0;
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, won);
  for (guint i = 0; i < g_list_model_get_n_items (gallery); i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (gallery, i);

      g_assert_cmpint (b[somscope_input_get_index (input)], ==, 0);
    }
  check_unit_mix (document, 0, won);
  gtk_toggle_button_set_active (find_toggle (GTK_WIDGET (window), "_Won by Unit"), FALSE);
}

typedef struct
{
  SomscopeMapView *view;
  guint            updates;
  guint            crisp;
  guint            last_epoch;
  gboolean         in_order;
} LiveWatch;

static void
live_epoch_cb (SomscopeLayer *layer,
               GParamSpec    *pspec,
               LiveWatch     *w)
{
  SomMap *live = somscope_layer_get_live_map (layer);

  if (live == NULL)
    return;
  w->updates++;
  /* Coalesced: epochs may be skipped, never repeated or reordered. */
  w->in_order &= somscope_layer_get_live_epoch (layer) > w->last_epoch;
  w->last_epoch = somscope_layer_get_live_epoch (layer);
  /* Live redraws take the renderer's crisp mode. */
  if (somscope_map_view_get_crisp (w->view))
    w->crisp++;
  g_assert_nonnull (som_map_get_array (live, "umatrix"));
}

static gboolean
view_rendered (gpointer data)
{
  return somscope_map_view_get_rendered (data) && somscope_map_view_get_texture (data) != NULL;
}

/* The view's map, rendered in its worker, is pixel for pixel what the core
 * renderer (the exporter's) draws of the layer's trained map. */
static void
assert_view_shows_map (SomscopeMapView *view)
{
  SomscopeLayer *layer = somscope_map_view_get_layer (view);
  GdkTexture *texture;
  int width, height;
  cairo_surface_t *surface;
  cairo_t *cr;
  SomMapData data;
  SomRenderOptions options;

  wait_for (view_rendered, view, "the map view's render");
  /* The size it was rendered for: a current render is of the current size. */
  width = gtk_widget_get_width (GTK_WIDGET (view));
  height = gtk_widget_get_height (GTK_WIDGET (view));
  texture = somscope_map_view_get_texture (view);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, width);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, height);
  g_assert_true (somscope_layer_get_map_data (layer, &data));
  som_render_options_init (&options);
  options.font_size = 10;
  options.crisp = somscope_map_view_get_crisp (view);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (surface);
  g_assert_true (som_render_view (cr, width, height, SOM_VIEW_UMATRIX, &data, &options, NULL));
  cairo_destroy (cr);
  assert_same_pixels (texture, surface);
  cairo_surface_destroy (surface);
}

/* The response view before an input is chosen draws a message, and the
 * pointer moving over it finds no unit (it read the missing distances and
 * crashed the app). */
static void
test_response_hover (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  AdwViewStack *stack = find_in_window (ADW_TYPE_VIEW_STACK);
  SomscopeMapView *view;
  GtkEventController *motion;
  int width, height;

  somscope_document_set_selected_input (document, -1);
  adw_view_stack_set_visible_child_name (stack, "response");
  view = somscope_window_get_map_view (window);
  wait_for (allocated, view, "the response view");
  width = gtk_widget_get_width (GTK_WIDGET (view));
  height = gtk_widget_get_height (GTK_WIDGET (view));
  motion = find_motion_controller (GTK_WIDGET (view));
  g_assert_nonnull (motion);
  g_signal_emit_by_name (motion, "motion", width / 2.0, height / 2.0);
  g_assert_cmpint (somscope_map_view_get_hover_unit (view), ==, -1);
  g_assert_cmpint (somscope_map_view_unit_at (view, width / 2.0, height / 2.0), ==, -1);
  g_signal_emit_by_name (motion, "leave");
  adw_view_stack_set_visible_child_name (stack, "umatrix");
}

/* Zoomed, the map view magnifies the map alone, within its room: the
 * texture is the core's drawing with the same zoom and pan (whose colour bar
 * and title are those of the unzoomed drawing: test-figures), and a point
 * on the colour bar is no unit, whatever lies under it. */
static void
test_zoom (void)
{
  SomscopeMapView *view = somscope_window_get_map_view (window);
  SomscopeLayer *layer = somscope_map_view_get_layer (view);
  int width = gtk_widget_get_width (GTK_WIDGET (view));
  int height = gtk_widget_get_height (GTK_WIDGET (view));
  cairo_surface_t *surface;
  cairo_t *cr;
  SomMapData data;
  SomRenderOptions options;
  SomMapLayout layout;
  double rx, ry, rw, rh, cx, cy, ux, uy, uw, uh;
  const double zoom = 3;

  g_assert_true (somscope_layer_get_map_data (layer, &data));
  som_render_options_init (&options);
  options.font_size = 10;
  som_render_view_layout (width, height, SOM_VIEW_UMATRIX, &data, &options, &layout);
  som_render_view_map_room (width, height, SOM_VIEW_UMATRIX, &data, &options, &rx, &ry, &rw, &rh);

  somscope_map_view_set_zoom (view, zoom);
  g_assert_cmpfloat (somscope_map_view_get_zoom (view), ==, zoom);
  /* The pan the view chose, from where it puts unit 0. */
  g_assert_true (somscope_map_view_get_unit_center (view, 0, &cx, &cy));
  som_map_layout_unit_rect (&layout, 0, &ux, &uy, &uw, &uh);
  options.zoom = zoom;
  options.pan_x = cx - zoom * (ux + uw / 2);
  options.pan_y = cy - zoom * (uy + uh / 2);
  wait_for (view_rendered, view, "the zoomed map's render");
  options.crisp = somscope_map_view_get_crisp (view);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (surface);
  g_assert_true (som_render_view (cr, width, height, SOM_VIEW_UMATRIX, &data, &options, NULL));
  cairo_destroy (cr);
  assert_same_pixels (somscope_map_view_get_texture (view), surface);
  cairo_surface_destroy (surface);

  g_assert_cmpint (somscope_map_view_unit_at (view, rx + rw + 4, ry + rh / 2), ==, -1);
  g_assert_cmpint (somscope_map_view_unit_at (view, width / 2.0, height / 2.0), >=, 0);
  somscope_map_view_set_zoom (view, 1);
  wait_for (view_rendered, view, "the map's render");
}

/* While the maps retrain, the map view is handed the latest map after the
 * epochs, coalesced (superseded epochs dropped, never more than one update
 * per layer waiting), always ending with the last epoch before the final
 * one (whose codebook comes as the trained map), drawn crisp; once trained
 * it shows the final map, smooth, as the core renderer draws it. */
static void
test_live_training (void)
{
  GSettings *settings = somscope_application_get_settings (SOMSCOPE_APPLICATION (g_application_get_default ()));
  SomscopeMapView *view = somscope_window_get_map_view (window);
  SomscopeLayer *layer = somscope_map_view_get_layer (view);
  guint before = somscope_map_view_get_n_live_updates (view);
  LiveWatch w = { view, 0, 0, 0, TRUE };
  gulong id;

  g_assert_nonnull (layer);
  id = g_signal_connect (layer, "notify::live-epoch", G_CALLBACK (live_epoch_cb), &w);
  g_settings_set_int (settings, "som-epochs", 6);
  g_settings_set_int (settings, "som-rows", 7);
  wait_for (maps_have_rows, GUINT_TO_POINTER (7), "maps with 7 rows");
  g_signal_handler_disconnect (layer, id);

  g_test_message ("%u of 5 intermediate maps reached the view", somscope_map_view_get_n_live_updates (view) - before);
  g_assert_cmpuint (w.updates, >=, 1);
  g_assert_cmpuint (w.updates, <=, 6 - 1);
  g_assert_cmpuint (somscope_map_view_get_n_live_updates (view) - before, ==, w.updates);
  g_assert_true (w.in_order);
  g_assert_cmpuint (w.last_epoch, ==, 6 - 1);
  g_assert_cmpuint (w.crisp, ==, w.updates);
  g_assert_null (somscope_layer_get_live_map (layer));
  g_assert_false (somscope_map_view_get_crisp (view));
  g_assert_cmpuint (som_grid_get_rows (som_map_get_grid (somscope_layer_get_map (layer))), ==, 7);
  assert_view_shows_map (view);
}

static gboolean
is_label_text (GtkWidget     *widget,
               gconstpointer  text)
{
  return GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (widget)), text) == 0;
}

static SomscopeLayer *
find_layer_by_op (SomscopeDocument *document,
                  const char       *op,
                  gboolean          mapped)
{
  GListModel *layers = somscope_document_get_layers (document);

  for (guint i = 0; i < g_list_model_get_n_items (layers); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (layers, i);

      if (g_strcmp0 (somscope_layer_get_op (layer), op) == 0 && somscope_layer_get_mapped (layer) == mapped)
        return layer;
    }
  g_error ("no %s %s layer", mapped ? "mapped" : "unmapped", op);
}

static gboolean
in_model (GListModel *model,
          gpointer    item)
{
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(GObject) other = g_list_model_get_item (model, i);

      if (other == item)
        return TRUE;
    }
  return FALSE;
}

/* Whether a small multiple of the layer @data shows whole. */
static gboolean
multiple_in_view (gpointer data)
{
  g_autoptr(GPtrArray) views = g_ptr_array_new ();

  find_compact_views (GTK_WIDGET (window), views);
  for (guint i = 0; i < views->len; i++)
    if (somscope_map_view_get_layer (g_ptr_array_index (views, i)) == data)
      return TRUE;
  return FALSE;
}

static gboolean
has_adversarial_bmus (gpointer layer)
{
  return somscope_layer_get_adversarial_bmus (layer) != NULL;
}

/* Ticking a layer maps it and adds it to every view of the mapped layers
 * (the small multiples, scrolled to show it, and the trajectory, with the
 * adversarial twin's unit: the attack's images run through the model
 * again, which must give the codes the attack itself gave); unticking
 * takes it out. */
static void
test_tick_layers (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  SomscopeTrajectoryView *trajectory = somscope_window_get_trajectory_view (window);
  SomscopeLayer *conv = find_layer_by_op (document, "Conv", FALSE);
  SomscopeLayer *relu = find_layer_by_op (document, "Relu", TRUE);
  guint n = g_list_model_get_n_items (mapped);

  somscope_document_set_selected_input (document, 7);
  somscope_layer_set_mapped (conv, TRUE);
  g_assert_true (in_model (mapped, conv));
  wait_for (layers_done, document, "the new layer's map");
  g_assert_nonnull (somscope_layer_get_map (conv));
  g_assert_cmpuint (somscope_trajectory_view_get_n_layers (trajectory), ==, n + 1);
  wait_for (multiple_in_view, conv, "the new layer's small multiple in view");
  wait_for (has_adversarial_bmus, conv, "the new layer's adversarial BMUs");
  wait_for (document_idle, NULL, "the jobs to end");
  g_assert_true (somscope_trajectory_view_has_chart (trajectory));
  g_assert_cmpint (somscope_trajectory_view_get_adversarial_bmu (trajectory, 0), >=, 0);

  /* The recomputed codes of a layer the attack mapped are the attack's. */
  {
    g_autoptr(SomscopeCodes) attack_codes = somscope_codes_ref (somscope_layer_get_adversarial_codes (relu));
    const SomArray *again;

    somscope_layer_set_mapped (relu, FALSE);
    somscope_layer_set_adversarial_codes (relu, NULL);
    somscope_layer_set_mapped (relu, TRUE);
    wait_for (has_adversarial_bmus, relu, "the adversarial BMUs computed again");
    again = somscope_layer_get_adversarial_codes (relu)->array;
    g_assert_cmpuint (again->shape[0], ==, attack_codes->array->shape[0]);
    g_assert_cmpuint (again->shape[1], ==, attack_codes->array->shape[1]);
    for (gsize k = 0; k < som_array_n_elements (again); k++)
      g_assert_cmpfloat_with_epsilon (((const float *) again->data)[k],
                                      ((const float *) attack_codes->array->data)[k], 1e-5);
  }

  somscope_layer_set_mapped (relu, FALSE);
  g_assert_false (in_model (mapped, relu));
  g_assert_cmpuint (g_list_model_get_n_items (mapped), ==, n);
  g_assert_cmpuint (somscope_trajectory_view_get_n_layers (trajectory), ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_true (somscope_trajectory_view_get_layer (trajectory, i) != relu);

  /* As before: the first ReLU's map is still there, nothing to train. */
  somscope_layer_set_mapped (relu, TRUE);
  somscope_layer_set_mapped (conv, FALSE);
  g_assert_true (in_model (mapped, relu));
  g_assert_false (in_model (mapped, conv));
  g_assert_cmpuint (somscope_trajectory_view_get_n_layers (trajectory), ==, n);
  wait_for (document_idle, NULL, "the jobs to end");
  somscope_document_set_selected_input (document, -1);
}

/* The class dropdown turns the hit map into the hits of that class: on
 * screen (the core renderer's drawing of the class's hits, pixel for pixel,
 * and the tooltips' counts against the map's BMUs of the gallery's inputs,
 * which the same dropdown filters) and in the exported figure. */
static void
test_class_hits (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  SomscopeLayer *layer = somscope_document_get_selected_layer (document);
  AdwViewStack *stack = find_in_window (ADW_TYPE_VIEW_STACK);
  GtkDropDown *dropdown = find_in_window (GTK_TYPE_DROP_DOWN);
  GListModel *gallery = somscope_window_get_gallery (window);
  SomMap *map = somscope_layer_get_map (layer);
  const gint32 *bmus = som_map_get_array (map, "bmus")->data;
  guint n_units = som_grid_get_n_units (som_map_get_grid (map));
  g_autofree guint *counts = g_new0 (guint, n_units);
  g_autofree char *pdf = g_build_filename (tmpdir, "coat-hits.pdf", NULL);
  g_autofree char *quoted = g_shell_quote (pdf);
  g_autofree char *command = g_strdup_printf ("pdftotext %s -", quoted);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GListStore) one = g_list_store_new (SOMSCOPE_TYPE_LAYER);
  SomscopeExportOptions options;
  SomscopeMapView *view;
  SomMapData data;
  GtkWidget *empty;
  guint coat = 4, checked = 0;
  int klass, status, coatless = -1;

  g_assert_cmpstr (somscope_document_get_class_names (document)[coat], ==, "Coat");
  adw_view_stack_set_visible_child_name (stack, "hits");
  view = somscope_window_get_map_view (window);
  gtk_drop_down_set_selected (dropdown, coat + 1);
  g_object_get (view, "class", &klass, NULL);
  g_assert_cmpint (klass, ==, coat);

  /* Pixel for pixel the core's drawing of the coats' hits. */
  g_assert_true (somscope_layer_get_map_data (layer, &data));
  {
    g_autofree char *title = somscope_map_data_select_class (&data, coat);
    SomRenderOptions render;
    int width, height;
    cairo_surface_t *surface;
    cairo_t *cr;

    g_assert_cmpstr (title, ==, "hits of Coat");
    wait_for (allocated, view, "the hit map to show");
    wait_for (view_rendered, view, "the hit map's render");
    width = gtk_widget_get_width (GTK_WIDGET (view));
    height = gtk_widget_get_height (GTK_WIDGET (view));
    som_render_options_init (&render);
    render.font_size = 10;
    render.units = title;
    render.crisp = somscope_map_view_get_crisp (view);
    surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
    cr = cairo_create (surface);
    g_assert_true (som_render_view (cr, width, height, SOM_VIEW_HITS, &data, &render, NULL));
    cairo_destroy (cr);
    assert_same_pixels (somscope_map_view_get_texture (view), surface);
    cairo_surface_destroy (surface);
  }

  /* The tooltips count the coats each unit wins. */
  g_assert_cmpuint (g_list_model_get_n_items (gallery), >, 0);
  for (guint i = 0; i < g_list_model_get_n_items (gallery); i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (gallery, i);

      g_assert_cmpint (somscope_input_get_label (input), ==, coat);
      counts[bmus[somscope_input_get_index (input)]]++;
    }
  for (guint u = 0; u < n_units; u++)
    {
      g_autofree char *tip = somscope_map_view_dup_unit_text (view, u);
      g_autofree char *expected = g_strdup_printf ("Hits of Coat: %u", counts[u]);

      g_assert_nonnull (strstr (tip, expected));
      checked += counts[u] > 0;
    }
  g_test_message ("coats on %u of %u units of %s", checked, n_units, somscope_layer_get_name (layer));
  g_assert_cmpuint (checked, >, 1);

  /* A unit that wins inputs, but no coat: the gallery is empty and says why. */
  empty = find_widget (GTK_WIDGET (window), is_label_text, "No inputs match these filters");
  g_assert_nonnull (empty);
  g_assert_false (gtk_widget_get_visible (empty));
  for (guint u = 0; u < n_units && coatless < 0; u++)
    if (counts[u] == 0 && som_map_get_array (map, "hits") != NULL &&
        ((const gint32 *) som_map_get_array (map, "hits")->data)[u] > 0)
      coatless = u;
  g_assert_cmpint (coatless, >=, 0);
  g_signal_emit_by_name (view, "unit-activated", coatless);
  g_assert_cmpuint (g_list_model_get_n_items (gallery), ==, 0);
  g_assert_true (gtk_widget_get_visible (empty));
  gtk_toggle_button_set_active (find_toggle (GTK_WIDGET (window), "_Won by Unit"), FALSE);
  g_assert_false (gtk_widget_get_visible (empty));

  /* The exported figure says what it counts. */
  g_list_store_append (one, layer);
  somscope_export_options_init (&options);
  options.format = SOM_FIGURE_PDF;
  options.view = SOMSCOPE_VIEW_HITS;
  options.klass = klass;
  somscope_export_async (G_LIST_MODEL (one), &options, pdf, NULL, export_done_cb, &error);
  wait_for (export_finished, &error, "the export");
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_true (g_spawn_command_line_sync (command, &text, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (text, "hits of Coat"));

  /* All classes again: every input's hits. */
  gtk_drop_down_set_selected (dropdown, 0);
  g_object_get (view, "class", &klass, NULL);
  g_assert_cmpint (klass, ==, -1);
  {
    g_autofree char *tip = somscope_map_view_dup_unit_text (view, 0);

    g_assert_null (strstr (tip, "Hits of"));
  }
  adw_view_stack_set_visible_child_name (stack, "umatrix");
}

static gboolean
label_contains (GtkWidget  *widget,
                const char *text)
{
  if (GTK_IS_LABEL (widget) && strstr (gtk_label_get_label (GTK_LABEL (widget)), text) != NULL)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    if (label_contains (child, text))
      return TRUE;
  return FALSE;
}

static gboolean
autosave_error_shown (gpointer data)
{
  const char *last = somscope_window_get_last_error (window);

  return maps_have_rows (GUINT_TO_POINTER (6)) && last != NULL && strstr (last, data) != NULL &&
         label_contains (GTK_WIDGET (window), data);
}

/* A failed autosave (its file's place taken by a directory, which no
 * rename replaces, even as root) is shown in a toast naming the file and
 * the error; the maps it could not save stay, still modified. */
static void
test_autosave_error (void)
{
  GSettings *settings = somscope_application_get_settings (SOMSCOPE_APPLICATION (g_application_get_default ()));
  g_autofree char *path = somscope_document_autosave_path ();
  SomscopeDocument *document = somscope_window_get_document (window);
  const char *last;

  /* The previous training's autosave is written in a worker and may land
   * between the unlink and the mkdir: then again. */
  for (guint tries = 0; ; tries++)
    {
      g_unlink (path);
      if (g_mkdir_with_parents (path, 0700) == 0)
        break;
      g_assert_cmpuint (tries, <, 500);
      g_usleep (10000);
    }
  g_settings_set_int (settings, "som-rows", 6);
  wait_for (autosave_error_shown, path, "the autosave error in a toast");
  last = somscope_window_get_last_error (window);
  g_test_message ("%s", last);
  g_assert_nonnull (strstr (last, "autosave"));
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));
  g_assert_true (somscope_window_get_document (window) == document);
  g_assert_cmpint (somscope_document_get_state (document), ==, SOMSCOPE_DOCUMENT_STATE_READY);
  g_assert_true (somscope_document_get_modified (document));
  g_assert_true (maps_trained (NULL));
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

static guint
count_rows (GtkListBox *list)
{
  guint n = 0;

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (list)); row; row = gtk_widget_get_next_sibling (row))
    n++;
  return n;
}

/* Every file opened successfully goes to the top of the recent files, once;
 * failed opens and files gone since do not show; an entry opens its pair. */
static void
test_recent_files (void)
{
  GSettings *settings = somscope_application_get_settings (SOMSCOPE_APPLICATION (g_application_get_default ()));
  g_autoptr(GVariant) recent = g_settings_get_value (settings, "recent-files");
  GMenuModel *menu = somscope_window_get_recent_menu (window);
  SomscopeDocument *before = somscope_window_get_document (window);
  g_autoptr(GFile) demo_model = NULL;
  g_autoptr(GFile) demo_images = NULL;
  g_autofree char *demo_model_uri = NULL;
  g_autofree char *demo_images_uri = NULL;
  g_autofree char *acts = g_build_filename (tmpdir, "acts.npz", NULL);
  g_autofree char *session = g_build_filename (tmpdir, "test.somscope", NULL);
  g_autofree char *bnres = g_build_filename (g_getenv ("SOMSCOPE_SOURCE_DIR"), "tests", "data",
                                             "fixtures", "bnres.onnx", NULL);
  const char *expected[][2] = {
    { acts, NULL }, { bnres, "images" }, { session, NULL }, { "model", "images" },
  };
  g_autoptr(GVariant) target = NULL;
  g_autoptr(GVariant) first = NULL;

  g_assert_true (somscope_find_demo (&demo_model, &demo_images));
  demo_model_uri = g_file_get_uri (demo_model);
  demo_images_uri = g_file_get_uri (demo_images);

  /* Most recent first: the activations, the padded model, the session, the
   * demo; not the corrupt model. */
  g_assert_cmpuint (g_variant_n_children (recent), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      const char *model, *dataset;
      g_autofree char *model_uri = NULL;

      g_variant_get_child (recent, i, "(&s&s)", &model, &dataset);
      if (g_str_equal (expected[i][0], "model"))
        model_uri = g_strdup (demo_model_uri);
      else
        model_uri = g_filename_to_uri (expected[i][0], NULL, NULL);
      g_assert_cmpstr (model, ==, model_uri);
      g_assert_cmpstr (dataset, ==, expected[i][1] ? demo_images_uri : "");
    }

  /* The session file was deleted: the menu and the start page skip it. */
  g_assert_cmpint (g_menu_model_get_n_items (menu), ==, 3);
  g_assert_cmpuint (count_rows (somscope_window_get_recent_list (window)), ==, 3);
  target = g_menu_model_get_item_attribute_value (menu, 2, G_MENU_ATTRIBUTE_TARGET, G_VARIANT_TYPE ("(ss)"));
  g_assert_nonnull (target);
  {
    g_autofree char *label = NULL;

    g_assert_true (g_menu_model_get_item_attribute (menu, 2, G_MENU_ATTRIBUTE_LABEL, "s", &label));
    g_assert_true (g_str_has_prefix (label, "fashion-resnet.onnx on "));
  }

  /* Opening an entry opens that model with its images and moves it up. */
  gtk_widget_activate_action_variant (GTK_WIDGET (window), "win.open-recent", target);
  wait_for (other_document_ready, before, "the recent demo to open");
  g_assert_true (g_file_equal (somscope_document_get_model_file (somscope_window_get_document (window)), demo_model));
  g_assert_true (g_file_equal (somscope_document_get_dataset_file (somscope_window_get_document (window)), demo_images));
  first = g_settings_get_value (settings, "recent-files");
  {
    const char *model, *dataset;

    g_variant_get_child (first, 0, "(&s&s)", &model, &dataset);
    g_assert_cmpstr (model, ==, demo_model_uri);
    g_assert_cmpstr (dataset, ==, demo_images_uri);
    g_assert_cmpuint (g_variant_n_children (first), ==, G_N_ELEMENTS (expected));
  }
}

static void
on_activate (GApplication *app,
             gpointer      user_data)
{
  window = SOMSCOPE_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_nonnull (window);
  test_status = g_test_run ();
  g_application_quit (app);
}

/* Run as a user is: without CAP_SYS_NICE a thread may lower its priority
 * but never raise it back (root keeps the capability, so the tests drop it
 * first).  No thread of GLib's shared pool may be left below normal
 * priority: lowered for a job and left so, it would run GIO's file jobs
 * at idle priority.  The app's own workers are; its renders are not. */
static void
drop_cap_sys_nice (void)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];

  if (syscall (SYS_capget, &header, data) != 0)
    return;
  data[CAP_TO_INDEX (CAP_SYS_NICE)].effective &= ~CAP_TO_MASK (CAP_SYS_NICE);
  data[CAP_TO_INDEX (CAP_SYS_NICE)].permitted &= ~CAP_TO_MASK (CAP_SYS_NICE);
  g_assert_cmpint (syscall (SYS_capset, &header, data), ==, 0);
}

/* Images without labels (the demo's, copied away from their labels file):
 * the classes are the model's, "0" to "9", each input reads as the model's
 * answer, and the attack pushes away from it. */
static void
test_unlabelled (void)
{
  SomscopeDocument *before = somscope_window_get_document (window);
  g_autofree char *path = g_build_filename (tmpdir, "images-idx3-ubyte.gz", NULL);
  g_autoptr(GFile) demo_model = NULL;
  g_autoptr(GFile) demo_images = NULL;
  g_autoptr(GFile) images = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  SomscopeDocument *document;
  const char * const *names;
  GListModel *inputs;

  g_assert_true (somscope_find_demo (&demo_model, &demo_images));
  g_assert_true (g_file_copy (demo_images, images, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  somscope_window_open (window, demo_model, images);
  wait_for (other_document_ready, before, "the unlabelled images");
  document = somscope_window_get_document (window);
  names = somscope_document_get_class_names (document);
  g_assert_cmpuint (g_strv_length ((char **) names), ==, 10);
  g_assert_cmpstr (names[0], ==, "0");
  g_assert_cmpstr (names[9], ==, "9");
  inputs = somscope_document_get_inputs (document);
  g_assert_cmpuint (g_list_model_get_n_items (inputs), >, 0);
  for (guint i = 0; i < g_list_model_get_n_items (inputs); i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (inputs, i);
      g_autofree char *caption = NULL;
      g_autofree char *expected = NULL;
      int prediction = somscope_input_get_prediction (input);

      g_assert_cmpint (somscope_input_get_label (input), ==, -1);
      g_assert_cmpint (prediction, >=, 0);
      g_assert_cmpint (prediction, <, 10);
      g_assert_false (somscope_input_get_misclassified (input));
      g_object_get (input, "caption", &caption, NULL);
      expected = g_strdup_printf ("→ %d", prediction);
      g_assert_cmpstr (caption, ==, expected);
    }
  wait_for (attack_done, NULL, "the attack on the unlabelled images");
  g_unlink (path);
}

/* Writes @n_classes subfolders of @folder, each with @per_class 28×28 PNGs */
static void
write_image_folder (const char *folder,
                    guint       n_classes,
                    guint       per_class)
{
  for (guint c = 0; c < n_classes; c++)
    for (guint i = 0; i < per_class; i++)
      {
        g_autofree char *class_name = g_strdup_printf ("class%02u", c);
        g_autofree char *dir = g_build_filename (folder, class_name, NULL);
        g_autofree char *name = g_strdup_printf ("%u.png", i);
        g_autofree char *path = g_build_filename (dir, name, NULL);
        cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 28, 28);
        cairo_t *cr = cairo_create (surface);

        g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
        cairo_set_source_rgb (cr, 0.1 * i, 0.08 * c, 0.5);
        cairo_paint (cr);
        cairo_set_source_rgb (cr, 1, 1, 1);
        cairo_rectangle (cr, c, i, 10, 14);
        cairo_fill (cr);
        cairo_destroy (cr);
        g_assert_cmpint (cairo_surface_write_to_png (surface, path), ==, CAIRO_STATUS_SUCCESS);
        cairo_surface_destroy (surface);
      }
}

/* The chooser a GtkFileChooserNative shows where there is no portal */
static GtkFileChooser *
find_file_chooser (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) toplevel = g_list_model_get_item (toplevels, i);

      if (GTK_IS_FILE_CHOOSER (toplevel) && gtk_widget_get_visible (toplevel))
        return GTK_FILE_CHOOSER (toplevel);
    }
  return NULL;
}

static gboolean
file_chooser_shown (gpointer data)
{
  return find_file_chooser () != NULL;
}

/* The chooser's folder changes asynchronously */
static gboolean
file_chosen (gpointer data)
{
  g_autoptr(GFile) chosen = gtk_file_chooser_get_file (find_file_chooser ());

  return chosen != NULL && g_file_equal (chosen, data);
}

/* A folder of images, one subfolder per class, opens from the Open menu
 * (the dataset chooser would enter a folder instead of choosing it). */
G_GNUC_UNUSED static void
test_open_image_folder (void)
{
  SomscopeDocument *before = somscope_window_get_document (window);
  g_autofree char *folder = g_build_filename (tmpdir, "images", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (folder);
  GtkFileChooser *chooser;
  SomscopeDocument *document;
  const char * const *names;

  write_image_folder (folder, 2, 3);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-image-folder", NULL));
  wait_for (file_chooser_shown, NULL, "the folder chooser");
  chooser = find_file_chooser ();
  g_assert_cmpint (gtk_file_chooser_get_action (chooser), ==, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
  /* in a folder chooser with nothing selected, the folder it shows */
  g_assert_true (gtk_file_chooser_set_current_folder (chooser, file, NULL));
  wait_for (file_chosen, file, "the chooser in the folder");
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
  wait_for (other_document_ready, before, "the image folder");
  document = somscope_window_get_document (window);
  g_assert_true (g_file_equal (somscope_document_get_dataset_file (document), file));
  g_assert_cmpuint (g_list_model_get_n_items (somscope_document_get_inputs (document)), ==, 6);
  names = somscope_document_get_class_names (document);
  g_assert_cmpuint (g_strv_length ((char **) names), ==, 2);
  g_assert_cmpstr (names[0], ==, "class00");
  g_assert_cmpstr (names[1], ==, "class01");
  g_assert_null (find_file_chooser ());
  wait_for (attack_done, NULL, "the attack on the folder's images");
}

/* An image folder whose classes are not the model's (twelve folders beside
 * ten outputs): no accuracy, and the attack pushes away from the model's own
 * answers instead of failing on a label the model does not have. */
static void
test_foreign_classes (void)
{
  SomscopeDocument *before = somscope_window_get_document (window);
  g_autofree char *folder = g_build_filename (tmpdir, "foreign-classes", NULL);
  g_autoptr(GFile) model = NULL;
  g_autoptr(GFile) images = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (folder);
  SomscopeDocument *document;
  GListModel *inputs;
  const char *summary;

  write_image_folder (folder, 12, 2);
  g_assert_true (somscope_find_demo (&model, &images));
  somscope_window_open (window, model, file);
  wait_for (other_document_ready, before, "the folder of twelve classes");
  document = somscope_window_get_document (window);
  g_assert_cmpuint (g_strv_length ((char **) somscope_document_get_class_names (document)), ==, 12);
  /* no accuracy: the folder's classes are not the model's */
  g_assert_nonnull (strstr (somscope_document_get_summary (document), "24 images · 12 classes, not the model's 10"));
  wait_for (attack_done, NULL, "the attack on the folder's images");
  summary = somscope_document_get_attack_summary (document);
  g_test_message ("attack: %s", summary);
  g_assert_nonnull (summary);
  g_assert_true (g_str_has_suffix (summary, " of 24 flipped"));
  inputs = somscope_document_get_inputs (document);
  for (guint i = 0; i < g_list_model_get_n_items (inputs); i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (inputs, i);
      g_autofree char *caption = NULL;
      g_autofree char *expected = NULL;

      g_assert_cmpint (somscope_input_get_adversarial_prediction (input), >=, 0);
      g_assert_cmpint (somscope_input_get_adversarial_prediction (input), <, 10);
      /* the model's answer by its number, not by a folder's name; never
       * "misclassified" against a class the model does not have */
      g_object_get (input, "caption", &caption, NULL);
      expected = g_strdup_printf ("class%02d → %d", somscope_input_get_label (input),
                                  somscope_input_get_prediction (input));
      g_assert_cmpstr (caption, ==, expected);
      g_assert_false (somscope_input_get_misclassified (input));
      g_free (expected);
      expected = g_strdup_printf ("%d", somscope_input_get_adversarial_prediction (input));
      g_assert_cmpstr (somscope_document_get_model_class_name (document, somscope_input_get_adversarial_prediction (input)),
                       ==, expected);
    }
}

static void
test_thread_priorities (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  guint lowered = 0, renders = 0;
  /* Kernels with custom slices (Linux 6.12 on) report this thread's. */
  gboolean kernel_slices = somscope_sched_get_slice ((int) syscall (SYS_gettid)) != 0;

  /* The jobs so far (load, training, extraction, attacks, autosave) are done. */
  wait_for (attack_done, NULL, "the app to be idle");
  g_assert_nonnull (dir);
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
      g_autofree char *name = NULL;
      int id = atoi (tid);
      int policy = sched_getscheduler (id);
      int nice;

      errno = 0;
      nice = getpriority (PRIO_PROCESS, (id_t) id);
      if (!g_file_get_contents (path, &name, NULL, NULL) || errno != 0)
        continue;
      g_strchomp (name);
      /* The renders run just below the main thread, never at idle priority. */
      if (g_str_equal (name, "somscope-render"))
        {
          g_assert_cmpint (policy, ==, SCHED_OTHER);
          g_assert_cmpint (nice, <=, 5);
          /* With a long slice, so that they never take the core from the
           * main thread (somscope-render-job.c), set without privileges. */
          if (kernel_slices)
            g_assert_cmpuint (somscope_sched_get_slice (id), ==, 100 * 1000 * 1000);
          renders++;
          continue;
        }
      if (policy == SCHED_OTHER && nice == 0)
        continue;
      g_test_message ("thread %s (%s): policy %d, nice %d", tid, name, policy, nice);
      /* GLib's shared pool (GTask, GIO) is named "pool-…" */
      g_assert_false (g_str_has_prefix (name, "pool-"));
      lowered += g_str_has_prefix (name, "somscope-");
    }
  /* The workers were there, and lowered; the renders' threads were not. */
  g_assert_cmpuint (lowered, >, 0);
  g_assert_cmpuint (renders, >, 0);
}

/* The selected input's trajectory exports as the trajectory panel draws
 * it (the export dialog offers it only with an input selected): the title,
 * the markers' legend, the distance chart. */
static void
test_export_trajectory (void)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  SomscopeTrajectoryView *view = somscope_window_get_trajectory_view (window);
  SomscopeLayer *layer = somscope_document_get_selected_layer (document);
  g_autofree char *pdf = g_build_filename (tmpdir, "trajectory.pdf", NULL);
  g_autofree char *png = g_build_filename (tmpdir, "trajectory.png", NULL);
  g_autofree char *quoted = g_shell_quote (pdf);
  g_autofree char *command = g_strdup_printf ("pdftotext %s -", quoted);
  g_autofree char *text = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  SomscopeExportOptions options;
  GtkWidget *dialog;
  GListModel *choices;
  gsize length;
  int status;

  /* No input, no trajectory to offer. */
  somscope_document_set_selected_input (document, -1);
  dialog = somscope_export_dialog_new (window, layer, somscope_window_get_mapped_layers (window),
                                       SOMSCOPE_VIEW_UMATRIX, 0, -1, view, NULL);
  choices = adw_combo_row_get_model (ADW_COMBO_ROW (find_widget (dialog, is_type,
                                                                   GSIZE_TO_POINTER (ADW_TYPE_COMBO_ROW))));
  g_assert_cmpuint (g_list_model_get_n_items (choices), ==, 2);
  gtk_window_destroy (GTK_WINDOW (dialog));

  somscope_document_set_selected_input (document, 7);
  g_assert_true (somscope_trajectory_view_has_chart (view));
  dialog = somscope_export_dialog_new (window, layer, somscope_window_get_mapped_layers (window),
                                       SOMSCOPE_VIEW_UMATRIX, 0, -1, view, "Image 7");
  choices = adw_combo_row_get_model (ADW_COMBO_ROW (find_widget (dialog, is_type,
                                                                   GSIZE_TO_POINTER (ADW_TYPE_COMBO_ROW))));
  g_assert_cmpuint (g_list_model_get_n_items (choices), ==, 3);
  gtk_window_destroy (GTK_WINDOW (dialog));

  somscope_export_options_init (&options);
  options.format = SOM_FIGURE_PDF;
  somscope_export_trajectory_async (view, &options, "Image 7", pdf, NULL, export_done_cb, &error);
  wait_for (export_finished, &error, "the trajectory's export");
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (g_spawn_command_line_sync (command, &text, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (text, "Image 7"));
  g_assert_nonnull (strstr (text, "clean BMU"));
  g_assert_nonnull (strstr (text, "adversarial BMU"));
  g_assert_nonnull (strstr (text, "BMU distance"));

  options.format = SOM_FIGURE_PNG;
  somscope_export_trajectory_async (view, &options, "Image 7", png, NULL, export_done_cb, &error);
  wait_for (export_finished, &error, "the trajectory's export");
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_true (g_file_get_contents (png, &contents, &length, NULL));
  g_assert_cmpmem (contents, 8, "\x89PNG\r\n\x1a\n", 8);
  /* IHDR width: 8.5 cm at 300 dpi */
  g_assert_cmpuint (GUINT32_FROM_BE (*(guint32 *) (contents + 16)), ==, 1004);
  somscope_document_set_selected_input (document, -1);
}

int
main (int argc, char **argv)
{
  g_autoptr(SomscopeApplication) app = NULL;
  GSettings *settings;
  int status;

  drop_cap_sys_nice ();
  gtk_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("somscope-test-XXXXXX", NULL);

  app = somscope_application_new ();
  /* Small maps on part of the demo keep the test quick. */
  settings = somscope_application_get_settings (app);
  g_settings_set_int (settings, "image-limit", 300);
  g_settings_set_int (settings, "som-rows", 8);
  g_settings_set_int (settings, "som-cols", 10);
  g_settings_set_int (settings, "som-epochs", 5);

  g_test_add_func ("/app/demo-maps", test_demo_maps);
  g_test_add_func ("/app/held-jobs", test_held_jobs);
  g_test_add_func ("/app/layer-tree", test_layer_tree);
  g_test_add_func ("/app/gallery", test_gallery);
  g_test_add_func ("/app/attack", test_attack);
  g_test_add_func ("/app/trajectory", test_trajectory);
  g_test_add_func ("/app/attack-cancel", test_attack_cancel);
  g_test_add_func ("/app/input-bmus", test_input_bmus);
  g_test_add_func ("/app/unit-filter", test_unit_filter);
  g_test_add_func ("/app/multiples-hover", test_multiples_hover);
  g_test_add_func ("/app/zoom", test_zoom);
  g_test_add_func ("/app/response-hover", test_response_hover);
  g_test_add_func ("/app/component-feature", test_component_feature);
  g_test_add_func ("/app/class-hits", test_class_hits);
  g_test_add_func ("/app/tick-layers", test_tick_layers);
  g_test_add_func ("/app/export", test_export);
  g_test_add_func ("/app/export-trajectory", test_export_trajectory);
  g_test_add_func ("/app/save-session", test_save_session);
  g_test_add_func ("/app/preprocessing", test_preprocessing);
  g_test_add_func ("/app/activations", test_activations);
  g_test_add_func ("/app/corrupt-model", test_corrupt_model);
  g_test_add_func ("/app/settings-retrain", test_settings_retrain);
  g_test_add_func ("/app/live-training", test_live_training);
  g_test_add_func ("/app/autosave-error", test_autosave_error);
  g_test_add_func ("/app/recent-files", test_recent_files);
  g_test_add_func ("/app/thread-priorities", test_thread_priorities);
  g_test_add_func ("/app/unlabelled", test_unlabelled);
  g_test_add_func ("/app/foreign-classes", test_foreign_classes);
#ifndef __SANITIZE_ADDRESS__
  /* Not under AddressSanitizer (suite ui-sanitize): GTK 4.8's file chooser
   * leaks the results of the queries it cancels as it closes (a GFileInfo,
   * a GError; stacks of GIO's threads without symbols, which no suppression
   * can name).  The ui suite runs it. */
  g_test_add_func ("/app/open-image-folder", test_open_image_folder);
#endif

  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate), NULL);
  status = g_application_run (G_APPLICATION (app), 1, argv);
  {
    g_autofree char *acts = g_build_filename (tmpdir, "acts.npz", NULL);

    g_unlink (acts);
  }
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return status != 0 ? status : test_status;
}
