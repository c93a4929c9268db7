/* fuzz-common.h: shared set-up of the libFuzzer harnesses
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each harness feeds one parser of libsomscope with arbitrary bytes.  The
 * memory budget is lowered to 64 MiB, so a parser that sizes an allocation
 * from the file without checking it against som_memory_budget() shows up as
 * libFuzzer's "malloc limit" (run with -rss_limit_mb=1024) long before the
 * machine swaps.  g_critical() is fatal: a precondition failing inside a
 * parser is a bug, not an error message.  Files the parsers need on disk go
 * into one private temporary folder, removed at exit.
 */
#pragma once

#define _GNU_SOURCE

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "som.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static char *fuzz_dir;

static void
fuzz_cleanup (void)
{
  if (fuzz_dir != NULL)
    {
      g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", fuzz_dir);
      if (system (cmd) != 0)
        g_printerr ("fuzz: could not remove %s\n", fuzz_dir);
    }
}

static void
fuzz_init (void)
{
  g_autoptr(GError) error = NULL;

  g_setenv ("SOMSCOPE_MEMORY_BUDGET", "67108864", TRUE);
  g_setenv ("OPENBLAS_NUM_THREADS", "1", TRUE);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
  /* A RAM-backed folder when there is one: every input goes through a file. */
  if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) && g_access ("/dev/shm", W_OK) == 0)
    {
      fuzz_dir = g_strdup ("/dev/shm/somscope-fuzz-XXXXXX");
      if (g_mkdtemp (fuzz_dir) == NULL)
        g_clear_pointer (&fuzz_dir, g_free);
    }
  if (fuzz_dir == NULL)
    fuzz_dir = g_dir_make_tmp ("somscope-fuzz-XXXXXX", &error);
  if (fuzz_dir == NULL)
    g_error ("fuzz: %s", error->message);
  atexit (fuzz_cleanup);
}

/* Writes @data to @name (a path relative to the private folder, whose parent
 * folders are created) and returns the full path. */
G_GNUC_UNUSED static char *
fuzz_write (const char *name, const guint8 *data, gsize size)
{
  char *path = g_build_filename (fuzz_dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  FILE *f;

  /* Plain stdio: g_file_set_contents() would fsync every input. */
  g_mkdir_with_parents (parent, 0700);
  f = fopen (path, "wb");
  if (f == NULL || (size > 0 && fwrite (data, 1, size, f) != size) || fclose (f) != 0)
    g_error ("fuzz: cannot write %s", path);
  return path;
}

/* Every failure must come back as a GError with a message that names
 * something (never an empty message). */
G_GNUC_UNUSED static void
fuzz_check_error (gboolean ok, GError *error)
{
  if (!ok)
    {
      if (error == NULL || error->message == NULL || error->message[0] == '\0')
        {
          /* abort(), not g_error(): libFuzzer saves the input on SIGABRT, not on SIGTRAP. */
          g_printerr ("fuzz: failure without an error message\n");
          abort ();
        }
    }
  else if (error != NULL)
    {
      g_printerr ("fuzz: success with an error set: %s\n", error->message);
      abort ();
    }
}
