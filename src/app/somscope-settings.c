/* somscope-settings.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>
#include <glib/gstdio.h>

#include "somscope-settings.h"

#define SCHEMA_ID "io.github.somscope.Somscope"

static GSettingsSchema *
lookup_in_directory (const char *dir)
{
  g_autoptr(GSettingsSchemaSource) source = NULL;
  g_autofree char *compiled = g_build_filename (dir, "gschemas.compiled", NULL);

  if (!g_file_test (compiled, G_FILE_TEST_IS_REGULAR))
    return NULL;
  source = g_settings_schema_source_new_from_directory (dir,
                                                        g_settings_schema_source_get_default (),
                                                        FALSE, NULL);
  if (source == NULL)
    return NULL;
  return g_settings_schema_source_lookup (source, SCHEMA_ID, FALSE);
}

/* The schema compiled at build time is also in the resources.  GSettings only
 * reads schemas from a folder, so it goes to a private temporary folder for
 * the moment it takes to map it. */
static GSettingsSchema *
lookup_in_resources (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  GSettingsSchema *schema;

  bytes = g_resources_lookup_data (RESOURCE_BASE_PATH "/gschemas.compiled",
                                   G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (bytes == NULL)
    return NULL;
  dir = g_dir_make_tmp ("somscope-schema-XXXXXX", NULL);
  if (dir == NULL)
    return NULL;
  path = g_build_filename (dir, "gschemas.compiled", NULL);
  schema = NULL;
  if (g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL))
    schema = lookup_in_directory (dir);
  g_unlink (path);
  g_rmdir (dir);
  return schema;
}

GSettings *
somscope_settings_new (gboolean *persistent)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettingsBackend) backend = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, SCHEMA_ID, TRUE);
  if (schema == NULL)
    {
      g_autofree char *build_dir = g_build_filename (SOMSCOPE_BUILD_DIR, "data", NULL);

      schema = lookup_in_directory (build_dir);
    }
  if (schema != NULL)
    {
      if (persistent)
        *persistent = TRUE;
      return g_settings_new_full (schema, NULL, NULL);
    }

  if (persistent)
    *persistent = FALSE;
  schema = lookup_in_resources ();
  /* The resource is built from the same schema file, so this cannot fail
   * short of a broken build. */
  g_assert (schema != NULL);
  backend = g_memory_settings_backend_new ();
  return g_settings_new_full (schema, backend, NULL);
}
