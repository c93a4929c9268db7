/* cli-inspect.c: somscope-cli inspect MODEL [--json]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli-commands.h"

static void
add_shape (JsonBuilder *b, guint ndim, const gint64 *shape)
{
  json_builder_begin_array (b);
  for (guint i = 0; i < ndim; i++)
    {
      if (shape[i] < 0)
        json_builder_add_null_value (b);
      else
        json_builder_add_int_value (b, shape[i]);
    }
  json_builder_end_array (b);
}

static char *
shape_text (guint ndim, const gint64 *shape, gboolean known)
{
  GString *s = g_string_new (NULL);

  if (!known)
    return g_string_free (s, FALSE);
  for (guint i = 0; i < ndim; i++)
    {
      if (i > 0)
        g_string_append (s, "×");
      if (shape[i] < 0)
        g_string_append (s, "N");
      else
        g_string_append_printf (s, "%" G_GINT64_FORMAT, shape[i]);
    }
  if (ndim == 0)
    g_string_append (s, "scalar");
  return g_string_free (s, FALSE);
}

static void
add_values (JsonBuilder *b, SomModel *model, gboolean inputs)
{
  guint n = inputs ? som_model_get_n_inputs (model) : som_model_get_n_outputs (model);

  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    {
      const SomValueInfo *v = inputs ? som_model_get_input (model, i) : som_model_get_output (model, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, v->name);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, som_dtype_name (v->dtype));
      json_builder_set_member_name (b, "shape");
      add_shape (b, v->ndim, v->shape);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static void
print_values (SomModel *model, gboolean inputs)
{
  guint n = inputs ? som_model_get_n_inputs (model) : som_model_get_n_outputs (model);

  for (guint i = 0; i < n; i++)
    {
      const SomValueInfo *v = inputs ? som_model_get_input (model, i)
                                     : som_model_get_output (model, i);
      g_autofree char *s = shape_text (v->ndim, v->shape, TRUE);
      printf ("%-6s %s: %s %s\n", inputs ? "input" : "output", v->name,
              som_dtype_name (v->dtype), s);
    }
}

/* {"name", "path", "layers", "default_taps", "children": […]} for a group,
 * {"name", "index"} for a layer */
static void
add_tree (JsonBuilder *b, const SomLayerTree *t)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, t->name);
  if (t->layer >= 0)
    {
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, t->layer);
    }
  else
    {
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, t->path);
      json_builder_set_member_name (b, "layers");
      json_builder_add_int_value (b, t->n_layers);
      json_builder_set_member_name (b, "default_taps");
      json_builder_add_int_value (b, t->n_default_taps);
      json_builder_set_member_name (b, "children");
      json_builder_begin_array (b);
      for (guint i = 0; i < t->children->len; i++)
        add_tree (b, g_ptr_array_index (t->children, i));
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
}

/* Text: groups down to @depth levels open (a deeper group is one line with
 * its counts); layers with index, tap mark, op and shape. */
static void
print_tree (SomModel *model, const SomLayerTree *t, int level, int depth, const char *query)
{
  for (guint i = 0; i < t->children->len; i++)
    {
      const SomLayerTree *c = g_ptr_array_index (t->children, i);
      if (c->layer >= 0)
        {
          const SomLayer *l = som_model_get_layer (model, c->layer);
          g_autofree char *s = shape_text (l->ndim, l->shape, TRUE);
          if (!som_layer_matches (l, query))
            continue;
          printf ("%*s%s%s  [%u %s %s]\n", 2 * level, "", l->default_tap ? "* " : "", c->name, l->index, l->op, s);
        }
      else
        {
          gboolean any = query == NULL || query[0] == '\0';
          gboolean open = level + 1 < depth || !any;
          /* with a query, a group shows only when something below matches */
          for (guint k = 0; !any && k < som_model_get_n_layers (model); k++)
            {
              const SomLayer *l = som_model_get_layer (model, k);
              if (g_str_has_prefix (l->node_name, c->path) && l->node_name[strlen (c->path)] == '/'
                  && som_layer_matches (l, query))
                any = TRUE;
            }
          if (!any)
            continue;
          printf ("%*s%s/  (%u layers, %u taps)\n", 2 * level, "", c->name, c->n_layers, c->n_default_taps);
          if (open)
            print_tree (model, c, level + 1, depth, query);
        }
    }
}

