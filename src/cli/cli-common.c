/* cli-common.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>

#include "cli-common.h"

gboolean
cli_parse (CliContext          *ctx,
           int                 *argc,
           char              ***argv,
           const char          *parameter_string,
           const char          *summary,
           const GOptionEntry  *entries,
           gboolean             with_json)
{
  const GOptionEntry common[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &ctx->json, "Print one JSON object on stdout", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &ctx->quiet, "No progress on stderr", NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &ctx->threads, "Worker and BLAS threads (default: every core)", "N" },
    { "batch-size", 0, 0, G_OPTION_ARG_INT, &ctx->batch_size, "Images per inference batch (default 64)", "B" },
    { NULL }
  };
  g_autoptr(GOptionContext) octx = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("somscope-cli %s", ctx->command);

  /* GOption prints "Usage: PRGNAME [OPTION…] PARAMETERS". */
  g_set_prgname (prgname);
  octx = g_option_context_new (parameter_string);
  if (summary != NULL)
    g_option_context_set_summary (octx, summary);
  if (entries != NULL)
    g_option_context_add_main_entries (octx, entries, NULL);
  if (!with_json)
    {
      /* Every command accepts --quiet, --threads and --batch-size; --json only where it means something. */
      g_option_context_add_main_entries (octx, common + 1, NULL);
    }
  else
    g_option_context_add_main_entries (octx, common, NULL);
  g_option_context_set_help_enabled (octx, TRUE);

  if (!g_option_context_parse (octx, argc, argv, &error))
    {
      g_printerr ("somscope-cli %s: %s\n", ctx->command, error->message);
      g_printerr ("Try 'somscope-cli %s --help'.\n", ctx->command);
      return FALSE;
    }
  if (ctx->threads < 0 || ctx->threads > 1024)
    {
      g_printerr ("somscope-cli %s: --threads must be between 1 and 1024\n", ctx->command);
      return FALSE;
    }
  if (ctx->batch_size <= 0 || ctx->batch_size > 65536)
    {
      g_printerr ("somscope-cli %s: --batch-size must be between 1 and 65536\n", ctx->command);
      return FALSE;
    }
  return TRUE;
}

GOptionEntry *
cli_entries_concat (const GOptionEntry *first,
                    const GOptionEntry *second)
{
  guint n1 = 0, n2 = 0;
  GOptionEntry *all;

  while (first != NULL && first[n1].long_name != NULL)
    n1++;
  while (second != NULL && second[n2].long_name != NULL)
    n2++;
  all = g_new0 (GOptionEntry, n1 + n2 + 1);
  if (n1 > 0)
    memcpy (all, first, n1 * sizeof (GOptionEntry));
  if (n2 > 0)
    memcpy (all + n1, second, n2 * sizeof (GOptionEntry));
  return all;
}

int
cli_fail_error (GError *error)
{
  g_printerr ("somscope-cli: %s\n", error->message);
  return CLI_EXIT_FAILURE;
}

int
cli_fail (const char *format, ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("somscope-cli: %s\n", msg);
  return CLI_EXIT_FAILURE;
}

int
cli_usage_error (CliContext *ctx, const char *format, ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("somscope-cli %s: %s\n", ctx->command, msg);
  g_printerr ("Try 'somscope-cli %s --help'.\n", ctx->command);
  return CLI_EXIT_USAGE;
}

void
cli_print_json (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

char *
cli_command_line (CliContext *ctx)
{
  GString *s = g_string_new ("somscope-cli");

  for (int i = 1; i < ctx->argc; i++)
    {
      g_autofree char *q = g_shell_quote (ctx->argv[i]);
      g_string_append_c (s, ' ');
      g_string_append (s, q);
    }
  return g_string_free (s, FALSE);
}

JsonNode *
cli_provenance_node (CliContext *ctx)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *cmdline = cli_command_line (ctx);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *iso = g_date_time_format_iso8601 (now);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "somscope_version");
  json_builder_add_string_value (b, som_version ());
  json_builder_set_member_name (b, "command_line");
  json_builder_add_string_value (b, cmdline);
  json_builder_set_member_name (b, "threads");
  json_builder_add_int_value (b, cli_threads (ctx));
  json_builder_set_member_name (b, "created");
  json_builder_add_string_value (b, iso);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

void
cli_add_provenance (CliContext *ctx, JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "provenance");
  json_builder_add_value (builder, cli_provenance_node (ctx));
}

int
cli_threads (CliContext *ctx)
{
  static int applied = -1;
  int n = ctx->threads > 0 ? ctx->threads : (int) g_get_num_processors ();

  if (applied != n)
    {
      openblas_set_num_threads (n);
      applied = n;
    }
  return n;
}

typedef struct
{
  gint64 last_us;
  gboolean dirty_line;
} ProgressState;

static ProgressState progress_state;

void
cli_progress (double fraction, const char *message, gpointer user_data)
{
  CliContext *ctx = user_data;
  gint64 now = g_get_monotonic_time ();
  gboolean tty = isatty (STDERR_FILENO);

  if (ctx != NULL && ctx->quiet)
    return;
  if (tty)
    {
      if (now - progress_state.last_us < 50000)
        return;
      progress_state.last_us = now;
      if (fraction >= 0)
        {
          int width = 30, filled = (int) (CLAMP (fraction, 0, 1) * width + 0.5);
          g_autofree char *bar = g_strnfill (filled, '#');
          g_autofree char *rest = g_strnfill (width - filled, ' ');
          g_printerr ("\r[%s%s] %3.0f%% %-50.50s", bar, rest, 100 * fraction, message ? message : "");
        }
      else
        g_printerr ("\r%-80.80s", message ? message : "");
      progress_state.dirty_line = TRUE;
    }
  else
    {
      if (progress_state.last_us != 0 && now - progress_state.last_us < G_USEC_PER_SEC)
        return;
      progress_state.last_us = now;
      if (fraction >= 0)
        g_printerr ("%3.0f%% %s\n", 100 * fraction, message ? message : "");
      else
        g_printerr ("%s\n", message ? message : "");
    }
}

void
cli_progress_done (CliContext *ctx)
{
  if (progress_state.dirty_line)
    g_printerr ("\n");
  progress_state.dirty_line = FALSE;
  progress_state.last_us = 0;
}

void
cli_message (CliContext *ctx, const char *format, ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  if (ctx->quiet)
    return;
  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  cli_progress_done (ctx);
  g_printerr ("%s\n", msg);
}
