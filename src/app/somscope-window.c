/* somscope-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <glib/gi18n.h>

#include "som-colormap.h"
#include "somscope-layer-group.h"
#include "somscope-layer-row.h"
#include "somscope-preprocess-dialog.h"
#include "somscope-upload-pool.h"
#include "somscope-window-private.h"
#include "somscope-window-session.h"

enum {
  PROP_0,
  PROP_DOCUMENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (SomscopeWindow, somscope_window, ADW_TYPE_APPLICATION_WINDOW)

static SomscopeMapView *
all_views (SomscopeWindow *self,
           guint           i)
{
  SomscopeMapView *views[] = {
    self->umatrix_view, self->hits_view, self->classes_view,
    self->component_view, self->response_view,
  };

  return i < G_N_ELEMENTS (views) ? views[i] : NULL;
}

#define foreach_view(self, view) \
  for (guint _i = 0; ((view) = all_views ((self), _i)) != NULL; _i++)

static guint
find_position (GListModel *model,
               gpointer    item)
{
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) other = g_list_model_get_item (model, i);

      if (other == item)
        return i;
    }
  return GTK_INVALID_LIST_POSITION;
}

/* List cells built in C rather than by a GtkBuilderListItemFactory, which
 * parses its XML again for every cell: showing a document creates a few
 * hundred of them, and that parsing was most of the frame it happened in. */
static GBindingGroup *
cell_bindings (GtkListItem *item)
{
  GBindingGroup *group = g_binding_group_new ();

  g_object_set_data_full (G_OBJECT (item), "somscope-bindings", group, g_object_unref);
  return group;
}

/* Cells' tooltips are asked for when shown rather than set: on X11, GTK 4.8
 * asks the server where the pointer is whenever a visible widget's tooltip
 * text is set, a round trip for each of the hundreds of cells a list
 * makes, in the frame that shows a document and every time a cell is
 * bound.  @property names the string property of the cell's item that is
 * the tooltip. */
static gboolean
cell_query_tooltip_cb (GtkWidget  *widget,
                       int         x,
                       int         y,
                       gboolean    keyboard,
                       GtkTooltip *tooltip,
                       gpointer    user_data)
{
  GtkListItem *item = user_data;
  const char *property = g_object_get_data (G_OBJECT (widget), "somscope-tooltip");
  gpointer thing = gtk_list_item_get_item (item);
  g_autofree char *text = NULL;

  if (thing == NULL)
    return FALSE;
  g_object_get (thing, property, &text, NULL);
  if (text == NULL || *text == '\0')
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
cell_tooltip (GtkListItem *item,
              GtkWidget   *widget,
              const char  *property)
{
  g_object_set_data (G_OBJECT (widget), "somscope-tooltip", (gpointer) property);
  gtk_widget_set_has_tooltip (widget, TRUE);
  g_signal_connect (widget, "query-tooltip", G_CALLBACK (cell_query_tooltip_cb), item);
}

/* A tooltip set while the widget is hidden, which asks the server nothing;
 * the caller (or a binding) shows it. */
static void
hidden_tooltip (GtkWidget  *widget,
                const char *text)
{
  gtk_widget_set_visible (widget, FALSE);
  gtk_widget_set_tooltip_text (widget, text);
}

static gboolean
boolean_to_opacity (GBinding     *binding,
                    const GValue *from,
                    GValue       *to,
                    gpointer      user_data)
{
  g_value_set_double (to, g_value_get_boolean (from) ? 1.0 : 0.0);
  return TRUE;
}

/* A widget shown by opacity (a mark, the job line): out of sight, out of
 * the accessibility tree. */
static void
hidden_by_opacity_cb (GtkWidget  *widget,
                      GParamSpec *pspec,
                      gpointer    user_data)
{
  gtk_accessible_update_state (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_STATE_HIDDEN,
                               gtk_widget_get_opacity (widget) == 0.0, -1);
}

static void
gallery_setup_cb (GtkSignalListItemFactory *factory,
                  GtkListItem              *item,
                  SomscopeWindow           *self)
{
  GBindingGroup *bindings = cell_bindings (item);
  GtkWidget *overlay = gtk_overlay_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *picture = gtk_picture_new ();
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *wrong = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
  GtkWidget *flipped = gtk_image_new_from_icon_name ("emblem-important-symbolic");

  gtk_widget_add_css_class (box, "input-cell");
  gtk_widget_set_size_request (picture, 56, 56);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), FALSE);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 9);
  gtk_widget_add_css_class (label, "caption");
  gtk_box_append (GTK_BOX (box), picture);
  gtk_box_append (GTK_BOX (box), label);
  gtk_overlay_set_child (GTK_OVERLAY (overlay), box);

  gtk_widget_set_halign (wrong, GTK_ALIGN_END);
  gtk_widget_set_valign (wrong, GTK_ALIGN_START);
  hidden_tooltip (wrong, _("Misclassified"));
  gtk_widget_add_css_class (wrong, "misclassified-mark");
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), wrong);
  gtk_widget_set_halign (flipped, GTK_ALIGN_START);
  gtk_widget_set_valign (flipped, GTK_ALIGN_START);
  hidden_tooltip (flipped, _("Flipped by the attack"));
  gtk_widget_add_css_class (flipped, "flipped-mark");
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), flipped);

  g_binding_group_bind (bindings, "thumbnail", picture, "paintable", G_BINDING_SYNC_CREATE);
  g_binding_group_bind (bindings, "caption", picture, "alternative-text", G_BINDING_SYNC_CREATE);
  g_binding_group_bind (bindings, "caption", label, "label", G_BINDING_SYNC_CREATE);
  cell_tooltip (item, overlay, "caption");
  g_binding_group_bind (bindings, "misclassified", wrong, "visible", G_BINDING_SYNC_CREATE);
  /* Shown by opacity: the attack's end flips marks in every cell at once,
   * and marks that came and went laid the gallery out in that frame. */
  gtk_widget_set_visible (flipped, TRUE);
  g_signal_connect (flipped, "notify::opacity", G_CALLBACK (hidden_by_opacity_cb), NULL);
  g_binding_group_bind_full (bindings, "flipped", flipped, "opacity", G_BINDING_SYNC_CREATE,
                             boolean_to_opacity, NULL, NULL, NULL);
  g_binding_group_bind (bindings, "flipped", flipped, "can-target", G_BINDING_SYNC_CREATE);
  gtk_list_item_set_child (item, overlay);
}

static void
multiple_setup_cb (GtkSignalListItemFactory *factory,
                   GtkListItem              *item,
                   SomscopeWindow           *self)
{
  GBindingGroup *bindings = cell_bindings (item);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *view = g_object_new (SOMSCOPE_TYPE_MAP_VIEW, "compact", TRUE, NULL);
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_set_size_request (view, 120, 108);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 14);
  gtk_widget_add_css_class (label, "caption");
  gtk_box_append (GTK_BOX (box), view);
  gtk_box_append (GTK_BOX (box), label);
  g_binding_group_bind (bindings, "short-name", label, "label", G_BINDING_SYNC_CREATE);
  cell_tooltip (item, label, "name");
  g_object_set_data (G_OBJECT (item), "somscope-map-view", view);
  gtk_list_item_set_child (item, box);
}

static void
cell_bind_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              SomscopeWindow           *self)
{
  SomscopeMapView *view = g_object_get_data (G_OBJECT (item), "somscope-map-view");

  g_binding_group_set_source (g_object_get_data (G_OBJECT (item), "somscope-bindings"),
                              gtk_list_item_get_item (item));
  if (view != NULL)
    somscope_map_view_set_layer (view, gtk_list_item_get_item (item));
}

static void
cell_unbind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                SomscopeWindow           *self)
{
  SomscopeMapView *view = g_object_get_data (G_OBJECT (item), "somscope-map-view");

  g_binding_group_set_source (g_object_get_data (G_OBJECT (item), "somscope-bindings"), NULL);
  if (view != NULL)
    somscope_map_view_set_layer (view, NULL);
}

