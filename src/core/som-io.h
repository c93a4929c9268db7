/* som-io.h: atomic file output, and numbers in JSON
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Writes @len bytes to @path atomically: a temporary file in the same folder,
 * fsync, then rename over the target.  A crash leaves the old file intact. */
gboolean  som_file_set_contents_atomic (const char  *path,
                                        const void  *data,
                                        gsize        len,
                                        GError     **error);

/* A temporary path beside @path for writers that produce the file themselves
 * (libzip, Cairo surfaces); commit with som_file_commit_atomic(). */
char     *som_file_temp_path_for       (const char  *path);
gboolean  som_file_commit_atomic       (const char  *tmp_path,
                                        const char  *path,
                                        GError     **error);

/* Sets @member to @value, or to null when @value is not finite (JSON has no
 * NaN or infinity). */
void      som_json_add_number          (JsonBuilder *builder,
                                        const char  *member,
                                        double       value);

/* For tests of atomicity: when SOMSCOPE_TEST_ABORT_SAVE is set, writers call
 * this midway and the process aborts, leaving only the temporary file. */
void      som_io_test_abort_point      (void);

G_END_DECLS
