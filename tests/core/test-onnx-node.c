/* test-onnx-node.c: ONNX's own backend node tests (Debian libonnx-testdata)
 *
 * Every test under data/{node,pytorch-converted,pytorch-operator} whose operators Somscope supports and whose data
 * is float32, int64 or bool runs as one TAP subtest, compared with the test's
 * output_*.pb at ONNX's backend tolerances (rtol 1e-3, atol 1e-7).
 * `test-onnx-node --report` prints one line per test instead (name, status,
 * reason): tools/onnx-conformance turns it into docs/onnx-conformance.md.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "som.h"

#define DATA_DIR "/usr/share/libonnx-testdata/data"

/* ONNX's backend test folders: operator tests, and the PyTorch-exported ones */
static const char * const folders[] = { "node", "pytorch-converted", "pytorch-operator", NULL };

typedef struct
{
  char      *name;
  char      *dir;
  GPtrArray *inputs;    /* SomArray* */
  GPtrArray *expected;  /* SomArray* */
} NodeTest;

static gboolean
type_ok (int t)
{
  return t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || t == ONNX__TENSOR_PROTO__DATA_TYPE__INT64
         || t == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 || t == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
}

static const char *
type_name (int t)
{
  static const char *names[] = { "undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                 "string", "bool", "float16", "float64", "uint32", "uint64", "complex64",
                                 "complex128", "bfloat16" };
  return t >= 0 && t < (int) G_N_ELEMENTS (names) ? names[t] : "unknown";
}

/* Loads input_K.pb / output_K.pb in order; FALSE with a reason when a file's
 * data type is outside the supported set. */
static gboolean
load_set (const char *dir, const char *prefix, GPtrArray *out, char **reason)
{
  for (guint k = 0;; k++)
    {
      g_autofree char *path = g_strdup_printf ("%s/test_data_set_0/%s_%u.pb", dir, prefix, k);
      g_autofree char *contents = NULL;
      gsize len;
      Onnx__TensorProto *tp;
      int t;
      g_autoptr(GError) error = NULL;
      SomArray *a;

      if (!g_file_get_contents (path, &contents, &len, NULL))
        return TRUE;
      tp = onnx__tensor_proto__unpack (NULL, len, (const guint8 *) contents);
      if (tp == NULL)
        {
          *reason = g_strdup_printf ("%s_%u.pb is not a plain tensor (sequence or optional data)", prefix, k);
          return FALSE;
        }
      t = tp->has_data_type ? tp->data_type : 0;
      onnx__tensor_proto__free_unpacked (tp, NULL);
      if (!type_ok (t))
        {
          *reason = g_strdup_printf ("%s data type %s", prefix, type_name (t));
          return FALSE;
        }
      a = som_onnx_tensor_load (path, NULL, &error);
      if (a == NULL)
        {
          *reason = g_strdup (error->message);
          return FALSE;
        }
      g_ptr_array_add (out, a);
    }
}

/* NULL when runnable, else the reason. */
static char *
classify (const char *dir, NodeTest **test_out)
{
  g_autofree char *model_path = g_build_filename (dir, "model.onnx", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  char *reason = NULL;
  NodeTest *t;

  model = som_model_load (model_path, &error);
  if (model == NULL)
    return g_strdup (error->message);
  if (!som_model_check_runnable (model, &error))
    {
      /* keep just "operator X" from the long message */
      const char *p = strstr (error->message, "uses operator ");
      if (p != NULL)
        {
          const char *e = strstr (p, ", which");
          return g_strdup_printf ("unsupported %.*s", (int) (e ? e - p - 5 : (long) strlen (p) - 5), p + 5);
        }
      return g_strdup (error->message);
    }
  t = g_new0 (NodeTest, 1);
  t->dir = g_strdup (dir);
  t->name = g_path_get_basename (dir);
  t->inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) som_array_free);
  t->expected = g_ptr_array_new_with_free_func ((GDestroyNotify) som_array_free);
  if (!load_set (dir, "input", t->inputs, &reason) || !load_set (dir, "output", t->expected, &reason))
    goto reject;
  if (t->inputs->len != som_model_get_n_inputs (model))
    {
      reason = g_strdup_printf ("%u input files for %u graph inputs (optional inputs left out)", t->inputs->len,
                                som_model_get_n_inputs (model));
      goto reject;
    }
  if (t->expected->len == 0 || t->expected->len != som_model_get_n_outputs (model))
    {
      reason = g_strdup ("output files do not match the graph outputs");
      goto reject;
    }
  /* operators that exist but reject a mode (3-D pools, training mode…) */
  {
    g_autoptr(GPtrArray) outs = NULL;
    if (!som_model_run (model, (const SomArray * const *) t->inputs->pdata, t->inputs->len, NULL, 0, &outs, NULL,
                        NULL, &error)
        && g_error_matches (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED))
      {
        const char *p = strstr (error->message, ": node ");
        reason = g_strdup (p ? p + 2 : error->message);
        goto reject;
      }
  }
  *test_out = t;
  return NULL;

reject:
  g_ptr_array_unref (t->inputs);
  g_ptr_array_unref (t->expected);
  g_free (t->name);
  g_free (t->dir);
  g_free (t);
  return reason;
}