static void
update_gallery_count (SomscopeWindow *self)
{
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->filtered_inputs));
  guint total = 0;
  g_autofree char *text = NULL;

  if (self->document != NULL)
    total = g_list_model_get_n_items (somscope_document_get_inputs (self->document));
  if (shown == total)
    /* Translators: the number of images in the gallery */
    text = g_strdup_printf (ngettext ("%u image", "%u images", total), total);
  else
    /* Translators: images shown in the gallery out of all */
    text = g_strdup_printf (ngettext ("%u of %u image", "%u of %u images", total), shown, total);
  gtk_label_set_label (self->gallery_count, text);
  gtk_widget_set_visible (self->gallery_empty_label, shown == 0 && total > 0);
}

static gboolean
input_filter_func (gpointer item,
                   gpointer user_data)
{
  SomscopeWindow *self = user_data;
  SomscopeInput *input = item;
  guint klass = gtk_drop_down_get_selected (self->class_dropdown);

  if (klass != GTK_INVALID_LIST_POSITION && klass > 0 &&
      somscope_input_get_label (input) != (int) klass - 1)
    return FALSE;
  if (gtk_toggle_button_get_active (self->wrong_filter_button) &&
      !somscope_input_get_misclassified (input))
    return FALSE;
  if (gtk_toggle_button_get_active (self->unit_filter_button) && self->document != NULL)
    {
      SomscopeLayer *layer = somscope_document_get_selected_layer (self->document);
      int unit = somscope_document_get_selected_unit (self->document);

      if (layer == NULL || unit < 0)
        return FALSE;
      return somscope_document_get_bmu (self->document, layer,
                                        somscope_input_get_index (input)) == unit;
    }
  return TRUE;
}

typedef struct
{
  guint klass;
  guint count;
} ClassCount;

static int
compare_class_counts (gconstpointer a,
                      gconstpointer b)
{
  const ClassCount *ca = a, *cb = b;

  if (ca->count != cb->count)
    return ca->count < cb->count ? 1 : -1;
  return ca->klass < cb->klass ? -1 : ca->klass > cb->klass;
}

/* While the gallery shows the inputs the selected unit wins, the line under
 * its header gives their class mix, most frequent first, each class with a
 * dot of its colour on the class map: "Unit 137 wins 4 inputs: ● Coat 3 ·
 * ● Shirt 1".  The mix counts every input the unit wins, whatever the
 * class filter shows. */
static void
update_unit_mix (SomscopeWindow *self)
{
  SomscopeLayer *layer = NULL;
  GListModel *inputs;
  const char * const *names;
  g_autofree ClassCount *counts = NULL;
  g_autoptr(GString) text = NULL;
  guint n_classes, n, won = 0, unlabelled = 0, shown = 0;
  int unit = -1;

  if (self->document != NULL && gtk_toggle_button_get_active (self->unit_filter_button))
    {
      layer = somscope_document_get_selected_layer (self->document);
      unit = somscope_document_get_selected_unit (self->document);
    }
  if (layer == NULL || unit < 0 || somscope_layer_get_map (layer) == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->unit_mix_label), FALSE);
      return;
    }

  names = somscope_document_get_class_names (self->document);
  n_classes = names != NULL ? g_strv_length ((char **) names) : 0;
  counts = g_new0 (ClassCount, n_classes);
  for (guint c = 0; c < n_classes; c++)
    counts[c].klass = c;
  inputs = somscope_document_get_inputs (self->document);
  n = g_list_model_get_n_items (inputs);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeInput) input = g_list_model_get_item (inputs, i);
      int label;

      if (somscope_document_get_bmu (self->document, layer, somscope_input_get_index (input)) != unit)
        continue;
      won++;
      label = somscope_input_get_label (input);
      if (label >= 0 && (guint) label < n_classes)
        counts[label].count++;
      else
        unlabelled++;
    }
  qsort (counts, n_classes, sizeof *counts, compare_class_counts);

  text = g_string_new (NULL);
  /* Translators: the class mix of the inputs a map unit wins; the classes follow */
  g_string_append_printf (text, ngettext ("<b>Unit %d</b> wins %u input", "<b>Unit %d</b> wins %u inputs", won),
                          unit, won);
  for (guint c = 0; c < n_classes && counts[c].count > 0; c++)
    {
      g_autofree char *name = g_markup_escape_text (names[counts[c].klass], -1);
      double rgb[3];

      som_palette_rgb (counts[c].klass, rgb);
      g_string_append (text, shown++ == 0 ? ": " : " · ");
      g_string_append_printf (text, "<span foreground=\"#%02x%02x%02x\">●</span>\u00a0%s\u00a0%u",
                              (guint) lround (255 * rgb[0]), (guint) lround (255 * rgb[1]),
                              (guint) lround (255 * rgb[2]), name, counts[c].count);
    }
  if (unlabelled > 0 && n_classes > 0)
    {
      g_string_append (text, shown++ == 0 ? ": " : " · ");
      /* Translators: inputs without a class label, in the class mix */
      g_string_append_printf (text, _("no label\u00a0%u"), unlabelled);
    }
  gtk_label_set_markup (self->unit_mix_label, text->str);
  gtk_widget_set_visible (GTK_WIDGET (self->unit_mix_label), TRUE);
}

static void
filter_changed_cb (SomscopeWindow *self)
{
  SomscopeLayer *layer = self->document ? somscope_document_get_selected_layer (self->document) : NULL;
  guint klass = gtk_drop_down_get_selected (self->class_dropdown);
  SomMap *map = NULL;

  if (layer != NULL && gtk_toggle_button_get_active (self->unit_filter_button))
    map = somscope_layer_get_map (layer);
  g_set_object (&self->unit_filter_map, map);
  /* "Where do the coats land?": the hit map counts the class chosen. */
  g_object_set (self->hits_view, "class",
                klass == GTK_INVALID_LIST_POSITION || klass == 0 ? -1 : (int) klass - 1, NULL);
  gtk_filter_changed (GTK_FILTER (self->input_filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_gallery_count (self);
  update_unit_mix (self);
}

/* The component plane's feature runs over the selected layer's features
 * (its channels, with the default channel-mean codes). */
static void
sync_feature_range (SomscopeWindow *self,
                    SomscopeLayer  *layer)
{
  SomMap *map = layer ? somscope_layer_get_map (layer) : NULL;
  guint dim = map ? som_map_get_dim (map) : 0;
  double upper = dim > 0 ? dim - 1 : 0;
  g_autofree char *count = NULL;

  if (gtk_adjustment_get_upper (self->feature_adjustment) != upper)
    gtk_adjustment_configure (self->feature_adjustment,
                              MIN (gtk_adjustment_get_value (self->feature_adjustment), upper),
                              0, upper, 1, 10, 0);
  gtk_widget_set_sensitive (self->feature_spin, dim > 1);
  /* Translators: after the component plane's feature number, "Feature 3 of 16";
   * the features are counted from 0 */
  if (dim > 0)
    count = g_strdup_printf (_("of %u"), dim);
  gtk_label_set_label (self->feature_count_label, count ? count : "");
}

/* The selected layer's map was trained again (or an epoch of it arrived):
 * the inputs its selected unit wins are those of the new map. */
static void
selected_layer_revision_cb (SomscopeWindow *self,
                            GParamSpec     *pspec,
                            SomscopeLayer  *layer)
{
  sync_feature_range (self, layer);
  if (gtk_toggle_button_get_active (self->unit_filter_button) &&
      somscope_layer_get_map (layer) != self->unit_filter_map)
    filter_changed_cb (self);
}

/* ---- the layer list: a tree of modules, or the layers matching the search ---- */

static GListModel *
layer_tree_children (gpointer item,
                     gpointer user_data)
{
  if (!SOMSCOPE_IS_LAYER_GROUP (item))
    return NULL;
  return g_object_ref (somscope_layer_group_get_children (item));
}

/* The row position of @layer, expanding the groups above it. */
static guint
layer_tree_position (SomscopeWindow *self,
                     SomscopeLayer  *layer)
{
  GListModel *rows = G_LIST_MODEL (self->layer_tree);

  if (self->layer_tree == NULL || layer == NULL)
    return GTK_INVALID_LIST_POSITION;
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(GtkTreeListRow) row = gtk_tree_list_model_get_row (self->layer_tree, i);
      gpointer item = gtk_tree_list_row_get_item (row);

      if (item == (gpointer) layer)
        {
          g_object_unref (item);
          return i;
        }
      if (SOMSCOPE_IS_LAYER_GROUP (item) && somscope_layer_group_contains (item, layer))
        gtk_tree_list_row_set_expanded (row, TRUE);
      g_object_unref (item);
    }
  return GTK_INVALID_LIST_POSITION;
}

static void
rebuild_layer_tree (SomscopeWindow *self)
{
  g_autoptr(GListModel) root = NULL;
  const char *query = gtk_editable_get_text (GTK_EDITABLE (self->layer_search));

  root = somscope_layer_group_build (self->document ? somscope_document_get_layers (self->document) : NULL, query);
  g_clear_object (&self->layer_tree);
  self->layer_tree = gtk_tree_list_model_new (g_object_ref (root), FALSE, FALSE, layer_tree_children, NULL, NULL);
  self->syncing_selection = TRUE;
  gtk_single_selection_set_model (self->layer_selection, G_LIST_MODEL (self->layer_tree));
  self->syncing_selection = FALSE;
}

static void
layer_search_changed_cb (SomscopeWindow *self)
{
  SomscopeLayer *layer = self->document ? somscope_document_get_selected_layer (self->document) : NULL;

  rebuild_layer_tree (self);
  self->syncing_selection = TRUE;
  gtk_single_selection_set_selected (self->layer_selection, layer_tree_position (self, layer));
  self->syncing_selection = FALSE;
}

/* Escape in the search clears it (and goes no further: it does not stop the
 * jobs, the window's Escape). */
static void
layer_search_stop_cb (SomscopeWindow *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->layer_search), "");
}

