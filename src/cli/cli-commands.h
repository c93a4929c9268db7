/* cli-commands.h: one function per subcommand, each in cli-<name>.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "cli-common.h"

G_BEGIN_DECLS

/* Add new commands here and to the table in main.c. */
int cli_cmd_version (CliContext *ctx, int argc, char **argv);

/* -- onnx (model, executor, operators) */
int cli_cmd_inspect (CliContext *ctx, int argc, char **argv);
int cli_cmd_run (CliContext *ctx, int argc, char **argv);

/* -- datasets and preprocessing */
int cli_cmd_eval        (CliContext *ctx, int argc, char **argv);
int cli_cmd_activations (CliContext *ctx, int argc, char **argv);

/* -- som (grid, trainer, map files) */
int cli_cmd_train_som (CliContext *ctx, int argc, char **argv);
int cli_cmd_convert   (CliContext *ctx, int argc, char **argv);

/* -- figures (renderers, colour maps, export) */
int cli_cmd_figure (CliContext *ctx, int argc, char **argv);

/* -- attacks and analysis */
int cli_cmd_attack  (CliContext *ctx, int argc, char **argv);
int cli_cmd_analyze (CliContext *ctx, int argc, char **argv);

/* -- sessions */
int cli_cmd_export (CliContext *ctx, int argc, char **argv);

G_END_DECLS
