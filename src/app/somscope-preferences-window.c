/* somscope-preferences-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "somscope-preferences-window.h"

struct _SomscopePreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  /* Template widgets */
  GtkSpinButton *rows_spin;
  GtkSpinButton *cols_spin;
  AdwComboRow   *topology_row;
  GtkSwitch     *toroidal_switch;
  GtkSpinButton *epochs_spin;
  AdwComboRow   *codes_row;
  GtkSpinButton *seed_spin;
  GtkSpinButton *limit_spin;
  AdwComboRow   *colormap_row;
  AdwComboRow   *method_row;
  GtkSpinButton *eps_spin;
  GtkSpinButton *steps_spin;
  GtkWidget     *eps_row;
  GtkWidget     *steps_row;
};

G_DEFINE_FINAL_TYPE (SomscopePreferencesWindow, somscope_preferences_window,
                     ADW_TYPE_PREFERENCES_WINDOW)

/* Enum keys hold nicks; combo rows hold positions.  The key's schema lists
 * the nicks in the same order as the rows. */
static gboolean
enum_to_position (GValue   *value,
                  GVariant *variant,
                  gpointer  user_data)
{
  GSettingsSchemaKey *key = user_data;
  g_autoptr(GVariant) range = g_settings_schema_key_get_range (key);
  g_autoptr(GVariant) values = NULL;
  const char *type;
  const char *nick = g_variant_get_string (variant, NULL);

  g_variant_get (range, "(&sv)", &type, &values);
  for (gsize i = 0; i < g_variant_n_children (values); i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (values, i);

      if (g_str_equal (g_variant_get_string (child, NULL), nick))
        {
          g_value_set_uint (value, i);
          return TRUE;
        }
    }
  return FALSE;
}

static GVariant *
position_to_enum (const GValue       *value,
                  const GVariantType *expected_type,
                  gpointer            user_data)
{
  GSettingsSchemaKey *key = user_data;
  g_autoptr(GVariant) range = g_settings_schema_key_get_range (key);
  g_autoptr(GVariant) values = NULL;
  const char *type;
  guint position = g_value_get_uint (value);

  g_variant_get (range, "(&sv)", &type, &values);
  if (position >= g_variant_n_children (values))
    return NULL;
  return g_variant_get_child_value (values, position);
}

static void
bind_combo (GSettings   *settings,
            const char  *key_name,
            AdwComboRow *row)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  GSettingsSchemaKey *key;

  g_object_get (settings, "settings-schema", &schema, NULL);
  key = g_settings_schema_get_key (schema, key_name);
  g_settings_bind_with_mapping (settings, key_name, row, "selected", G_SETTINGS_BIND_DEFAULT,
                                enum_to_position, position_to_enum,
                                key, (GDestroyNotify) g_settings_schema_key_unref);
}

/* The strength is the attacks', the steps PGD's alone. */
static void
method_changed_cb (SomscopePreferencesWindow *self)
{
  guint method = adw_combo_row_get_selected (self->method_row);

  gtk_widget_set_sensitive (self->eps_row, method != 0);
  gtk_widget_set_sensitive (self->steps_row, method == 2);
}

static void
somscope_preferences_window_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), SOMSCOPE_TYPE_PREFERENCES_WINDOW);
  G_OBJECT_CLASS (somscope_preferences_window_parent_class)->dispose (object);
}

static void
somscope_preferences_window_class_init (SomscopePreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = somscope_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE_PATH "/somscope-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, rows_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, cols_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, topology_row);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, toroidal_switch);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, epochs_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, codes_row);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, limit_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, colormap_row);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, method_row);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, eps_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, steps_spin);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, eps_row);
  gtk_widget_class_bind_template_child (widget_class, SomscopePreferencesWindow, steps_row);
}

static void
somscope_preferences_window_init (SomscopePreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
somscope_preferences_window_new (GSettings *settings)
{
  SomscopePreferencesWindow *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (SOMSCOPE_TYPE_PREFERENCES_WINDOW, NULL);
  g_settings_bind (settings, "som-rows", self->rows_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "som-cols", self->cols_spin, "value", G_SETTINGS_BIND_DEFAULT);
  bind_combo (settings, "som-topology", self->topology_row);
  g_settings_bind (settings, "som-toroidal", self->toroidal_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "som-epochs", self->epochs_spin, "value", G_SETTINGS_BIND_DEFAULT);
  bind_combo (settings, "som-codes", self->codes_row);
  g_settings_bind (settings, "som-seed", self->seed_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "image-limit", self->limit_spin, "value", G_SETTINGS_BIND_DEFAULT);
  bind_combo (settings, "colormap", self->colormap_row);
  bind_combo (settings, "attack-method", self->method_row);
  g_settings_bind (settings, "attack-eps", self->eps_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "attack-steps", self->steps_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_swapped (self->method_row, "notify::selected", G_CALLBACK (method_changed_cb), self);
  method_changed_cb (self);
  return GTK_WIDGET (self);
}