static void
layer_item_setup (GtkSignalListItemFactory *factory,
                  GtkListItem              *item,
                  gpointer                  user_data)
{
  GtkWidget *expander = gtk_tree_expander_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  GtkWidget *row = g_object_new (SOMSCOPE_TYPE_LAYER_ROW, "hexpand", TRUE, NULL);
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_set_margin_top (label, 6);
  gtk_widget_set_margin_bottom (label, 6);
  gtk_box_append (GTK_BOX (box), row);
  gtk_box_append (GTK_BOX (box), label);
  gtk_tree_expander_set_child (GTK_TREE_EXPANDER (expander), box);
  gtk_list_item_set_child (item, expander);
}

static void
layer_item_bind (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 gpointer                  user_data)
{
  GtkTreeExpander *expander = GTK_TREE_EXPANDER (gtk_list_item_get_child (item));
  GtkTreeListRow *row = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_tree_expander_get_child (expander);
  GtkWidget *layer_row = gtk_widget_get_first_child (box);
  GtkWidget *label = gtk_widget_get_last_child (box);
  g_autoptr(GObject) thing = gtk_tree_list_row_get_item (row);

  gtk_tree_expander_set_list_row (expander, row);
  if (SOMSCOPE_IS_LAYER (thing))
    {
      somscope_layer_row_set_layer (SOMSCOPE_LAYER_ROW (layer_row), SOMSCOPE_LAYER (thing));
      gtk_widget_set_visible (layer_row, TRUE);
      gtk_widget_set_visible (label, FALSE);
      gtk_list_item_set_selectable (item, TRUE);
    }
  else
    {
      SomscopeLayerGroup *group = SOMSCOPE_LAYER_GROUP (thing);
      guint n = somscope_layer_group_get_n_layers (group);
      g_autofree char *markup = NULL;

      /* Translators: a module in the layer tree and how many layers it holds */
      markup = g_markup_printf_escaped (ngettext ("%s  <span size=\"small\" alpha=\"60%%\">%u layer</span>",
                                                  "%s  <span size=\"small\" alpha=\"60%%\">%u layers</span>", n),
                                        somscope_layer_group_get_name (group), n);
      somscope_layer_row_set_layer (SOMSCOPE_LAYER_ROW (layer_row), NULL);
      gtk_label_set_markup (GTK_LABEL (label), markup);
      hidden_tooltip (label, somscope_layer_group_get_path (group));
      gtk_widget_set_visible (layer_row, FALSE);
      gtk_widget_set_visible (label, TRUE);
      gtk_list_item_set_selectable (item, FALSE);
    }
}

static void
layer_item_unbind (GtkSignalListItemFactory *factory,
                   GtkListItem              *item,
                   gpointer                  user_data)
{
  GtkTreeExpander *expander = GTK_TREE_EXPANDER (gtk_list_item_get_child (item));
  GtkWidget *box = gtk_tree_expander_get_child (expander);

  somscope_layer_row_set_layer (SOMSCOPE_LAYER_ROW (gtk_widget_get_first_child (box)), NULL);
  gtk_tree_expander_set_list_row (expander, NULL);
}

static void
sync_layer_selection (SomscopeWindow *self)
{
  SomscopeLayer *layer = NULL;
  SomscopeMapView *view;
  g_autofree char *title = NULL;

  if (self->document != NULL)
    layer = somscope_document_get_selected_layer (self->document);
  g_signal_group_set_target (self->selected_layer_signals, layer);

  self->syncing_selection = TRUE;
  gtk_single_selection_set_selected (self->layer_selection, layer_tree_position (self, layer));
  gtk_single_selection_set_selected (self->multiple_selection,
                                     layer ? find_position (G_LIST_MODEL (self->mapped_layers), layer)
                                           : GTK_INVALID_LIST_POSITION);
  self->syncing_selection = FALSE;

  foreach_view (self, view)
    somscope_map_view_set_layer (view, layer);
  sync_feature_range (self, layer);

  if (layer != NULL)
    title = g_strdup_printf ("%s  <span size=\"small\" alpha=\"60%%\">%s · %s</span>",
                             somscope_layer_get_name (layer), somscope_layer_get_op (layer),
                             somscope_layer_get_shape (layer));
  gtk_label_set_markup (self->layer_title, title ? title : "");
  if (gtk_toggle_button_get_active (self->unit_filter_button))
    filter_changed_cb (self);
}

static void
layer_selection_changed_cb (SomscopeWindow *self)
{
  GtkTreeListRow *row = gtk_single_selection_get_selected_item (self->layer_selection);
  g_autoptr(GObject) item = row ? gtk_tree_list_row_get_item (row) : NULL;

  if (self->syncing_selection || self->document == NULL || !SOMSCOPE_IS_LAYER (item))
    return;
  somscope_document_set_selected_layer (self->document, SOMSCOPE_LAYER (item));
}

static void
trajectory_layer_activated_cb (SomscopeWindow *self,
                               SomscopeLayer  *layer)
{
  if (self->document != NULL)
    somscope_document_set_selected_layer (self->document, layer);
}

static void
multiple_selection_changed_cb (SomscopeWindow *self)
{
  SomscopeLayer *layer = gtk_single_selection_get_selected_item (self->multiple_selection);

  if (self->syncing_selection || self->document == NULL || layer == NULL)
    return;
  somscope_document_set_selected_layer (self->document, layer);
}

static void
input_selection_changed_cb (SomscopeWindow *self)
{
  SomscopeInput *input = gtk_single_selection_get_selected_item (self->input_selection);

  if (self->syncing_selection || self->document == NULL)
    return;
  somscope_document_set_selected_input (self->document,
                                        input ? (int) somscope_input_get_index (input) : -1);
}

