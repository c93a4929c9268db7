/* cli-export.c: somscope-cli export SESSION --what … --format … --out DIR
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli-commands.h"

int
cli_cmd_export (CliContext *ctx, int argc, char **argv)
{
  g_autofree char *what = NULL;
  g_autofree char *format = NULL;
  g_autofree char *out = NULL;
  const GOptionEntry entries[] = {
    { "what", 0, 0, G_OPTION_ARG_STRING, &what,
      "What to export: codebooks, bmus, metrics or activations (the N×D codes)", "WHAT" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format,
      "npy (default), csv, or cod (SOM_PAK; codebooks only)", "FORMAT" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Folder to write into (created if needed)", "DIR" },
    { NULL }
  };
  static const char *whats[] = { "codebooks", "bmus", "metrics", "activations" };
  static const char *formats[] = { "npy", "csv", "cod" };
  g_autoptr(GError) error = NULL;
  g_autoptr(SomSession) session = NULL;
  g_auto(GStrv) files = NULL;
  int w = -1, f = 0;

  if (!cli_parse (ctx, &argc, &argv, "SESSION",
                  "Export a session's codebooks, BMUs, metrics or activation codes for numpy,\n"
                  "spreadsheets or SOM_PAK. File names are listed in docs/formats.md.",
                  entries, TRUE))
    return CLI_EXIT_USAGE;
  if (argc != 2)
    return cli_usage_error (ctx, "expected one SESSION file");
  for (guint i = 0; what != NULL && i < G_N_ELEMENTS (whats); i++)
    if (g_str_equal (what, whats[i]))
      w = i;
  if (w < 0)
    return cli_usage_error (ctx, "--what must be codebooks, bmus, metrics or activations");
  if (format != NULL)
    {
      f = -1;
      for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
        if (g_str_equal (format, formats[i]))
          f = i;
      if (f < 0)
        return cli_usage_error (ctx, "--format must be npy, csv or cod");
    }
  if (f == SOM_EXPORT_COD && w != SOM_EXPORT_CODEBOOKS)
    return cli_usage_error (ctx, "--format cod is for --what codebooks only");
  if (out == NULL)
    return cli_usage_error (ctx, "--out DIR is required");

  session = som_session_load (argv[1], &error);
  if (session == NULL)
    return cli_fail_error (error);
  files = som_session_export (session, w, f, out, &error);
  if (files == NULL)
    return cli_fail_error (error);

  if (ctx->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "files");
      json_builder_begin_array (b);
      for (char **p = files; *p; p++)
        json_builder_add_string_value (b, *p);
      json_builder_end_array (b);
      json_builder_end_object (b);
      cli_print_json (b);
    }
  else if (!ctx->quiet)
    for (char **p = files; *p; p++)
      printf ("%s\n", *p);
  return CLI_EXIT_OK;
}
