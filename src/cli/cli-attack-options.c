/* cli-attack-options.c: the attack flags `attack` and `analyze` share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "cli-attack-options.h"

void
cli_attack_options_init (CliAttackOptions *opts)
{
  memset (opts, 0, sizeof *opts);
  opts->eps = NAN;
  opts->steps = 10;
  opts->alpha = 0;
  opts->restarts = 1;
  opts->targeted = -1;
  opts->seed = 0;
}

GOptionEntry *
cli_attack_entries (CliAttackOptions *opts, gboolean with_method)
{
  const GOptionEntry e[] = {
    { "method", 0, 0, G_OPTION_ARG_STRING, &opts->method, "fgsm (one step; with --norm l2 it is FGM) or pgd", "fgsm|pgd" },
    { "norm", 0, 0, G_OPTION_ARG_STRING, &opts->norm, "Perturbation norm (default linf)", "linf|l2" },
    { "eps", 0, 0, G_OPTION_ARG_DOUBLE, &opts->eps, "Perturbation budget ε in [0,1] pixel units", "E" },
    { "eps-sweep", 0, 0, G_OPTION_ARG_STRING, &opts->eps_sweep, "Several budgets: robust accuracy per ε", "E1,E2,…" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &opts->steps, "PGD steps (default 10)", "K" },
    { "alpha", 0, 0, G_OPTION_ARG_DOUBLE, &opts->alpha, "PGD step size (default 2.5·ε/steps)", "A" },
    { "random-start", 0, 0, G_OPTION_ARG_NONE, &opts->random_start, "PGD starts at a random point of the ε ball", NULL },
    { "restarts", 0, 0, G_OPTION_ARG_INT, &opts->restarts, "PGD restarts, each from a random start (default 1)", "N" },
    { "targeted", 0, 0, G_OPTION_ARG_INT, &opts->targeted, "Push every input towards this class", "CLASS" },
    { "labels-from", 0, 0, G_OPTION_ARG_STRING, &opts->labels_from, "Attack the ground truth or the model's predictions (default truth)", "truth|model" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &opts->seed, "Seed of the random starts (default 0)", "S" },
    { NULL }
  };
  GOptionEntry *out = g_new0 (GOptionEntry, G_N_ELEMENTS (e));
  guint k = 0;

  for (guint i = 0; i + 1 < G_N_ELEMENTS (e); i++)
    if (with_method || g_strcmp0 (e[i].long_name, "method") != 0)
      out[k++] = e[i];
  return out;
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

gboolean
cli_attack_check (CliContext *ctx, CliAttackOptions *opts, gboolean method_required)
{
  SomAttackParams *p = &opts->params;
  g_autoptr(GError) error = NULL;

  som_attack_params_init (p);
  if (opts->method == NULL && method_required)
    {
      cli_usage_error (ctx, "--method fgsm|pgd is required");
      return FALSE;
    }
  if (opts->method != NULL && !som_attack_method_from_string (opts->method, &p->method))
    {
      cli_usage_error (ctx, "--method must be fgsm or pgd, not '%s'", opts->method);
      return FALSE;
    }
  if (opts->norm != NULL && !som_norm_from_string (opts->norm, &p->norm))
    {
      cli_usage_error (ctx, "--norm must be linf or l2, not '%s'", opts->norm);
      return FALSE;
    }
  if (opts->labels_from != NULL)
    {
      if (g_strcmp0 (opts->labels_from, "truth") == 0)
        p->labels_from = SOM_LABELS_TRUTH;
      else if (g_strcmp0 (opts->labels_from, "model") == 0)
        p->labels_from = SOM_LABELS_MODEL;
      else
        {
          cli_usage_error (ctx, "--labels-from must be truth or model, not '%s'", opts->labels_from);
          return FALSE;
        }
    }
  if (!isnan (opts->eps) && opts->eps_sweep != NULL)
    {
      cli_usage_error (ctx, "give --eps or --eps-sweep, not both");
      return FALSE;
    }
  opts->eps_list = g_array_new (FALSE, FALSE, sizeof (double));
  if (opts->eps_sweep != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (opts->eps_sweep, ",", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        {
          char *end = NULL;
          double v = g_ascii_strtod (g_strstrip (parts[i]), &end);
          if (end == parts[i] || *end != '\0')
            {
              cli_usage_error (ctx, "--eps-sweep: '%s' is not a number", parts[i]);
              return FALSE;
            }
          g_array_append_val (opts->eps_list, v);
        }
      g_array_sort (opts->eps_list, cmp_double);
    }
  else
    {
      double v = isnan (opts->eps) ? 0.1 : opts->eps;
      if (isnan (opts->eps) && method_required)
        {
          cli_usage_error (ctx, "--eps E (or --eps-sweep E1,E2,…) is required");
          return FALSE;
        }
      g_array_append_val (opts->eps_list, v);
    }
  if (opts->eps_list->len == 0)
    {
      cli_usage_error (ctx, "--eps-sweep needs at least one value");
      return FALSE;
    }
  if (opts->steps <= 0)
    {
      cli_usage_error (ctx, "--steps must be at least 1 (got %d)", opts->steps);
      return FALSE;
    }
  if (opts->restarts <= 0)
    {
      cli_usage_error (ctx, "--restarts must be at least 1 (got %d)", opts->restarts);
      return FALSE;
    }
  if (opts->alpha < 0 || !isfinite (opts->alpha))
    {
      cli_usage_error (ctx, "--alpha must be > 0 (got %g)", opts->alpha);
      return FALSE;
    }
  if (opts->seed < 0)
    {
      cli_usage_error (ctx, "--seed must be ≥ 0");
      return FALSE;
    }
  p->steps = opts->steps;
  p->alpha = opts->alpha;
  p->random_start = opts->random_start;
  p->restarts = opts->restarts;
  p->target = opts->targeted < 0 ? -1 : opts->targeted;
  p->seed = (guint64) opts->seed;
  p->batch_size = ctx->batch_size > 0 ? ctx->batch_size : 64;
  if (opts->targeted < -1)
    {
      cli_usage_error (ctx, "--targeted: class %d does not exist", opts->targeted);
      return FALSE;
    }
  for (guint i = 0; i < opts->eps_list->len; i++)
    {
      p->eps = g_array_index (opts->eps_list, double, i);
      if (!som_attack_params_check (p, 0, &error))
        {
          cli_usage_error (ctx, "%s", error->message);
          return FALSE;
        }
    }
  return TRUE;
}

void
cli_attack_options_clear (CliAttackOptions *opts)
{
  g_clear_pointer (&opts->method, g_free);
  g_clear_pointer (&opts->norm, g_free);
  g_clear_pointer (&opts->eps_sweep, g_free);
  g_clear_pointer (&opts->labels_from, g_free);
  g_clear_pointer (&opts->eps_list, g_array_unref);
}