/* A GtkGridView in GTK 4.8 makes a cell for 30 rows of its *maximum*
 * number of columns at once, whatever fits: 360 cells of six widgets each
 * at the 12 columns the gallery allows, where its pane shows 5 columns of
 * about 5 rows.  So the maximum follows the gallery's width (the columns a
 * cell's minimum width fits, as many as GtkGridView itself chooses, so the
 * layout is the same), and the gallery's model starts with two rows and
 * grows by one row per frame until it covers those 30 rows, then shows
 * everything. */
#define GALLERY_MAX_COLUMNS 12
#define GALLERY_ROWS 30
#define GALLERY_CELL_MIN_WIDTH 56   /* the picture's: no cell is narrower */

static guint
gallery_step (SomscopeWindow *self)
{
  return gtk_grid_view_get_max_columns (self->gallery);
}

static gboolean
fit_gallery_cb (gpointer data)
{
  SomscopeWindow *self = data;
  GtkWidget *cell = gtk_widget_get_first_child (GTK_WIDGET (self->gallery));
  int width = gtk_widget_get_width (GTK_WIDGET (self->gallery));
  int cell_width = GALLERY_CELL_MIN_WIDTH;
  guint columns;

  self->gallery_fit_id = 0;
  if (cell != NULL)
    gtk_widget_measure (cell, GTK_ORIENTATION_HORIZONTAL, -1, &cell_width, NULL, NULL, NULL);
  if (width <= 0)
    return G_SOURCE_REMOVE;
  columns = CLAMP (width / MAX (cell_width, 1), 1, GALLERY_MAX_COLUMNS);
  if (columns != gtk_grid_view_get_max_columns (self->gallery))
    gtk_grid_view_set_max_columns (self->gallery, columns);
  return G_SOURCE_REMOVE;
}

/* The gallery's width changed (it is allocated): fit its columns after the
 * allocation, not inside it. */
static void
queue_fit_gallery (SomscopeWindow *self)
{
  if (self->gallery_fit_id == 0)
    self->gallery_fit_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, fit_gallery_cb, self, NULL);
}

static void
show_whole_gallery (SomscopeWindow *self)
{
  if (self->gallery_grow_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->gallery_grow_id);
  self->gallery_grow_id = 0;
  gtk_slice_list_model_set_size (self->gallery_slice, G_MAXUINT);
}

static gboolean
grow_gallery_cb (GtkWidget     *widget,
                 GdkFrameClock *clock,
                 gpointer       user_data)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  guint size = gtk_slice_list_model_get_size (self->gallery_slice);

  size += gallery_step (self);
  if (size >= GALLERY_ROWS * gallery_step (self))
    {
      self->gallery_grow_id = 0;
      gtk_slice_list_model_set_size (self->gallery_slice, G_MAXUINT);
      return G_SOURCE_REMOVE;
    }
  gtk_slice_list_model_set_size (self->gallery_slice, size);
  return G_SOURCE_CONTINUE;
}

/* Before the gallery gets a new document's inputs. */
static void
start_gallery (SomscopeWindow *self)
{
  show_whole_gallery (self);
  if (self->document == NULL)
    return;
  gtk_slice_list_model_set_size (self->gallery_slice, 2 * gallery_step (self));
  self->gallery_grow_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), grow_gallery_cb, NULL, NULL);
}

static void
sync_selected_input (SomscopeWindow *self)
{
  g_autoptr(SomscopeInput) input = NULL;
  int index = -1;

  if (self->document != NULL)
    index = somscope_document_get_selected_input (self->document);
  if (index >= 0)
    input = g_list_model_get_item (somscope_document_get_inputs (self->document), index);

  /* The gallery shows the selection, whoever made it. */
  {
    guint position = input ? find_position (G_LIST_MODEL (self->filtered_inputs), input)
                           : GTK_INVALID_LIST_POSITION;

    if (position != GTK_INVALID_LIST_POSITION && position >= gtk_slice_list_model_get_size (self->gallery_slice))
      show_whole_gallery (self);
    self->syncing_selection = TRUE;
    gtk_single_selection_set_selected (self->input_selection, position);
    self->syncing_selection = FALSE;
  }

  if (input == NULL)
    {
      gtk_stack_set_visible_child_name (self->trajectory_stack, "none");
      gtk_picture_set_paintable (self->input_picture, NULL);
      return;
    }
  else
    {
      g_autofree char *title = NULL;
      g_autofree char *caption = NULL;
      g_autofree char *markup = NULL;

      g_autoptr(GdkTexture) adversarial = NULL;
      g_autoptr(GdkTexture) perturbation = NULL;
      int adv = somscope_input_get_adversarial_prediction (input);

      g_object_get (input, "title", &title, "caption", &caption, NULL);
      markup = g_markup_printf_escaped ("<b>%s</b>\n%s", title, caption);
      if (somscope_input_get_misclassified (input))
        {
          g_autofree char *with = g_strdup_printf ("%s\n<span foreground=\"#c01c28\">%s</span>", markup,
                                                   _("misclassified"));

          g_free (markup);
          markup = g_steal_pointer (&with);
        }
      if (adv >= 0)
        {
          g_autofree char *line = NULL;
          g_autofree char *with = NULL;

          /* Translators: the model's answer on the attacked image */
          line = g_markup_printf_escaped (_("attacked: %s"),
                                          somscope_document_get_model_class_name (self->document, adv));
          with = g_strdup_printf ("%s\n%s%s%s", markup,
                                  adv != somscope_input_get_prediction (input) ? "<span foreground=\"#e66100\">" : "",
                                  line,
                                  adv != somscope_input_get_prediction (input) ? "</span>" : "");
          g_free (markup);
          markup = g_steal_pointer (&with);
        }
      if (somscope_document_get_adversarial_images (self->document, somscope_input_get_index (input),
                                                    &adversarial, &perturbation))
        {
          gtk_picture_set_paintable (self->adversarial_picture, GDK_PAINTABLE (adversarial));
          gtk_picture_set_paintable (self->perturbation_picture, GDK_PAINTABLE (perturbation));
        }
      gtk_widget_set_visible (self->adversarial_box, adversarial != NULL);
      gtk_label_set_markup (self->input_label, markup);
      gtk_picture_set_paintable (self->input_picture,
                                 GDK_PAINTABLE (somscope_input_get_thumbnail (input)));
      gtk_stack_set_visible_child_name (self->trajectory_stack, "input");
    }
}

static void
sync_selected_unit (SomscopeWindow *self)
{
  SomscopeMapView *view;
  int unit = self->document ? somscope_document_get_selected_unit (self->document) : -1;

  foreach_view (self, view)
    somscope_map_view_set_selected_unit (view, unit);
  if (gtk_toggle_button_get_active (self->unit_filter_button))
    filter_changed_cb (self);
  somscope_window_update_actions (self);
}

static void
unit_activated_cb (SomscopeWindow  *self,
                   int              unit,
                   SomscopeMapView *view)
{
  if (self->document == NULL)
    return;
  somscope_document_set_selected_unit (self->document, unit);
  /* Clicking a unit asks "which inputs land here?": answer it. */
  gtk_toggle_button_set_active (self->unit_filter_button, TRUE);
}

static void
view_changed_cb (SomscopeWindow *self)
{
  const char *name = adw_view_stack_get_visible_child_name (self->view_stack);

  gtk_widget_set_visible (self->feature_box, g_strcmp0 (name, "component") == 0);
}

/* The subtitle: what the jobs are doing while they run (and how long they
 * will take), the document's title otherwise. */
