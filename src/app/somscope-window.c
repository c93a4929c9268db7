/* somscope-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "somscope-window.h"

struct _SomscopeWindow
{
  AdwApplicationWindow parent_instance;

  /* Template widgets */
  AdwWindowTitle *window_title;
};

G_DEFINE_FINAL_TYPE (SomscopeWindow, somscope_window, ADW_TYPE_APPLICATION_WINDOW)

static void
somscope_window_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), SOMSCOPE_TYPE_WINDOW);
  G_OBJECT_CLASS (somscope_window_parent_class)->dispose (object);
}

static void
somscope_window_class_init (SomscopeWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = somscope_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE_PATH "/somscope-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SomscopeWindow, window_title);
}

static void
somscope_window_init (SomscopeWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

SomscopeWindow *
somscope_window_new (SomscopeApplication *app)
{
  return g_object_new (SOMSCOPE_TYPE_WINDOW, "application", app, NULL);
}
