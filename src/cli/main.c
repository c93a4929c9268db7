/* main.c: somscope-cli, the scriptable front end over libsomscope
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli-commands.h"

typedef struct
{
  const char     *name;
  CliCommandFunc  func;
  const char     *summary;
} CliCommand;

static const CliCommand commands[] = {
  { "version", cli_cmd_version, "Print the version" },

  /* -- onnx (model, executor, operators) */
  { "inspect", cli_cmd_inspect, "Show a model's inputs, outputs and layers" },
  { "run", cli_cmd_run, "Run a model on given tensors (.npy or ONNX .pb)" },

  /* -- datasets and preprocessing */
  { "eval", cli_cmd_eval, "Classification accuracy of a model on a dataset" },
  { "activations", cli_cmd_activations, "Per-layer activations of a model on a dataset, as .npz" },

  /* -- som (grid, trainer, map files) */
  { "train-som", cli_cmd_train_som, "Train a self-organizing map on a matrix" },
  { "convert", cli_cmd_convert, "Convert a map between SOM.npz and SOM_PAK .cod" },

  /* -- figures (renderers, colour maps, export) */
  { "figure", cli_cmd_figure, "Draw a view of a map as PNG, SVG or PDF" },

  /* -- attacks and analysis */
  { "attack", cli_cmd_attack, "Adversarial examples (FGSM, FGM, PGD) in pixel space" },
  { "analyze", cli_cmd_analyze, "One SOM per layer: homogeneity metrics, adversarial trajectories, trends" },

  /* -- sessions */
  { "export", cli_cmd_export, "Export a session's codebooks, BMUs, metrics or codes (npy, csv, cod)" },

};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: somscope-cli COMMAND [ARGS…]\n\n"
                "Look inside trained neural networks with self-organizing maps.\n\n"
                "Commands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-14s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun 'somscope-cli COMMAND --help' for a command's options.\n");
}

int
cli_cmd_version (CliContext *ctx, int argc, char **argv)
{
  printf ("somscope-cli %s\n", som_version ());
  return CLI_EXIT_OK;
}

int
main (int argc, char **argv)
{
  CliContext ctx = { 0 };
  g_auto(GStrv) argv_copy = NULL;

  setlocale (LC_ALL, "");
  /* Numbers in JSON, CSV and .cod files must not depend on the locale. */
  setlocale (LC_NUMERIC, "C");

  /* GOptionContext rewrites argv while a command parses it; provenance needs
   * the command line as given. */
  ctx.argc = argc;
  argv_copy = g_strdupv (argv);
  ctx.argv = argv_copy;
  ctx.batch_size = 64;

  if (argc < 2)
    {
      print_usage (stderr);
      return CLI_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "-V") == 0)
    return cli_cmd_version (&ctx, argc - 1, argv + 1);
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return CLI_EXIT_OK;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (strcmp (argv[1], commands[i].name) == 0)
        {
          ctx.command = commands[i].name;
          return commands[i].func (&ctx, argc - 1, argv + 1);
        }
    }

  g_printerr ("somscope-cli: unknown command '%s'\n", argv[1]);
  print_usage (stderr);
  return CLI_EXIT_USAGE;
}