static void
sync_subtitle (SomscopeWindow *self)
{
  const char *title = self->document ? somscope_document_get_title (self->document) : NULL;
  const char *message = NULL, *estimate = NULL;
  g_autofree char *subtitle = NULL;

  if (self->document != NULL && somscope_document_get_busy (self->document))
    {
      message = somscope_document_get_message (self->document);
      estimate = somscope_document_get_estimate (self->document);
    }
  if (message != NULL && *message != '\0' && estimate != NULL)
    /* Translators: the window's subtitle while jobs run: what they do, and the time left */
    subtitle = g_strdup_printf (_("%s — %s"), message, estimate);
  else if (message != NULL && *message != '\0')
    subtitle = g_strdup (message);
  adw_window_title_set_subtitle (self->window_title, subtitle ? subtitle : title ? title : "");
}

static void
sync_summary (SomscopeWindow *self)
{
  const char *summary = NULL, *attack = NULL;

  if (self->document != NULL)
    {
      summary = somscope_document_get_summary (self->document);
      if (somscope_document_get_attacking (self->document))
        /* Translators: the sidebar's attack line while the attack runs */
        attack = _("Attacking the images…");
      else if (somscope_document_get_attack_summary (self->document) != NULL)
        attack = somscope_document_get_attack_summary (self->document);
      else
        /* Translators: the sidebar's attack line when no attack has run */
        attack = _("No attack");
    }
  sync_subtitle (self);
  gtk_label_set_label (self->dataset_label, summary ? summary : "");
  gtk_label_set_label (self->attack_label, attack ? attack : "");
}

/* The whole line, when it is cut short. */
static gboolean
attack_query_tooltip_cb (SomscopeWindow *self,
                         int             x,
                         int             y,
                         gboolean        keyboard,
                         GtkTooltip     *tooltip,
                         GtkLabel       *label)
{
  PangoLayout *layout = gtk_label_get_layout (label);

  if (!pango_layout_is_ellipsized (layout))
    return FALSE;
  gtk_tooltip_set_text (tooltip, gtk_label_get_label (label));
  return TRUE;
}

static void
sync_class_names (SomscopeWindow *self)
{
  const char * const *names = NULL;
  guint n_old = g_list_model_get_n_items (G_LIST_MODEL (self->class_names));
  g_autoptr(GPtrArray) strings = g_ptr_array_new ();

  if (self->document != NULL)
    names = somscope_document_get_class_names (self->document);
  g_ptr_array_add (strings, (gpointer) _("All classes"));
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    g_ptr_array_add (strings, (gpointer) names[i]);
  g_ptr_array_add (strings, NULL);
  gtk_string_list_splice (self->class_names, 0, n_old, (const char * const *) strings->pdata);
  gtk_drop_down_set_selected (self->class_dropdown, 0);
}

/* A loaded document's jobs (the maps' training, the attack) start once the
 * window has painted it and settled: the first two frames of a new
 * document are the heaviest GTK draws (the page, then the whole window
 * painted and uploaded to the X server, 18–30 ms of the main thread's time
 * on an idle machine), and the gallery then grows by a row a
 * frame for some thirty frames (start_gallery()), each frame a layout,
 * which on X11 costs round trips to the server.
 * Trainers taking both cores only made those frames longer.  So the jobs
 * wait for a frame without a layout phase after the first two, and no more
 * than RELEASE_JOBS_MAX_FRAMES (three quarters of a second at 60 Hz).  Counted in
 * frames: the callback runs at the start of each. */
#define RELEASE_JOBS_AFTER_FRAMES 2
#define RELEASE_JOBS_MAX_FRAMES 45

static void stop_release_jobs (SomscopeWindow *self);

static void
release_jobs_layout_cb (SomscopeWindow *self)
{
  self->release_jobs_layout = TRUE;
}

static gboolean
release_jobs_cb (GtkWidget     *widget,
                 GdkFrameClock *clock,
                 gpointer       user_data)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);
  gboolean settled = !self->release_jobs_layout;

  self->release_jobs_layout = FALSE;
  if (self->release_jobs_clock == NULL)
    {
      self->release_jobs_clock = g_object_ref (clock);
      self->release_jobs_layout_id = g_signal_connect_swapped (clock, "layout",
                                                               G_CALLBACK (release_jobs_layout_cb), self);
    }
  if (++self->release_jobs_frames <= RELEASE_JOBS_AFTER_FRAMES ||
      (!settled && self->release_jobs_frames <= RELEASE_JOBS_MAX_FRAMES))
    return G_SOURCE_CONTINUE;
  self->release_jobs_id = 0;
  stop_release_jobs (self);
  if (self->document != NULL)
    somscope_document_release_jobs (self->document);
  return G_SOURCE_REMOVE;
}

static void
stop_release_jobs (SomscopeWindow *self)
{
  if (self->release_jobs_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->release_jobs_id);
  self->release_jobs_id = 0;
  /* A clock whose surface went away has dropped its handlers already. */
  if (self->release_jobs_clock != NULL &&
      g_signal_handler_is_connected (self->release_jobs_clock, self->release_jobs_layout_id))
    g_signal_handler_disconnect (self->release_jobs_clock, self->release_jobs_layout_id);
  self->release_jobs_layout_id = 0;
  g_clear_object (&self->release_jobs_clock);
}

static void
schedule_release_jobs (SomscopeWindow *self)
{
  stop_release_jobs (self);
  /* Not shown: nothing to paint first, and no frames to count. */
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    {
      somscope_document_release_jobs (self->document);
      return;
    }
  self->release_jobs_frames = 0;
  self->release_jobs_layout = FALSE;
  self->release_jobs_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), release_jobs_cb, NULL, NULL);
}

/* A filter list model does not watch its items: the mapped layers are
 * filtered again when a layer is ticked or unticked. */
static void
layer_mapped_cb (SomscopeWindow *self,
                 GParamSpec     *pspec,
                 SomscopeLayer  *layer)
{
  guint position;

  gtk_filter_changed (self->mapped_filter, GTK_FILTER_CHANGE_DIFFERENT);
  /* A layer just ticked shows among the small multiples (the list keeps
   * its scroll on the items it showed, and a layer before them stayed out
   * of view). */
  position = find_position (G_LIST_MODEL (self->mapped_layers), layer);
  if (position != GTK_INVALID_LIST_POSITION)
    gtk_widget_activate_action (GTK_WIDGET (self->multiples_list), "list.scroll-to-item", "u", position);
}

static void
watch_mapped (SomscopeWindow *self,
              GListModel     *layers,
              guint           position,
              guint           n)
{
  for (guint i = position; i < position + n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (layers, i);

      g_signal_connect_object (layer, "notify::mapped", G_CALLBACK (layer_mapped_cb), self,
                               G_CONNECT_SWAPPED);
    }
}

/* A document's layers arrive when it has loaded. */
static void
layers_changed_cb (SomscopeWindow *self,
                   guint           position,
                   guint           removed,
                   guint           added,
                   GListModel     *layers)
{
  watch_mapped (self, layers, position, added);
}

static void
unwatch_mapped (SomscopeWindow   *self,
                SomscopeDocument *document)
{
  GListModel *layers = somscope_document_get_layers (document);

  for (guint i = 0; i < g_list_model_get_n_items (layers); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (layers, i);

      g_signal_handlers_disconnect_by_func (layer, layer_mapped_cb, self);
    }
}

static void
set_document (SomscopeWindow   *self,
              SomscopeDocument *document)
{
  if (self->document == document)
    return;

  stop_release_jobs (self);

  if (self->document != NULL)
    {
      somscope_document_cancel (self->document);
      unwatch_mapped (self, self->document);
    }
  g_set_object (&self->document, document);
  if (document != NULL)
    watch_mapped (self, somscope_document_get_layers (document), 0,
                  g_list_model_get_n_items (somscope_document_get_layers (document)));

  gtk_toggle_button_set_active (self->unit_filter_button, FALSE);
  g_signal_group_set_target (self->document_signals, document);
  g_binding_group_set_source (self->document_bindings, document);
  g_signal_group_set_target (self->layers_signals, document ? somscope_document_get_layers (document) : NULL);
  rebuild_layer_tree (self);
  gtk_filter_list_model_set_model (self->mapped_layers,
                                   document ? somscope_document_get_layers (document) : NULL);
  start_gallery (self);
  gtk_filter_list_model_set_model (self->filtered_inputs,
                                   document ? somscope_document_get_inputs (document) : NULL);
  sync_class_names (self);
  sync_summary (self);
  sync_layer_selection (self);
  sync_selected_input (self);
  sync_selected_unit (self);
  update_gallery_count (self);

  gtk_stack_set_visible_child_name (self->main_stack, document ? "document" : "empty");
  gtk_widget_set_visible (self->sidebar_button, document != NULL);
  if (document != NULL)
    schedule_release_jobs (self);
  somscope_window_update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DOCUMENT]);
}

