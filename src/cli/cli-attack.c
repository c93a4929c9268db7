/* cli-attack.c: somscope-cli attack MODEL DATASET — adversarial examples
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include "cli-attack-options.h"
#include "cli-commands.h"
#include "cli-dataset.h"

static SomArray *
i32_array (const gint32 *v, gsize n)
{
  SomArray *a = som_array_new_1d_i32 (n);
  memcpy (a->data, v, n * sizeof (gint32));
  return a;
}

static gboolean
write_adv (CliContext *ctx, const char *path, gboolean compress, const SomArray *images, const gint32 *truth,
           const gint32 *clean, const gint32 *adv, gsize n, JsonNode *meta, GError **error)
{
  g_autoptr(SomNpzWriter) w = som_npz_writer_new (path, compress, error);
  g_autoptr(SomArray) a_clean = NULL;
  g_autoptr(SomArray) a_adv = NULL;
  g_autofree char *text = NULL;

  if (w == NULL)
    return FALSE;
  if (!som_npz_writer_add_array (w, "images", images, error))
    return FALSE;
  if (truth != NULL)
    {
      g_autoptr(SomArray) l = i32_array (truth, n);
      if (!som_npz_writer_add_array (w, "labels", l, error))
        return FALSE;
    }
  a_clean = i32_array (clean, n);
  a_adv = i32_array (adv, n);
  if (!som_npz_writer_add_array (w, "clean_predictions", a_clean, error)
      || !som_npz_writer_add_array (w, "adversarial_predictions", a_adv, error))
    return FALSE;
  text = json_to_string (meta, TRUE);
  if (!som_npz_writer_add_string (w, "meta.json", text, error))
    return FALSE;
  return som_npz_writer_close (w, error);
}

int
cli_cmd_attack (CliContext *ctx, int argc, char **argv)
{
  CliDatasetOptions dopts = { 0 };
  CliAttackOptions aopts;
  char *out = NULL;
  gboolean compress = FALSE;
  g_autofree GOptionEntry *aentries = NULL;
  g_autofree GOptionEntry *own = NULL;
  g_autofree GOptionEntry *entries = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(SomDataset) dataset = NULL;
  g_autoptr(SomPreprocess) pp = NULL;
  g_autoptr(SomArray) pixels = NULL;
  g_autoptr(SomArray) last_adv = NULL;
  g_autoptr(GTimer) timer = g_timer_new ();
  g_autofree gint32 *clean = NULL;
  g_autofree gint32 *advp = NULL;
  g_autoptr(JsonBuilder) sweep = json_builder_new ();
  const gint32 *truth = NULL, *labels;
  SomPixelTransform tf;
  SomAttackStats st = { 0 };
  const SomValueInfo *oinfo;
  guint n_classes = 0;
  gsize n;
  int ret = CLI_EXIT_OK;

  cli_attack_options_init (&aopts);
  aentries = cli_attack_entries (&aopts, TRUE);
  {
    const GOptionEntry extra[] = {
      { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the adversarial images (at the largest ε) here", "ADV.npz" },
      { "compress", 0, 0, G_OPTION_ARG_NONE, &compress, "Deflate the .npz members", NULL },
      { NULL }
    };
    own = cli_entries_concat (aentries, extra);
  }
  entries = cli_dataset_entries (&dopts, own);
  if (!cli_parse (ctx, &argc, &argv, "MODEL DATASET",
                  "Adversarial examples on the [0,1] pixel scale: FGSM/FGM (one step) or PGD (L∞ or L2),\n"
                  "untargeted or --targeted, with any --mean/--std applied inside the model's input.\n"
                  "Prints clean and adversarial accuracy; --out writes the images as ADV.npz, which\n"
                  "every command accepts as a DATASET.",
                  entries, TRUE))
    {
      ret = CLI_EXIT_USAGE;
      goto done;
    }
  if (argc != 3)
    {
      ret = cli_usage_error (ctx, "expected MODEL DATASET");
      goto done;
    }
  if (!cli_dataset_check (ctx, &dopts) || !cli_attack_check (ctx, &aopts, TRUE))
    {
      ret = CLI_EXIT_USAGE;
      goto done;
    }
  cli_threads (ctx);

  model = som_model_load (argv[1], &error);
  if (model == NULL || !som_model_check_runnable (model, &error) || !som_model_check_differentiable (model, &error))
    goto fail;
  oinfo = som_model_get_output (model, 0);
  if (oinfo->ndim == 2 && oinfo->shape[1] > 0)
    n_classes = oinfo->shape[1];
  aopts.params.eps = g_array_index (aopts.eps_list, double, aopts.eps_list->len - 1);
  if (!som_attack_params_check (&aopts.params, n_classes, &error))
    {
      g_prefix_error (&error, "%s: ", argv[1]);
      goto fail;
    }
  dataset = cli_dataset_open (ctx, &dopts, argv[2], &error);
  if (dataset == NULL)
    goto fail;
  if (aopts.params.labels_from == SOM_LABELS_TRUTH && aopts.params.target < 0
      && !som_dataset_require_labels (dataset, &error))
    goto fail;
  if (som_dataset_has_labels (dataset))
    truth = som_dataset_get_labels (dataset);
  pp = cli_dataset_preprocess (&dopts, dataset, model, &error);
  if (pp == NULL)
    goto fail;
  n = som_dataset_get_count (dataset);
  pixels = som_preprocess_read_pixels (pp, 0, n, &error);
  if (pixels == NULL)
    goto fail;
  som_pixel_transform_init_from_preprocess (&tf, pp);
  clean = g_new (gint32, MAX (n, 1));
  advp = g_new (gint32, MAX (n, 1));
  if (!som_attack_predict (model, &tf, pixels, aopts.params.batch_size, clean, NULL, &error))
    goto fail;
  labels = aopts.params.labels_from == SOM_LABELS_MODEL || truth == NULL ? clean : truth;

  json_builder_begin_array (sweep);
  for (guint i = 0; i < aopts.eps_list->len; i++)
    {
      SomAttackParams p = aopts.params;
      g_autoptr(SomArray) adv = NULL;
      p.eps = g_array_index (aopts.eps_list, double, i);
      if (!som_attack_run (model, &p, &tf, pixels, labels, &adv, advp, NULL, ctx->quiet ? NULL : cli_progress, ctx,
                           &error))
        goto fail;
      som_attack_stats (truth, clean, advp, pixels, adv, p.target, &st);
      json_builder_begin_object (sweep);
      som_json_add_number (sweep, "eps", p.eps);
      som_json_add_number (sweep, "adversarial_accuracy", st.adversarial_accuracy);
      som_json_add_number (sweep, "attack_success_rate", st.attack_success_rate);
      som_json_add_number (sweep, "mean_linf", st.mean_linf);
      som_json_add_number (sweep, "mean_l2", st.mean_l2);
      json_builder_end_object (sweep);
      if (!ctx->json && aopts.eps_list->len > 1)
        printf ("ε %-8g adversarial accuracy %.4f, attack success rate %.4f\n", p.eps, st.adversarial_accuracy,
                st.attack_success_rate);
      g_clear_pointer (&last_adv, som_array_free);
      last_adv = g_steal_pointer (&adv);
    }
  json_builder_end_array (sweep);
  if (!ctx->quiet)
    cli_progress_done (ctx);

  if (out != NULL)
    {
      g_autoptr(JsonBuilder) m = json_builder_new ();
      const char * const *names = som_dataset_get_class_names (dataset);
      json_builder_begin_object (m);
      json_builder_set_member_name (m, "format");
      json_builder_add_string_value (m, "somscope-adversarial");
      json_builder_set_member_name (m, "version");
      json_builder_add_int_value (m, 1);
      json_builder_set_member_name (m, "model");
      json_builder_add_string_value (m, argv[1]);
      json_builder_set_member_name (m, "dataset");
      json_builder_add_string_value (m, argv[2]);
      json_builder_set_member_name (m, "preprocessing");
      json_builder_add_value (m, cli_dataset_preprocessing_json (&dopts));
      json_builder_set_member_name (m, "attack");
      json_builder_add_value (m, som_attack_params_to_json (&aopts.params));
      json_builder_set_member_name (m, "class_names");
      json_builder_begin_array (m);
      for (guint i = 0; names != NULL && names[i] != NULL; i++)
        json_builder_add_string_value (m, names[i]);
      json_builder_end_array (m);
      cli_add_provenance (ctx, m);
      json_builder_end_object (m);
      {
        g_autoptr(JsonNode) meta = json_builder_get_root (m);
        if (!write_adv (ctx, out, compress, last_adv, truth, clean, advp, n, meta, &error))
          goto fail;
      }
    }

  if (ctx->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      som_json_add_number (b, "clean_accuracy", st.clean_accuracy);
      som_json_add_number (b, "adversarial_accuracy", st.adversarial_accuracy);
      json_builder_set_member_name (b, "count");
      json_builder_add_int_value (b, n);
      som_json_add_number (b, "attack_success_rate", st.attack_success_rate);
      som_json_add_number (b, "mean_linf", st.mean_linf);
      som_json_add_number (b, "mean_l2", st.mean_l2);
      som_json_add_number (b, "seconds", g_timer_elapsed (timer, NULL));
      if (aopts.eps_list->len > 1)
        {
          json_builder_set_member_name (b, "sweep");
          json_builder_add_value (b, json_builder_get_root (sweep));
        }
      json_builder_set_member_name (b, "attack");
      json_builder_add_value (b, som_attack_params_to_json (&aopts.params));
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, argv[1]);
      json_builder_set_member_name (b, "dataset");
      json_builder_add_string_value (b, argv[2]);
      if (out != NULL)
        {
          json_builder_set_member_name (b, "out");
          json_builder_add_string_value (b, out);
        }
      cli_add_provenance (ctx, b);
      json_builder_end_object (b);
      cli_print_json (b);
    }
  else
    printf ("clean accuracy %.4f, adversarial accuracy %.4f (ε %g, %s %s), attack success rate %.4f, "
            "%" G_GSIZE_FORMAT " images in %.2f s\n",
            st.clean_accuracy, st.adversarial_accuracy, aopts.params.eps,
            som_attack_method_to_string (aopts.params.method), som_norm_to_string (aopts.params.norm),
            st.attack_success_rate, n, g_timer_elapsed (timer, NULL));
  goto done;

fail:
  ret = cli_fail_error (error);
done:
  g_free (out);
  cli_dataset_options_clear (&dopts);
  cli_attack_options_clear (&aopts);
  return ret;
}
