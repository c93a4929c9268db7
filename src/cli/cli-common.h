/* cli-common.h: what every somscope-cli command shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "som.h"

G_BEGIN_DECLS

/* Exit statuses of contracts.md section 3. */
#define CLI_EXIT_OK      0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE   2

typedef struct
{
  /* Set by main before the command runs */
  const char *command;
  int         argc;       /* the whole command line, for provenance */
  char      **argv;

  /* Common options, parsed by cli_parse() */
  gboolean    json;
  gboolean    quiet;
  int         threads;    /* 0 = every core */
  int         batch_size; /* default 64 */
} CliContext;

typedef int (*CliCommandFunc) (CliContext *ctx,
                               int         argc,
                               char      **argv);

/* Parses @entries plus the common options (--json, --quiet, --threads,
 * --batch-size) with GOptionContext.  On a usage error prints it and returns
 * FALSE (exit CLI_EXIT_USAGE).  @parameter_string is e.g. "MODEL DATASET". */
gboolean    cli_parse              (CliContext     *ctx,
                                    int            *argc,
                                    char         ***argv,
                                    const char     *parameter_string,
                                    const char     *summary,
                                    const GOptionEntry *entries,
                                    gboolean        with_json);

/* @first's entries then @second's (each NULL-terminated, or NULL), in one
 * new NULL-terminated array: g_free it. */
GOptionEntry *cli_entries_concat   (const GOptionEntry *first,
                                    const GOptionEntry *second);

/* Prints "somscope-cli: MESSAGE" (one line) and returns CLI_EXIT_FAILURE. */
int         cli_fail_error         (GError      *error);
int         cli_fail               (const char  *format,
                                    ...) G_GNUC_PRINTF (1, 2);
/* Prints "somscope-cli COMMAND: MESSAGE" and a hint; returns CLI_EXIT_USAGE. */
int         cli_usage_error        (CliContext  *ctx,
                                    const char  *format,
                                    ...) G_GNUC_PRINTF (2, 3);

/* Prints @object as the single JSON object on stdout. */
void        cli_print_json         (JsonBuilder *builder);
/* {"version","command_line","threads","time"}: add with json_builder. */
void        cli_add_provenance     (CliContext  *ctx,
                                    JsonBuilder *builder);
JsonNode   *cli_provenance_node    (CliContext  *ctx);
char       *cli_command_line       (CliContext  *ctx);

/* Effective thread count (--threads, or every core); also applies it to
 * OpenBLAS. */
int         cli_threads            (CliContext  *ctx);

/* Progress on stderr: a live bar on a terminal, else at most a line a second. */
void        cli_progress           (double       fraction,
                                    const char  *message,
                                    gpointer     user_data /* CliContext */);
void        cli_progress_done      (CliContext  *ctx);
void        cli_message            (CliContext  *ctx,
                                    const char  *format,
                                    ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