typedef struct
{
  SomscopeWindow *window;
  GFile          *model;
  GFile          *dataset;
} PreprocessRequest;

static void
preprocess_request_free (PreprocessRequest *p)
{
  g_object_unref (p->window);
  g_object_unref (p->model);
  g_clear_object (&p->dataset);
  g_free (p);
}

static void
preprocess_response_cb (SomscopePreprocessDialog *dialog,
                        const char               *response,
                        PreprocessRequest        *p)
{
  SomPreprocessOptions options;
  g_autoptr(GError) error = NULL;

  p->window->preprocess_dialog = NULL;
  if (!g_str_equal (response, "open"))
    return;
  if (!somscope_preprocess_dialog_get_options (dialog, &options, &error))
    {
      somscope_window_show_error (p->window, error->message);
      return;
    }
  somscope_window_open_with_preprocessing (p->window, p->model, p->dataset, &options);
}

/* The images do not fit the model: propose the likely fix, editable. */
static void
show_preprocess_dialog (SomscopeWindow             *self,
                        GFile                      *model,
                        GFile                      *dataset,
                        const SomPreprocessOptions *suggestion,
                        const char                 *message)
{
  GtkWidget *dialog = somscope_preprocess_dialog_new (GTK_WINDOW (self), suggestion, message);
  PreprocessRequest *p = g_new0 (PreprocessRequest, 1);

  p->window = g_object_ref (self);
  p->model = g_object_ref (model);
  p->dataset = dataset ? g_object_ref (dataset) : NULL;
  g_signal_connect_data (dialog, "response", G_CALLBACK (preprocess_response_cb), p,
                         (GClosureNotify) preprocess_request_free, 0);
  self->preprocess_dialog = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
}

GtkWidget *
somscope_window_get_preprocess_dialog (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return self->preprocess_dialog;
}

static void
load_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  SomscopeDocument *document = SOMSCOPE_DOCUMENT (object);
  g_autoptr(SomscopeWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  gboolean current = self->pending == document;

  if (current)
    {
      g_clear_object (&self->pending);
      g_clear_object (&self->pending_cancellable);
    }
  gtk_spinner_stop (self->loading_spinner);

  if (!somscope_document_load_finish (document, result, &error))
    {
      SomPreprocessOptions suggestion;

      if (somscope_document_get_suggested_preprocessing (document, &suggestion))
        {
          self->last_error = (g_free (self->last_error), g_strdup (error->message));
          show_preprocess_dialog (self, somscope_document_get_model_file (document),
                                  somscope_document_get_dataset_file (document), &suggestion,
                                  error->message);
        }
      else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        somscope_window_show_error (self, error->message);
      if (self->document == NULL)
        gtk_stack_set_visible_child_name (self->main_stack, "empty");
      somscope_window_update_actions (self);
      return;
    }
  if (current && self->pending_model != NULL)
    somscope_window_remember (self, self->pending_model, self->pending_dataset);
  set_document (self, document);
  somscope_window_check_references (self);
}

void
somscope_window_open (SomscopeWindow *self,
                      GFile          *model,
                      GFile          *dataset)
{
  SomPreprocessOptions none = { 0 };

  somscope_window_open_with_preprocessing (self, model, dataset, &none);
}

void
somscope_window_open_with_preprocessing (SomscopeWindow             *self,
                                         GFile                      *model,
                                         GFile                      *dataset,
                                         const SomPreprocessOptions *options)
{
  GSettings *settings;
  g_autofree char *name = NULL;

  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (model));
  g_return_if_fail (!dataset || G_IS_FILE (dataset));

  /* A newer request replaces one still loading. */
  if (self->pending_cancellable != NULL)
    g_cancellable_cancel (self->pending_cancellable);
  if (self->pending != NULL)
    somscope_document_cancel (self->pending);
  g_clear_object (&self->pending_cancellable);
  g_clear_object (&self->pending);
  g_set_object (&self->pending_model, model);
  g_set_object (&self->pending_dataset, dataset);

  settings = somscope_application_get_settings (SOMSCOPE_APPLICATION (g_application_get_default ()));
  self->pending = somscope_document_new (settings);
  somscope_document_hold_jobs (self->pending);
  somscope_document_set_preprocessing (self->pending, options);
  self->pending_cancellable = g_cancellable_new ();

  name = g_file_get_basename (model);
  /* Translators: shown while a model is being opened */
  adw_status_page_set_description (self->loading_page, name);
  if (self->document == NULL)
    {
      gtk_stack_set_visible_child_name (self->main_stack, "loading");
      gtk_spinner_start (self->loading_spinner);
    }
  somscope_document_load_async (self->pending, model, dataset, self->pending_cancellable,
                                load_cb, g_object_ref (self));
  somscope_window_update_actions (self);
}

void
somscope_window_open_demo (SomscopeWindow *self)
{
  g_autoptr(GFile) model = NULL;
  g_autoptr(GFile) dataset = NULL;

  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));

  if (!somscope_find_demo (&model, &dataset))
    {
      somscope_window_show_error (self, _("The demo model is not installed"));
      return;
    }
  somscope_window_open (self, model, dataset);
}

static gboolean
running_from_build_tree (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  return exe != NULL && g_str_has_prefix (exe, SOMSCOPE_BUILD_DIR G_DIR_SEPARATOR_S);
}

/* The demo images: an IDX images file inside the demo folder. */
static GFile *
find_demo_images (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (strstr (name, "images-idx3") != NULL)
      return g_file_new_build_filename (dir, name, NULL);
  return NULL;
}

gboolean
somscope_find_demo (GFile **model,
                    GFile **dataset)
{
  const char *dirs[] = {
    g_getenv ("SOMSCOPE_DEMO_DIR"),
    running_from_build_tree () ? SOMSCOPE_SOURCE_DIR "/data" : NULL,
    PKGDATADIR,
  };

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *m = NULL;
      g_autofree char *d = NULL;

      if (dirs[i] == NULL)
        continue;
      m = g_build_filename (dirs[i], "models", "fashion-resnet.onnx", NULL);
      d = g_build_filename (dirs[i], "fashion-mnist-demo", NULL);
      if (!g_file_test (m, G_FILE_TEST_IS_REGULAR))
        continue;
      *model = g_file_new_for_path (m);
      *dataset = find_demo_images (d);
      return TRUE;
    }
  *model = NULL;
  *dataset = NULL;
  return FALSE;
}

void
somscope_window_show_error (SomscopeWindow *self,
                            const char     *message)
{
  AdwToast *toast;

  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));

  g_free (self->last_error);
  self->last_error = g_strdup (message);

  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 10);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* The maps stay as they are (and modified): only the user is told. */
static void
autosave_failed_cb (SomscopeWindow *self,
                    const char     *path,
                    const char     *message)
{
  g_autofree char *text = NULL;

  if (g_str_has_prefix (message, path))
    /* Translators: %s is the error, which names the file */
    text = g_strdup_printf (_("Could not autosave the maps: %s"), message);
  else
    /* Translators: the autosave file, then the error */
    text = g_strdup_printf (_("Could not autosave the maps to %s: %s"), path, message);
  somscope_window_show_error (self, text);
}

