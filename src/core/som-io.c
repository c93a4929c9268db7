/* som-io.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "som-io.h"
#include "som-types.h"

char *
som_file_temp_path_for (const char *path)
{
  return g_strdup_printf ("%s.tmp-%d-%u", path, (int) getpid (), g_random_int ());
}

static gboolean
fsync_path (const char *path, GError **error)
{
  int fd = g_open (path, O_RDONLY, 0);

  if (fd < 0 || fsync (fd) != 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot flush: %s", path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

gboolean
som_file_commit_atomic (const char *tmp_path, const char *path, GError **error)
{
  if (!fsync_path (tmp_path, error))
    {
      g_unlink (tmp_path);
      return FALSE;
    }
  if (g_rename (tmp_path, path) != 0)
    {
      int saved = errno;
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write: %s", path, g_strerror (saved));
      g_unlink (tmp_path);
      return FALSE;
    }
  return TRUE;
}

gboolean
som_file_set_contents_atomic (const char *path, const void *data, gsize len, GError **error)
{
  g_autofree char *tmp = som_file_temp_path_for (path);
  const guint8 *p = data;
  int fd;

  fd = g_open (tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write: %s", path, g_strerror (saved));
      return FALSE;
    }
  while (len > 0)
    {
      gssize n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = errno;
          close (fd);
          g_unlink (tmp);
          g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write: %s", path,
                       g_strerror (saved ? saved : ENOSPC));
          return FALSE;
        }
      p += n;
      len -= n;
      som_io_test_abort_point ();
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

void
som_io_test_abort_point (void)
{
  if (g_getenv ("SOMSCOPE_TEST_ABORT_SAVE") != NULL)
    abort ();
}

void
som_json_add_number (JsonBuilder *builder,
                     const char  *member,
                     double       value)
{
  json_builder_set_member_name (builder, member);
  if (isfinite (value))
    json_builder_add_double_value (builder, value);
  else
    json_builder_add_null_value (builder);
}