/* NULL when the outputs match, else what differs */
static char *
run_and_compare (NodeTest *t)
{
  g_autofree char *model_path = g_build_filename (t->dir, "model.onnx", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = som_model_load (model_path, &error);
  g_autoptr(GPtrArray) outs = NULL;

  if (model == NULL)
    return g_strdup (error->message);
  if (!som_model_run (model, (const SomArray * const *) t->inputs->pdata, t->inputs->len, NULL, 0, &outs, NULL,
                      NULL, &error))
    return g_strdup (error->message);
  for (guint i = 0; i < t->expected->len; i++)
    {
      SomArray *want = g_ptr_array_index (t->expected, i), *got = g_ptr_array_index (outs, i);
      gsize n = som_array_n_elements (want);
      g_autofree char *ws = som_array_shape_string (want), *gs = som_array_shape_string (got);
      if (strcmp (ws, gs) != 0 || want->dtype != got->dtype)
        return g_strdup_printf ("output %u: expected %s %s, got %s %s", i, som_dtype_name (want->dtype), ws,
                                som_dtype_name (got->dtype), gs);
      for (gsize k = 0; k < n; k++)
        {
          if (want->dtype == SOM_DTYPE_F32)
            {
              float w = ((float *) want->data)[k], g = ((float *) got->data)[k];
              if (isnan (w) && isnan (g))
                continue;
              if (isinf (w) && w == g)
                continue;
              if (!(fabs ((double) g - w) <= 1e-7 + 1e-3 * fabs ((double) w)))
                return g_strdup_printf ("output %u element %" G_GSIZE_FORMAT ": expected %.9g, got %.9g", i, k,
                                        w, g);
            }
          else if (want->dtype == SOM_DTYPE_I64)
            {
              if (((gint64 *) want->data)[k] != ((gint64 *) got->data)[k])
                return g_strdup_printf ("output %u element %" G_GSIZE_FORMAT ": expected %" G_GINT64_FORMAT ", got %"
                                        G_GINT64_FORMAT, i, k, ((gint64 *) want->data)[k], ((gint64 *) got->data)[k]);
            }
          else if (((guint8 *) want->data)[k] != ((guint8 *) got->data)[k])
            return g_strdup_printf ("output %u element %" G_GSIZE_FORMAT " differs", i, k);
        }
    }
  return NULL;
}

static void
test_node (gconstpointer data)
{
  NodeTest *t = (NodeTest *) data;
  g_autofree char *diff = run_and_compare (t);

  if (diff != NULL)
    g_test_message ("%s: %s", t->name, diff);
  g_assert_null (diff);
}

static int
name_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

int
main (int argc, char **argv)
{
  gboolean report = argc > 1 && strcmp (argv[1], "--report") == 0;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) tests = g_ptr_array_new ();
  int rc;

  if (!report)
    g_test_init (&argc, &argv, NULL);
  for (guint f = 0; folders[f] != NULL; f++)
    {
      g_autofree char *dir = g_build_filename (DATA_DIR, folders[f], NULL);
      g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
      g_autoptr(GPtrArray) here = g_ptr_array_new ();
      const char *name;

      if (d == NULL)
        {
          g_printerr ("%s is missing: install libonnx-testdata (tools/install-deps)\n", dir);
          return 1;
        }
      while ((name = g_dir_read_name (d)) != NULL)
        g_ptr_array_add (here, g_strdup_printf ("%s/%s", folders[f], name));
      g_ptr_array_sort (here, name_cmp);
      for (guint i = 0; i < here->len; i++)
        g_ptr_array_add (names, here->pdata[i]);
    }

  for (guint i = 0; i < names->len; i++)
    {
      const char *rel = g_ptr_array_index (names, i);
      g_autofree char *dir = g_build_filename (DATA_DIR, rel, NULL);
      NodeTest *t = NULL;
      g_autofree char *reason = classify (dir, &t);

      if (report)
        {
          g_autofree char *diff = reason == NULL ? run_and_compare (t) : NULL;
          char *nl;
          const char *why = reason ? reason : diff ? diff : "";
          g_autofree char *one = g_strdup (why);
          while ((nl = strchr (one, '\n')) != NULL)
            *nl = ' ';
          g_print ("%s\t%s\t%s\n", rel, reason ? "unsupported" : diff ? "fail" : "pass", one);
          if (t != NULL)
            {
              g_ptr_array_unref (t->inputs);
              g_ptr_array_unref (t->expected);
              g_free (t->name);
              g_free (t->dir);
              g_free (t);
            }
        }
      else if (reason == NULL)
        {
          g_autofree char *path = g_strdup_printf ("/onnx/%s", rel);
          g_test_add_data_func (path, t, test_node);
          g_ptr_array_add (tests, t);
        }
    }
  if (report)
    return 0;
  rc = g_test_run ();
  for (guint i = 0; i < tests->len; i++)
    {
      NodeTest *t = g_ptr_array_index (tests, i);
      g_ptr_array_unref (t->inputs);
      g_ptr_array_unref (t->expected);
      g_free (t->name);
      g_free (t->dir);
      g_free (t);
    }
  return rc;
}