void
somscope_window_show_message (SomscopeWindow *self,
                              const char     *message)
{
  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

const char *
somscope_window_get_last_error (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return self->last_error;
}

static char *
recovered_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "somscope", "recovered.somscope", NULL);
}

/* The autosave of a session that did not close cleanly moves aside (so the
 * next training does not overwrite it) and is offered in a toast. */
void
somscope_window_offer_recovery (SomscopeWindow *self)
{
  g_autofree char *autosave = somscope_document_autosave_path ();
  g_autofree char *recovered = recovered_path ();
  AdwToast *toast;

  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));

  if (!g_file_test (autosave, G_FILE_TEST_IS_REGULAR) || g_rename (autosave, recovered) != 0)
    return;
  toast = adw_toast_new (_("Somscope did not close cleanly last time"));
  adw_toast_set_button_label (toast, _("_Restore the Maps"));
  adw_toast_set_action_name (toast, "win.restore");
  adw_toast_set_timeout (toast, 0);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
somscope_window_restore (SomscopeWindow *self)
{
  g_autofree char *recovered = recovered_path ();
  g_autoptr(GFile) file = g_file_new_for_path (recovered);

  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));
  somscope_window_open (self, file, NULL);
}

void
somscope_window_cancel_jobs (SomscopeWindow *self)
{
  g_return_if_fail (SOMSCOPE_IS_WINDOW (self));

  if (self->pending_cancellable != NULL)
    g_cancellable_cancel (self->pending_cancellable);
  if (self->pending != NULL)
    somscope_document_cancel (self->pending);
  if (self->document != NULL)
    somscope_document_cancel (self->document);
}

SomscopeMapView *
somscope_window_get_map_view (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return SOMSCOPE_MAP_VIEW (adw_view_stack_get_visible_child (self->view_stack));
}

GListModel *
somscope_window_get_gallery (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return G_LIST_MODEL (self->filtered_inputs);
}

const char *
somscope_window_get_unit_mix (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  if (!gtk_widget_get_visible (GTK_WIDGET (self->unit_mix_label)))
    return NULL;
  return gtk_label_get_text (self->unit_mix_label);
}

SomscopeTrajectoryView *
somscope_window_get_trajectory_view (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return self->trajectory_view;
}

GListModel *
somscope_window_get_mapped_layers (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return G_LIST_MODEL (self->mapped_layers);
}

SomscopeDocument *
somscope_window_get_document (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return self->document;
}

static void
close_response_cb (SomscopeWindow *self,
                   const char     *response,
                   AdwMessageDialog *dialog)
{
  if (g_str_equal (response, "discard"))
    {
      self->close_confirmed = TRUE;
      gtk_window_close (GTK_WINDOW (self));
    }
  else if (g_str_equal (response, "save"))
    {
      self->close_after_save = TRUE;
      gtk_widget_activate_action (GTK_WIDGET (self), "win.save", NULL);
    }
}

/* Unsaved maps ask before they go (they are in the autosave either way). */
static gboolean
confirm_close (SomscopeWindow *self)
{
  AdwMessageDialog *dialog;

  if (self->close_confirmed || self->document == NULL ||
      !somscope_document_get_modified (self->document) ||
      g_getenv ("SOMSCOPE_NO_CLOSE_PROMPT") != NULL)
    return FALSE;

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _("Save the Session?"),
                                                       _("The maps trained since the last save are kept in the autosave, but not in a session file of your own.")));
  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "discard", _("_Discard"),
                                    "save", _("_Save…"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "discard", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (dialog, "save", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "save");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_swapped (dialog, "response", G_CALLBACK (close_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

static gboolean
somscope_window_close_request (GtkWindow *window)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (window);
  GSettings *settings;
  int width, height;
  g_autofree char *autosave = somscope_document_autosave_path ();

  if (confirm_close (self))
    return TRUE;
  /* A clean close: the user saved or discarded the maps.  An autosave left
   * behind means Somscope did not close cleanly, and is offered back. */
  g_unlink (autosave);

  settings = somscope_application_get_settings (SOMSCOPE_APPLICATION (g_application_get_default ()));
  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (settings, "window-width", width);
  g_settings_set_int (settings, "window-height", height);
  g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));

  somscope_window_cancel_jobs (self);

  return GTK_WINDOW_CLASS (somscope_window_parent_class)->close_request (window);
}

/* Files dropped on the window open like files on the command line: a
 * model (and a dataset), a session, or activations. */
static gboolean
drop_cb (SomscopeWindow *self,
         const GValue   *value,
         double          x,
         double          y,
         GtkDropTarget  *target)
{
  GSList *files;
  GFile *first, *second = NULL;
  g_autofree char *name = NULL;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = gdk_file_list_get_files (g_value_get_boxed (value));
  if (files == NULL)
    return FALSE;
  first = files->data;
  if (files->next != NULL)
    second = files->next->data;
  name = g_file_get_basename (first);

  /* A dataset alone goes with the current model. */
  if (second == NULL && self->document != NULL &&
      somscope_document_get_model_file (self->document) != NULL &&
      !g_str_has_suffix (name, ".onnx") && !g_str_has_suffix (name, ".somscope") &&
      !g_str_has_suffix (name, ".npz"))
    somscope_window_open (self, somscope_document_get_model_file (self->document), first);
  else if (second != NULL && !g_str_has_suffix (name, ".onnx"))
    somscope_window_open (self, second, first);
  else
    somscope_window_open (self, first, second);
  g_slist_free (files);
  return TRUE;
}

/* "application" is not a construct property, so this waits for it. */
static void
application_changed_cb (SomscopeWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  GSettings *settings;

  if (app == NULL || !SOMSCOPE_IS_APPLICATION (app))
    return;
  settings = somscope_application_get_settings (SOMSCOPE_APPLICATION (app));
  gtk_menu_button_set_menu_model (self->primary_menu_button,
                                  G_MENU_MODEL (gtk_application_get_menu_by_id (app, "primary_menu")));
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (settings, "window-width"),
                               g_settings_get_int (settings, "window-height"));
  if (g_settings_get_boolean (settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  somscope_window_recent_init (self);
}

static void
somscope_window_realize (GtkWidget *widget)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);

  GTK_WIDGET_CLASS (somscope_window_parent_class)->realize (widget);
  self->upload_pool = somscope_upload_pool_keep (widget);
}

static void
somscope_window_unrealize (GtkWidget *widget)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (widget);

  g_clear_pointer (&self->upload_pool, cairo_surface_destroy);
  GTK_WIDGET_CLASS (somscope_window_parent_class)->unrealize (widget);
}

static void
somscope_window_dispose (GObject *object)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (object);

  if (self->pending_cancellable != NULL)
    g_cancellable_cancel (self->pending_cancellable);
  if (self->pending != NULL)
    somscope_document_cancel (self->pending);
  g_clear_object (&self->pending_cancellable);
  g_clear_object (&self->pending);
  g_clear_object (&self->pending_model);
  g_clear_object (&self->pending_dataset);
  if (self->document != NULL)
    somscope_document_cancel (self->document);
  g_clear_object (&self->document_signals);
  g_clear_object (&self->layers_signals);
  g_clear_object (&self->selected_layer_signals);
  g_clear_object (&self->unit_filter_map);
  g_clear_object (&self->document_bindings);
  g_clear_object (&self->document);
  if (self->gallery_grow_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->gallery_grow_id);
  self->gallery_grow_id = 0;
  g_clear_handle_id (&self->gallery_fit_id, g_source_remove);
  /* Closed before a new document's jobs were let go: the frame clock it
   * watches would leak (found by /window/upload-pool under LeakSanitizer). */
  stop_release_jobs (self);

  gtk_widget_dispose_template (GTK_WIDGET (object), SOMSCOPE_TYPE_WINDOW);
  g_clear_object (&self->layer_tree);
  G_OBJECT_CLASS (somscope_window_parent_class)->dispose (object);
}

