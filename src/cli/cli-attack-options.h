/* cli-attack-options.h: the attack flags `attack` and `analyze` share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "cli-common.h"

G_BEGIN_DECLS

/* --method --norm --eps --eps-sweep --steps --alpha --random-start --restarts
 * --targeted --labels-from --seed (contracts.md section 3).  Zero-initialise,
 * put cli_attack_entries() into the command's entries, then call
 * cli_attack_check() after parsing. */
typedef struct
{
  /* Filled by GOptionContext */
  char     *method;
  char     *norm;
  double    eps;
  char     *eps_sweep;
  int       steps;
  double    alpha;
  gboolean  random_start;
  int       restarts;
  int       targeted;
  char     *labels_from;
  gint64    seed;

  /* Filled by cli_attack_check() */
  SomAttackParams params;
  GArray   *eps_list;       /* double, ascending; the last is params.eps */
} CliAttackOptions;

/* Sets the defaults; call before parsing. */
void           cli_attack_options_init   (CliAttackOptions *opts);
/* The attack flags, NULL-terminated (g_free it); without --method for
 * `analyze`, which names the method with --attack. */
GOptionEntry  *cli_attack_entries        (CliAttackOptions *opts,
                                          gboolean          with_method);
/* Validates; on a bad flag prints a usage error and returns FALSE.
 * @method_required: `attack` needs --method, `analyze` defaults to FGSM. */
gboolean       cli_attack_check          (CliContext       *ctx,
                                          CliAttackOptions *opts,
                                          gboolean          method_required);
void           cli_attack_options_clear  (CliAttackOptions *opts);

G_END_DECLS