int
cli_cmd_inspect (CliContext *ctx, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  guint n_layers;
  gboolean tree = FALSE;
  int depth = 0;
  g_autofree char *search = NULL;
  const GOptionEntry entries[] = {
    { "tree", 0, 0, G_OPTION_ARG_NONE, &tree, "Show the layers grouped by module path", NULL },
    { "depth", 0, 0, G_OPTION_ARG_INT, &depth, "With --tree: open groups down to this level (default: all)", "N" },
    { "search", 0, 0, G_OPTION_ARG_STRING, &search, "Only layers whose name, node or op contains TEXT", "TEXT" },
    { NULL }
  };

  if (!cli_parse (ctx, &argc, &argv, "MODEL",
                  "Show an ONNX model's inputs, outputs and layers (every node output) with shapes, "
                  "parameters, FLOPs per image and the default taps (marked *).", entries, TRUE))
    return CLI_EXIT_USAGE;
  if (argc != 2)
    return cli_usage_error (ctx, "expected one MODEL argument");

  model = som_model_load (argv[1], &error);
  if (model == NULL)
    return cli_fail_error (error);
  n_layers = som_model_get_n_layers (model);

  if (ctx->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      const char * const *domains = som_model_get_opset_domains (model);
      g_autoptr(GError) runnable = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, argv[1]);
      json_builder_set_member_name (b, "producer");
      json_builder_add_string_value (b, som_model_get_producer (model));
      json_builder_set_member_name (b, "inputs");
      add_values (b, model, TRUE);
      json_builder_set_member_name (b, "outputs");
      add_values (b, model, FALSE);
      json_builder_set_member_name (b, "opset");
      json_builder_begin_object (b);
      for (guint i = 0; domains[i] != NULL; i++)
        {
          json_builder_set_member_name (b, domains[i]);
          json_builder_add_int_value (b, som_model_get_opset (model, domains[i]));
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "layers");
      json_builder_begin_array (b);
      for (guint i = 0; i < n_layers; i++)
        {
          const SomLayer *l = som_model_get_layer (model, i);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "index");
          json_builder_add_int_value (b, l->index);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, l->name);
          json_builder_set_member_name (b, "op");
          json_builder_add_string_value (b, l->op);
          json_builder_set_member_name (b, "node");
          json_builder_add_string_value (b, l->node_name);
          json_builder_set_member_name (b, "dtype");
          json_builder_add_string_value (b, som_dtype_name (l->dtype));
          json_builder_set_member_name (b, "shape");
          if (l->ndim == 0 && l->shape_arith == FALSE && l->flops == 0 && l->params == 0 && FALSE)
            json_builder_add_null_value (b);
          else
            add_shape (b, l->ndim, l->shape);
          json_builder_set_member_name (b, "params");
          json_builder_add_int_value (b, l->params);
          json_builder_set_member_name (b, "flops");
          json_builder_add_int_value (b, l->flops);
          json_builder_set_member_name (b, "default_tap");
          json_builder_add_boolean_value (b, l->default_tap);
          json_builder_set_member_name (b, "shape_arith");
          json_builder_add_boolean_value (b, l->shape_arith);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      {
        g_autoptr(SomLayerTree) t = som_layer_tree_new (model, FALSE);
        json_builder_set_member_name (b, "tree");
        add_tree (b, t);
      }
      json_builder_set_member_name (b, "params");
      json_builder_add_int_value (b, som_model_get_n_params (model));
      json_builder_set_member_name (b, "flops_per_image");
      json_builder_add_int_value (b, som_model_get_flops_per_image (model));
      json_builder_set_member_name (b, "runnable");
      json_builder_add_boolean_value (b, som_model_check_runnable (model, &runnable));
      if (runnable != NULL)
        {
          json_builder_set_member_name (b, "unsupported");
          json_builder_add_string_value (b, runnable->message);
        }
      cli_add_provenance (ctx, b);
      json_builder_end_object (b);
      cli_print_json (b);
      return CLI_EXIT_OK;
    }

  printf ("%s (producer %s, opset %" G_GINT64_FORMAT ")\n", argv[1], som_model_get_producer (model),
          som_model_get_opset (model, ""));
  print_values (model, TRUE);
  print_values (model, FALSE);
  if (tree)
    {
      g_autoptr(SomLayerTree) t = som_layer_tree_new (model, FALSE);
      printf ("\n");
      print_tree (model, t, 0, depth > 0 ? depth : G_MAXINT, search);
    }
  else
  {
    int name_width = 4, op_width = 2;
    for (guint i = 0; i < n_layers; i++)
      {
        const SomLayer *l = som_model_get_layer (model, i);
        name_width = MAX (name_width, (int) g_utf8_strlen (l->name, -1));
        op_width = MAX (op_width, (int) strlen (l->op));
      }
    name_width = MIN (name_width, 80);
    printf ("\n%5s  %-3s %-*s %-*s %-18s %10s %14s\n", "index", "tap", op_width, "op", name_width, "name", "shape",
            "params", "flops");
    for (guint i = 0; i < n_layers; i++)
      {
        const SomLayer *l = som_model_get_layer (model, i);
        g_autofree char *s = NULL;
        int shape_pad;
        if (!som_layer_matches (l, search))
          continue;
        s = shape_text (l->ndim, l->shape, TRUE);
        /* shapes use "×" (2 bytes, 1 column): pad by columns, not bytes */
        shape_pad = 18 - (int) g_utf8_strlen (s, -1);
        printf ("%5u  %-3s %-*s %-*s %s%*s %10" G_GUINT64_FORMAT " %14" G_GUINT64_FORMAT "%s\n", l->index,
                l->default_tap ? "*" : "", op_width, l->op, name_width, l->name, s, MAX (shape_pad, 0), "",
                l->params, l->flops, l->shape_arith ? "  (shape)" : "");
      }
  }
  printf ("\n%u layers, %" G_GUINT64_FORMAT " parameters, %.4g MFLOPs per image\n", n_layers,
          som_model_get_n_params (model), som_model_get_flops_per_image (model) / 1e6);
  if (!som_model_check_runnable (model, &error))
    printf ("not runnable: %s\n", error->message);
  return CLI_EXIT_OK;
}