static void
somscope_window_finalize (GObject *object)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (object);

  g_free (self->last_error);
  G_OBJECT_CLASS (somscope_window_parent_class)->finalize (object);
}

static void
somscope_window_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  SomscopeWindow *self = SOMSCOPE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_DOCUMENT:
      g_value_set_object (value, self->document);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
somscope_window_class_init (SomscopeWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = somscope_window_dispose;
  object_class->finalize = somscope_window_finalize;
  object_class->get_property = somscope_window_get_property;
  widget_class->realize = somscope_window_realize;
  widget_class->unrealize = somscope_window_unrealize;
  window_class->close_request = somscope_window_close_request;

  properties[PROP_DOCUMENT] =
    g_param_spec_object ("document", NULL, NULL, SOMSCOPE_TYPE_DOCUMENT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SOMSCOPE_TYPE_MAP_VIEW);
  g_type_ensure (SOMSCOPE_TYPE_TRAJECTORY_VIEW);
  g_type_ensure (SOMSCOPE_TYPE_LAYER_ROW);
  g_type_ensure (SOMSCOPE_TYPE_PROGRESS_LINE);
  g_type_ensure (SOMSCOPE_TYPE_LAYER);
  g_type_ensure (SOMSCOPE_TYPE_INPUT);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE_PATH "/somscope-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, sidebar_button);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, stop_button);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, attack_label);
  gtk_widget_class_bind_template_callback (widget_class, attack_query_tooltip_cb);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, loading_page);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, layer_list);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, layer_search);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, dataset_label);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, class_names);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, layer_title);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, feature_box);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, feature_adjustment);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, feature_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, gallery_empty_label);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, mapped_filter);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, feature_count_label);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, umatrix_view);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, hits_view);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, classes_view);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, component_view);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, response_view);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, multiples_list);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, gallery);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, gallery_count);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, unit_mix_label);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, unit_filter_button);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, wrong_filter_button);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, trajectory_stack);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, input_picture);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, input_label);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, adversarial_box);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, adversarial_picture);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, perturbation_picture);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, trajectory_view);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, mapped_layers);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, layer_selection);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, multiple_selection);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, filtered_inputs);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, input_filter);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, gallery_slice);
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, input_selection);
  gtk_widget_class_bind_template_callback (widget_class, layer_selection_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, layer_search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, layer_search_stop_cb);
  gtk_widget_class_bind_template_callback (widget_class, multiple_selection_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, trajectory_layer_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, input_selection_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, filter_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, unit_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, view_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, gallery_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, multiple_setup_cb);
  gtk_widget_class_bind_template_callback (widget_class, cell_bind_cb);
  gtk_widget_class_bind_template_callback (widget_class, cell_unbind_cb);

  somscope_window_install_actions (klass);
  somscope_window_recent_class_init (klass);
}

static void
somscope_window_init (SomscopeWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_custom_filter_set_filter_func (self->input_filter, input_filter_func, self, NULL);
  g_signal_connect_object (gtk_scrollable_get_hadjustment (GTK_SCROLLABLE (self->gallery)), "notify::page-size",
                           G_CALLBACK (queue_fit_gallery), self, G_CONNECT_SWAPPED);

  {
    GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

    g_signal_connect (factory, "setup", G_CALLBACK (layer_item_setup), self);
    g_signal_connect (factory, "bind", G_CALLBACK (layer_item_bind), self);
    g_signal_connect (factory, "unbind", G_CALLBACK (layer_item_unbind), self);
    gtk_list_view_set_factory (self->layer_list, factory);
    g_object_unref (factory);
  }
  /* the tree follows the document's layer list */
  self->layers_signals = g_signal_group_new (G_TYPE_LIST_MODEL);
  self->selected_layer_signals = g_signal_group_new (SOMSCOPE_TYPE_LAYER);
  g_signal_group_connect_swapped (self->selected_layer_signals, "notify::revision",
                                  G_CALLBACK (selected_layer_revision_cb), self);
  g_signal_group_connect_swapped (self->layers_signals, "items-changed", G_CALLBACK (layer_search_changed_cb), self);
  g_signal_group_connect_swapped (self->layers_signals, "items-changed", G_CALLBACK (layers_changed_cb), self);
  g_signal_connect (self, "notify::application", G_CALLBACK (application_changed_cb), NULL);

  {
    GtkDropTarget *target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);

    g_signal_connect_swapped (target, "drop", G_CALLBACK (drop_cb), self);
    gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
  }

  self->document_signals = g_signal_group_new (SOMSCOPE_TYPE_DOCUMENT);
  g_signal_group_connect_swapped (self->document_signals, "notify::selected-layer",
                                  G_CALLBACK (sync_layer_selection), self);
  g_signal_group_connect_swapped (self->document_signals, "notify::selected-input",
                                  G_CALLBACK (sync_selected_input), self);
  g_signal_group_connect_swapped (self->document_signals, "notify::selected-unit",
                                  G_CALLBACK (sync_selected_unit), self);
  g_signal_group_connect_swapped (self->document_signals, "notify::attacking",
                                  G_CALLBACK (sync_summary), self);
  g_signal_group_connect_swapped (self->document_signals, "notify::summary",
                                  G_CALLBACK (sync_summary), self);
  g_signal_group_connect_swapped (self->document_signals, "notify::busy",
                                  G_CALLBACK (somscope_window_update_actions), self);
  g_signal_group_connect_swapped (self->document_signals, "notify::busy",
                                  G_CALLBACK (sync_subtitle), self);
  g_signal_group_connect_swapped (self->document_signals, "notify::message",
                                  G_CALLBACK (sync_subtitle), self);
  g_signal_group_connect_swapped (self->document_signals, "notify::estimate",
                                  G_CALLBACK (sync_subtitle), self);
  g_signal_group_connect_swapped (self->document_signals, "notify::title",
                                  G_CALLBACK (sync_subtitle), self);
  g_signal_group_connect_swapped (self->document_signals, "autosave-failed",
                                  G_CALLBACK (autosave_failed_cb), self);
  g_signal_group_connect_swapped (self->document_signals, "notify::selected-layer",
                                  G_CALLBACK (somscope_window_update_actions), self);

  /* The progress line and Stop follow the document's coalesced progress
   * properties; the subtitle follows them in sync_subtitle(). */
  self->document_bindings = g_binding_group_new ();
  /* Shown by opacity: a line that came and went changed the overlay's
   * children, and laid the window out, as the jobs started and ended. */
  g_binding_group_bind_full (self->document_bindings, "busy", self->progress_bar, "opacity",
                             G_BINDING_SYNC_CREATE, boolean_to_opacity, NULL, NULL, NULL);
  g_signal_connect (self->progress_bar, "notify::opacity", G_CALLBACK (hidden_by_opacity_cb), NULL);
  hidden_by_opacity_cb (GTK_WIDGET (self->progress_bar), NULL, NULL);
  g_binding_group_bind (self->document_bindings, "busy", self->stop_button, "visible",
                        G_BINDING_SYNC_CREATE);
  g_binding_group_bind (self->document_bindings, "progress", self->progress_bar, "fraction",
                        G_BINDING_SYNC_CREATE);

  gtk_widget_set_visible (self->sidebar_button, FALSE);
  view_changed_cb (self);
  update_gallery_count (self);
  somscope_window_update_actions (self);
}

GListModel *
somscope_window_get_layer_rows (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return G_LIST_MODEL (self->layer_selection);
}

GtkEditable *
somscope_window_get_layer_search (SomscopeWindow *self)
{
  g_return_val_if_fail (SOMSCOPE_IS_WINDOW (self), NULL);
  return GTK_EDITABLE (self->layer_search);
}

SomscopeWindow *
somscope_window_new (SomscopeApplication *app)
{
  return g_object_new (SOMSCOPE_TYPE_WINDOW, "application", app, NULL);
}
