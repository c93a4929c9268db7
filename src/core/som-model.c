/* som-model.c: SomModel, the ONNX loader, shape inference, layers and the executor
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "onnx.pb-c.h"
#include "som-model-private.h"

struct _SomModel
{
  GObject       parent_instance;

  char         *path;          /* for error messages */
  char         *producer;
  GPtrArray    *opset_domains; /* char*, NULL-terminated */
  GArray       *opset_versions;/* gint64 */

  GPtrArray    *values;        /* SomValue* by id */
  GHashTable   *value_ids;     /* name → id+1 */
  GPtrArray    *nodes;         /* SomNode*, topological order */
  GArray       *inputs;        /* SomValueInfo */
  GArray       *input_ids;     /* int */
  GArray       *outputs;       /* SomValueInfo */
  GArray       *output_ids;    /* int */
  GArray       *layers;        /* SomLayer */
  guint64       flops;
  guint64       n_params;
  char         *bad_input;     /* an input of a data type Somscope does not compute in */
};

G_DEFINE_FINAL_TYPE (SomModel, som_model, G_TYPE_OBJECT)

static void
value_free (gpointer p)
{
  SomValue *v = p;

  g_free (v->name);
  g_clear_pointer (&v->constant, _som_tensor_unref);
  g_free (v);
}

static void
node_free (gpointer p)
{
  SomNode *n = p;

  if (n == NULL)
    return;
  g_free (n->op);
  g_free (n->name);
  g_free (n->domain);
  g_free (n->in);
  g_free (n->out);
  for (guint i = 0; i < n->n_attrs; i++)
    {
      g_free (n->attrs[i].name);
      g_free (n->attrs[i].s);
      g_free (n->attrs[i].ints);
      g_free (n->attrs[i].floats);
      g_clear_pointer (&n->attrs[i].t, _som_tensor_unref);
    }
  g_free (n->attrs);
  g_free (n->kernel_cache);
  g_free (n->direct_cache);
  g_free (n->direct_grad_cache);
  g_free (n);
}

static void
som_model_finalize (GObject *object)
{
  SomModel *self = SOM_MODEL (object);

  g_free (self->path);
  g_free (self->producer);
  g_free (self->bad_input);
  g_clear_pointer (&self->opset_domains, g_ptr_array_unref);
  g_clear_pointer (&self->opset_versions, g_array_unref);
  g_clear_pointer (&self->nodes, g_ptr_array_unref);
  g_clear_pointer (&self->values, g_ptr_array_unref);
  g_clear_pointer (&self->value_ids, g_hash_table_unref);
  g_clear_pointer (&self->inputs, g_array_unref);
  g_clear_pointer (&self->input_ids, g_array_unref);
  g_clear_pointer (&self->outputs, g_array_unref);
  g_clear_pointer (&self->output_ids, g_array_unref);
  g_clear_pointer (&self->layers, g_array_unref);
  G_OBJECT_CLASS (som_model_parent_class)->finalize (object);
}

static void
som_model_class_init (SomModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = som_model_finalize;
}

static void
som_model_init (SomModel *self)
{
  self->opset_domains = g_ptr_array_new_with_free_func (g_free);
  self->opset_versions = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->values = g_ptr_array_new_with_free_func (value_free);
  self->value_ids = g_hash_table_new (g_str_hash, g_str_equal);
  self->nodes = g_ptr_array_new_with_free_func (node_free);
  self->inputs = g_array_new (FALSE, TRUE, sizeof (SomValueInfo));
  self->input_ids = g_array_new (FALSE, FALSE, sizeof (int));
  self->outputs = g_array_new (FALSE, TRUE, sizeof (SomValueInfo));
  self->output_ids = g_array_new (FALSE, FALSE, sizeof (int));
  self->layers = g_array_new (FALSE, TRUE, sizeof (SomLayer));
}

/* ---- attributes ---------------------------------------------------------- */

const SomAttr *
_som_node_attr (const SomNode *node, const char *name)
{
  for (guint i = 0; i < node->n_attrs; i++)
    if (strcmp (node->attrs[i].name, name) == 0)
      return &node->attrs[i];
  return NULL;
}

gint64
_som_node_attr_int (const SomNode *node, const char *name, gint64 def)
{
  const SomAttr *a = _som_node_attr (node, name);
  return a != NULL && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? a->i : def;
}

float
_som_node_attr_float (const SomNode *node, const char *name, float def)
{
  const SomAttr *a = _som_node_attr (node, name);
  if (a == NULL)
    return def;
  if (a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
    return a->f;
  if (a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
    return (float) a->i;
  return def;
}

const char *
_som_node_attr_string (const SomNode *node, const char *name, const char *def)
{
  const SomAttr *a = _som_node_attr (node, name);
  return a != NULL && a->s != NULL ? a->s : def;
}

const gint64 *
_som_node_attr_ints (const SomNode *node, const char *name, guint *n)
{
  const SomAttr *a = _som_node_attr (node, name);
  if (a == NULL || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
    {
      *n = 0;
      return NULL;
    }
  *n = a->n_ints;
  return a->ints != NULL ? a->ints : (const gint64 *) "";
}

const float *
_som_node_attr_floats (const SomNode *node, const char *name, guint *n)
{
  const SomAttr *a = _som_node_attr (node, name);
  if (a == NULL || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS)
    {
      *n = 0;
      return NULL;
    }
  *n = a->n_floats;
  return a->floats != NULL ? a->floats : (const float *) "";
}

void
_som_op_error (SomOpCtx *c, GError **error, int code, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, SOM_ERROR, code, "%s: node %s (%s): %s", c->file,
               c->node->name[0] ? c->node->name : "(unnamed)", c->node->op, msg);
}

/* ---- IR accessors ---------------------------------------------------------- */

guint _som_model_get_n_nodes (SomModel *model) { return model->nodes->len; }
SomNode *_som_model_get_node (SomModel *model, guint i) { return g_ptr_array_index (model->nodes, i); }
SomValue *_som_model_get_value (SomModel *model, int id) { return g_ptr_array_index (model->values, id); }
guint _som_model_get_n_values (SomModel *model) { return model->values->len; }

static int
value_id (SomModel *self, const char *name, gboolean create)
{
  gpointer p;
  SomValue *v;

  if (name == NULL || *name == '\0')
    return -1;
  p = g_hash_table_lookup (self->value_ids, name);
  if (p != NULL)
    return GPOINTER_TO_INT (p) - 1;
  if (!create)
    return -2;
  v = g_new0 (SomValue, 1);
  v->name = g_strdup (name);
  v->producer = -1;
  v->input_index = -1;
  v->layer = -1;
  v->dtype = SOM_DTYPE_F32;
  g_ptr_array_add (self->values, v);
  g_hash_table_insert (self->value_ids, v->name, GINT_TO_POINTER (self->values->len));
  return self->values->len - 1;
}

/* ---- loading --------------------------------------------------------------- */

static gboolean
convert_attr (SomModel *self, const Onnx__AttributeProto *ap, SomAttr *a, const char *dir, GError **error)
{
  a->name = g_strdup (ap->name ? ap->name : "");
  a->type = ap->has_type ? (int) ap->type : 0;
  a->i = ap->i;
  a->f = ap->f;
  if (ap->has_s)
    a->s = g_strndup ((const char *) ap->s.data, ap->s.len);
  if (ap->n_ints > 0)
    {
      a->ints = g_memdup2 (ap->ints, ap->n_ints * sizeof (gint64));
      a->n_ints = ap->n_ints;
    }
  if (ap->n_floats > 0)
    {
      a->floats = g_memdup2 (ap->floats, ap->n_floats * sizeof (float));
      a->n_floats = ap->n_floats;
    }
  /* Old exporters leave out the type; infer it from what is set. */
  if (a->type == 0)
    {
      if (ap->t) a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
      else if (ap->n_ints) a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
      else if (ap->n_floats) a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
      else if (ap->has_s) a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
      else if (ap->has_f) a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
      else if (ap->has_i) a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    }
  if (ap->t != NULL)
    {
      a->t = _som_onnx_tensor_convert (ap->t, dir, self->path, error);
      if (a->t == NULL)
        return FALSE;
    }
  return TRUE;
}

static int
value_info_from_proto (SomModel *self, const Onnx__ValueInfoProto *vi, SomValueInfo *info, SomValue *v)
{
  const Onnx__TypeProto *tp = vi->type;

  info->name = v->name;
  info->dtype = SOM_DTYPE_F32;
  info->ndim = 0;
  if (tp == NULL || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || tp->tensor_type == NULL)
    return tp == NULL ? 0 : -1;
  if (tp->tensor_type->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64
      || tp->tensor_type->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32)
    info->dtype = SOM_DTYPE_I64;
  else if (tp->tensor_type->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
    info->dtype = SOM_DTYPE_BOOL;
  if (tp->tensor_type->shape != NULL)
    {
      const Onnx__TensorShapeProto *s = tp->tensor_type->shape;
      info->ndim = MIN (s->n_dim, SOM_ARRAY_MAX_DIMS);
      for (guint i = 0; i < info->ndim; i++)
        {
          const Onnx__TensorShapeProto__Dimension *d = s->dim[i];
          info->shape[i] = (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value > 0)
                             ? d->dim_value : -1;
        }
    }
  return tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0;
}

static gboolean infer_shapes (SomModel *self, GError **error);
static void build_layers (SomModel *self);

static gboolean
build_from_proto (SomModel *self, Onnx__ModelProto *mp, const char *dir, GError **error)
{
  const Onnx__GraphProto *g = mp->graph;
  gint64 default_opset = 0;
  g_autofree int *order = NULL;
  g_autofree gboolean *done = NULL;
  g_autofree gboolean *avail = NULL;
  GPtrArray *raw_nodes;
  guint n_done = 0;

  if (g == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not an ONNX model (no graph)", self->path);
      return FALSE;
    }
  self->producer = g_strdup (mp->producer_name ? mp->producer_name : "");
  for (gsize i = 0; i < mp->n_opset_import; i++)
    {
      const char *d = mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "";
      gint64 ver = mp->opset_import[i]->version;
      if (strcmp (d, "ai.onnx") == 0)
        d = "";
      g_ptr_array_add (self->opset_domains, g_strdup (d));
      g_array_append_val (self->opset_versions, ver);
      if (*d == '\0')
        default_opset = ver;
    }
  g_ptr_array_add (self->opset_domains, NULL);
  if (default_opset == 0)
    default_opset = 1;

  /* Initializers */
  for (gsize i = 0; i < g->n_initializer; i++)
    {
      const Onnx__TensorProto *tp = g->initializer[i];
      int id;
      SomValue *v;
      if (tp->name == NULL || *tp->name == '\0')
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: initializer %" G_GSIZE_FORMAT " has no name",
                       self->path, i);
          return FALSE;
        }
      id = value_id (self, tp->name, TRUE);
      v = g_ptr_array_index (self->values, id);
      g_clear_pointer (&v->constant, _som_tensor_unref);
      v->constant = _som_onnx_tensor_convert (tp, dir, self->path, error);
      if (v->constant == NULL)
        return FALSE;
    }
  if (g->n_sparse_initializer > 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, "%s: sparse initializers are not supported", self->path);
      return FALSE;
    }

  /* Graph inputs (initializers listed as inputs by old exporters are not inputs) */
  for (gsize i = 0; i < g->n_input; i++)
    {
      SomValueInfo info = { 0 };
      int id = value_id (self, g->input[i]->name, TRUE);
      SomValue *v;
      if (id < 0)
        continue;
      v = g_ptr_array_index (self->values, id);
      if (v->constant != NULL)
        continue;
      if (v->input_index >= 0)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: input '%s' is listed twice", self->path, v->name);
          return FALSE;
        }
      {
        int elem = value_info_from_proto (self, g->input[i], &info, v);
        if (self->bad_input == NULL && elem != 0 && elem != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
            && elem != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 && elem != ONNX__TENSOR_PROTO__DATA_TYPE__INT32
            && elem != ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
          self->bad_input = g_strdup_printf ("%s: input '%s' is %s%s; Somscope computes in float32 and takes "
                                             "float32, int64, int32 and bool inputs", self->path, v->name,
                                             elem == -1 ? "not a tensor" : "of ONNX data type ",
                                             elem == -1 ? "" : _som_onnx_type_name (elem));
      }
      v->input_index = self->inputs->len;
      v->dtype = info.dtype;
      v->data_dependent = TRUE;
      g_array_append_val (self->inputs, info);
      g_array_append_val (self->input_ids, id);
    }

  /* Nodes, converted, then sorted topologically (stable) */
  raw_nodes = g_ptr_array_new_with_free_func (node_free);
  for (gsize i = 0; i < g->n_node; i++)
    {
      const Onnx__NodeProto *np = g->node[i];
      SomNode *n = g_new0 (SomNode, 1);
      g_ptr_array_add (raw_nodes, n);
      n->op = g_strdup (np->op_type ? np->op_type : "");
      n->name = g_strdup (np->name ? np->name : "");
      n->domain = g_strdup (np->domain && strcmp (np->domain, "ai.onnx") != 0 ? np->domain : "");
      n->opset = *n->domain ? som_model_get_opset (self, n->domain) : default_opset;
      n->n_in = np->n_input;
      n->in = g_new0 (int, MAX (np->n_input, 1));
      for (gsize k = 0; k < np->n_input; k++)
        n->in[k] = value_id (self, np->input[k], TRUE);
      n->n_out = np->n_output;
      n->out = g_new0 (int, MAX (np->n_output, 1));
      if (np->n_output == 0)
        {
          /* Every ONNX operator has an output; the executors assume one. */
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: node %s (%s) has no outputs", self->path,
                       *n->name ? n->name : "(unnamed)", n->op);
          g_ptr_array_unref (raw_nodes);
          return FALSE;
        }
      for (gsize k = 0; k < np->n_output; k++)
        {
          n->out[k] = value_id (self, np->output[k], TRUE);
          if (n->out[k] >= 0)
            {
              SomValue *v = g_ptr_array_index (self->values, n->out[k]);
              if (v->producer != -1 || v->constant != NULL || v->input_index >= 0)
                {
                  g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                               "%s: value '%s' is produced twice (node %s)", self->path, v->name, n->name);
                  g_ptr_array_unref (raw_nodes);
                  return FALSE;
                }
              v->producer = G_MAXINT; /* placeholder until sorted */
            }
        }
      n->n_attrs = np->n_attribute;
      n->attrs = g_new0 (SomAttr, MAX (np->n_attribute, 1));
      for (gsize k = 0; k < np->n_attribute; k++)
        if (!convert_attr (self, np->attribute[k], &n->attrs[k], dir, error))
          {
            g_ptr_array_unref (raw_nodes);
            return FALSE;
          }
      if (*n->domain == '\0')
        n->def = _som_op_lookup (n->op);
    }

  avail = g_new0 (gboolean, self->values->len);
  for (guint i = 0; i < self->values->len; i++)
    {
      SomValue *v = g_ptr_array_index (self->values, i);
      avail[i] = v->constant != NULL || v->input_index >= 0;
    }
  done = g_new0 (gboolean, MAX (raw_nodes->len, 1));
  order = g_new0 (int, MAX (raw_nodes->len, 1));
  while (n_done < raw_nodes->len)
    {
      gboolean progress = FALSE;
      for (guint i = 0; i < raw_nodes->len; i++)
        {
          SomNode *n = g_ptr_array_index (raw_nodes, i);
          gboolean ready = TRUE;
          if (done[i])
            continue;
          for (guint k = 0; k < n->n_in && ready; k++)
            if (n->in[k] >= 0 && !avail[n->in[k]])
              ready = FALSE;
          if (!ready)
            continue;
          done[i] = TRUE;
          order[n_done++] = i;
          for (guint k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0)
              avail[n->out[k]] = TRUE;
          progress = TRUE;
          /* restart so that the original order wins among ready nodes */
          break;
        }
      if (!progress)
        {
          for (guint i = 0; i < raw_nodes->len; i++)
            {
              SomNode *n = g_ptr_array_index (raw_nodes, i);
              if (done[i])
                continue;
              for (guint k = 0; k < n->n_in; k++)
                if (n->in[k] >= 0 && !avail[n->in[k]])
                  {
                    SomValue *v = g_ptr_array_index (self->values, n->in[k]);
                    g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                                 "%s: node %s (%s) reads '%s', which no node, input or initializer provides%s",
                                 self->path, n->name, n->op, v->name,
                                 v->producer != -1 ? " before it (the graph has a cycle)" : "");
                    g_ptr_array_unref (raw_nodes);
                    return FALSE;
                  }
            }
          g_assert_not_reached ();
        }
    }
  for (guint i = 0; i < raw_nodes->len; i++)
    {
      SomNode *n = g_ptr_array_index (raw_nodes, order[i]);
      g_ptr_array_index (raw_nodes, order[i]) = NULL;
      n->index = i;
      for (guint k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0)
          ((SomValue *) g_ptr_array_index (self->values, n->out[k]))->producer = i;
      g_ptr_array_add (self->nodes, n);
    }
  g_ptr_array_unref (raw_nodes);

  /* Graph outputs */
  for (gsize i = 0; i < g->n_output; i++)
    {
      SomValueInfo info = { 0 };
      int id = value_id (self, g->output[i]->name, FALSE);
      if (id < 0)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: graph output '%s' is not computed by any node",
                       self->path, g->output[i]->name ? g->output[i]->name : "");
          return FALSE;
        }
      value_info_from_proto (self, g->output[i], &info, g_ptr_array_index (self->values, id));
      g_array_append_val (self->outputs, info);
      g_array_append_val (self->output_ids, id);
    }

  /* Data dependence (for shape_arith): Shape/Size read only shapes */
  for (guint i = 0; i < self->nodes->len; i++)
    {
      SomNode *n = g_ptr_array_index (self->nodes, i);
      gboolean dep = FALSE;
      if (strcmp (n->op, "Shape") != 0 && strcmp (n->op, "Size") != 0)
        for (guint k = 0; k < n->n_in; k++)
          if (n->in[k] >= 0 && ((SomValue *) g_ptr_array_index (self->values, n->in[k]))->data_dependent)
            dep = TRUE;
      for (guint k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0)
          ((SomValue *) g_ptr_array_index (self->values, n->out[k]))->data_dependent = dep;
    }

  if (!infer_shapes (self, error))
    return FALSE;
  /* Outputs report the inferred shape over the declared one (batch as −1);
   * set here, once, so that som_model_get_output() only reads (threads
   * share a model). */
  for (guint i = 0; i < self->outputs->len; i++)
    {
      SomValueInfo *info = &g_array_index (self->outputs, SomValueInfo, i);
      SomValue *v = g_ptr_array_index (self->values, g_array_index (self->output_ids, int, i));
      if (v->known)
        {
          info->dtype = v->dtype;
          info->ndim = v->ndim;
          memcpy (info->shape, v->shape, sizeof info->shape);
        }
    }
  build_layers (self);
  return TRUE;
}

SomModel *
som_model_load_from_bytes (GBytes *bytes, const char *name, GError **error)
{
  g_autoptr(SomModel) self = g_object_new (SOM_TYPE_MODEL, NULL);
  g_autofree char *dir = NULL;
  Onnx__ModelProto *mp;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  gboolean ok;

  self->path = g_strdup (name);
  if (len == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: empty file, not an ONNX model", name);
      return NULL;
    }
  mp = onnx__model_proto__unpack (NULL, len, data);
  if (mp == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: not a valid ONNX model (the protobuf data is truncated or corrupt)", name);
      return NULL;
    }
  dir = g_path_get_dirname (name);
  ok = build_from_proto (self, mp, dir, error);
  onnx__model_proto__free_unpacked (mp, NULL);
  if (!ok)
    return NULL;
  return g_steal_pointer (&self);
}

SomModel *
som_model_load (const char *path, GError **error)
{
  g_autoptr(GMappedFile) mf = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GError *local = NULL;

  mf = g_mapped_file_new (path, FALSE, &local);
  if (mf == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", path, local->message);
      g_error_free (local);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (mf);
  return som_model_load_from_bytes (bytes, path, error);
}

/* ---- running a node ---------------------------------------------------------- */

/* Computes a node's outputs from @in.  With @values_too FALSE (or when some
 * input lacks data), only shapes are set. */
static gboolean
exec_node (SomModel *self, SomNode *n, SomTensor **in, SomTensor **out, gboolean values_too,
           SomTensor *inplace, gboolean *computed, GError **error)
{
  SomOpCtx c = { self, n, in, out, n->n_in, n->n_out, self->path };
  gboolean have_data = TRUE;

  *computed = FALSE;
  for (guint k = 0; k < n->n_out; k++)
    out[k] = n->out[k] >= 0 || k == 0 ? _som_tensor_new_shape (SOM_DTYPE_F32, 0, NULL) : NULL;
  if (!n->def->shape (&c, error))
    goto fail;
  if (!(n->def->flags & SOM_OP_SHAPE_ONLY))
    for (guint k = 0; k < n->n_in; k++)
      if (in[k] != NULL && in[k]->data == NULL)
        have_data = FALSE;
  if (!values_too || !have_data)
    return TRUE;
  if (inplace != NULL && out[0] != NULL && out[0]->dtype == inplace->dtype && out[0]->ndim == inplace->ndim
      && memcmp (out[0]->shape, inplace->shape, inplace->ndim * sizeof (gint64)) == 0)
    {
      /* The input dies here: write the result over it. */
      _som_tensor_unref (out[0]);
      out[0] = _som_tensor_ref (inplace);
    }
  if (n->def->flags & SOM_OP_VIEW)
    {
      SomTensor *v = _som_tensor_view (in[0], out[0]->ndim, out[0]->shape);
      _som_tensor_unref (out[0]);
      out[0] = v;
      for (guint k = 1; k < n->n_out; k++)
        if (out[k] != NULL && !_som_tensor_alloc (out[k], error))
          goto fail;
    }
  else
    for (guint k = 0; k < n->n_out; k++)
      if (out[k] != NULL && !_som_tensor_alloc (out[k], error))
        {
          g_prefix_error (error, "%s: node %s (%s): ", self->path, n->name, n->op);
          goto fail;
        }
  if (n->def->compute != NULL && !n->def->compute (&c, error))
    goto fail;
  *computed = TRUE;
  return TRUE;

fail:
  for (guint k = 0; k < n->n_out; k++)
    g_clear_pointer (&out[k], _som_tensor_unref);
  return FALSE;
}

/* ---- shape inference and constant folding ------------------------------------ */

#define FOLD_MAX_ELEMENTS (1u << 22)

static SomTensor **
infer_pass (SomModel *self, gint64 batch)
{
  SomTensor **vals = g_new0 (SomTensor *, self->values->len);

  for (guint i = 0; i < self->values->len; i++)
    {
      SomValue *v = g_ptr_array_index (self->values, i);
      if (v->constant != NULL)
        vals[i] = _som_tensor_ref (v->constant);
      else if (v->input_index >= 0)
        {
          const SomValueInfo *info = &g_array_index (self->inputs, SomValueInfo, v->input_index);
          gint64 shape[SOM_ARRAY_MAX_DIMS];
          for (guint d = 0; d < info->ndim; d++)
            shape[d] = info->shape[d] >= 0 ? info->shape[d] : batch;
          if (info->ndim > 0 || 1)
            vals[i] = _som_tensor_new_shape (info->dtype, info->ndim, shape);
        }
    }
  for (guint i = 0; i < self->nodes->len; i++)
    {
      SomNode *n = g_ptr_array_index (self->nodes, i);
      g_autofree SomTensor **in = g_new0 (SomTensor *, MAX (n->n_in, 1));
      g_autofree SomTensor **out = g_new0 (SomTensor *, MAX (n->n_out, 1));
      gboolean ok = n->def != NULL, computed;
      gsize total = 0;
      for (guint k = 0; k < n->n_in && ok; k++)
        {
          if (n->in[k] < 0)
            continue;
          in[k] = vals[n->in[k]];
          if (in[k] == NULL)
            ok = FALSE;
        }
      if (!ok)
        continue;
      {
        g_autoptr(GError) ierr = NULL;
        if (!exec_node (self, n, in, out, FALSE, NULL, &computed, &ierr))
          {
            g_debug ("%s: shape inference stops at node %s (%s): %s", self->path, n->name, n->op, ierr->message);
            continue;
          }
      }
      for (guint k = 0; k < n->n_out; k++)
        if (out[k] != NULL)
          total = out[k]->n > G_MAXSIZE - total ? G_MAXSIZE : total + out[k]->n;
      if (total <= FOLD_MAX_ELEMENTS)
        {
          for (guint k = 0; k < n->n_out; k++)
            g_clear_pointer (&out[k], _som_tensor_unref);
          if (!exec_node (self, n, in, out, TRUE, NULL, &computed, NULL))
            continue;
        }
      for (guint k = 0; k < n->n_out; k++)
        {
          if (n->out[k] >= 0 && out[k] != NULL)
            vals[n->out[k]] = out[k];
          else if (out[k] != NULL)
            _som_tensor_unref (out[k]);
        }
    }
  return vals;
}

static void
free_vals (SomModel *self, SomTensor **vals)
{
  for (guint i = 0; i < self->values->len; i++)
    g_clear_pointer (&vals[i], _som_tensor_unref);
  g_free (vals);
}

static gboolean
infer_shapes (SomModel *self, GError **error)
{
  SomTensor **a = infer_pass (self, 2);
  SomTensor **b = infer_pass (self, 3);

  for (guint i = 0; i < self->values->len; i++)
    {
      SomValue *v = g_ptr_array_index (self->values, i);
      if (v->producer < 0)
        {
          if (a[i] != NULL)
            {
              v->known = TRUE;
              v->dtype = a[i]->dtype;
              v->ndim = a[i]->ndim;
              for (guint d = 0; d < v->ndim; d++)
                v->shape[d] = a[i]->shape[d] == b[i]->shape[d] ? a[i]->shape[d] : -1;
            }
          continue;
        }
      if (a[i] == NULL || b[i] == NULL || a[i]->ndim != b[i]->ndim)
        continue;
      v->known = TRUE;
      v->dtype = a[i]->dtype;
      v->ndim = a[i]->ndim;
      for (guint d = 0; d < v->ndim; d++)
        v->shape[d] = a[i]->shape[d] == b[i]->shape[d] ? a[i]->shape[d] : -1;
      if (a[i]->data != NULL && b[i]->data != NULL && _som_tensor_equal (a[i], b[i]))
        {
          v->constant = _som_tensor_ref (a[i]);
          if (v->constant->base != NULL)
            {
              /* Own a compact copy rather than pinning a view's base. */
              g_autoptr(SomTensor) copy = _som_tensor_new (v->constant->dtype, v->constant->ndim,
                                                          v->constant->shape, NULL);
              if (copy != NULL)
                {
                  memcpy (copy->data, v->constant->data, v->constant->n * _som_dtype_size (copy->dtype));
                  _som_tensor_unref (v->constant);
                  v->constant = g_steal_pointer (&copy);
                }
            }
        }
    }
  for (guint i = 0; i < self->nodes->len; i++)
    {
      SomNode *n = g_ptr_array_index (self->nodes, i);
      gboolean folded = n->def != NULL;
      for (guint k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && ((SomValue *) g_ptr_array_index (self->values, n->out[k]))->constant == NULL)
          folded = FALSE;
      n->folded = folded;
    }
  free_vals (self, a);
  free_vals (self, b);
  return TRUE;
}

/* ---- layers ----------------------------------------------------------------- */

static gboolean
op_in (const char *op, const char * const *list)
{
  for (guint i = 0; list[i]; i++)
    if (strcmp (op, list[i]) == 0)
      return TRUE;
  return FALSE;
}

static const char * const activation_ops[] = {
  "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Softmax", "LogSoftmax", "PRelu", "Elu", "Selu",
  "Softplus", "Softsign", "HardSigmoid", "HardSwish", "Gelu", "Mish", "ThresholdedRelu", "Celu", NULL
};
static const char * const pool_ops[] = {
  "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool", NULL
};
static const char * const compute_ops[] = { "Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum", NULL };
static const char * const passthrough_ops[] = {
  "BatchNormalization", "Identity", "Dropout", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", NULL
};

/* TRUE when some path from value @id reaches an activation before a
 * Conv/Gemm/MatMul/pool. */
static gboolean
reaches_activation (SomModel *self, int id, guint depth)
{
  if (depth > 64)
    return FALSE;
  for (guint i = 0; i < self->nodes->len; i++)
    {
      SomNode *n = g_ptr_array_index (self->nodes, i);
      gboolean reads = FALSE;
      for (guint k = 0; k < n->n_in; k++)
        if (n->in[k] == id)
          reads = TRUE;
      if (!reads)
        continue;
      if (op_in (n->op, activation_ops))
        return TRUE;
      if (op_in (n->op, compute_ops) || op_in (n->op, pool_ops) || strcmp (n->op, "Shape") == 0)
        continue;
      for (guint k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && reaches_activation (self, n->out[k], depth + 1))
          return TRUE;
    }
  return FALSE;
}

static guint64
shape_elems (const SomValue *v)
{
  guint64 n = 1;
  for (guint d = 0; d < v->ndim; d++)
    n *= v->shape[d] > 0 ? (guint64) v->shape[d] : 1;
  return n;
}

static guint64
node_flops (SomModel *self, SomNode *n)
{
  SomValue *out = n->n_out > 0 && n->out[0] >= 0 ? g_ptr_array_index (self->values, n->out[0]) : NULL;
  SomValue *in1 = n->n_in > 1 && n->in[1] >= 0 ? g_ptr_array_index (self->values, n->in[1]) : NULL;
  SomValue *in0 = n->n_in > 0 && n->in[0] >= 0 ? g_ptr_array_index (self->values, n->in[0]) : NULL;
  guint64 o;

  if (out == NULL || !out->known || n->folded || !out->data_dependent)
    return 0;
  o = shape_elems (out);
  if (strcmp (n->op, "Conv") == 0 && in1 != NULL && in1->known && in1->ndim >= 3)
    {
      guint64 k = 1;
      for (guint d = 1; d < in1->ndim; d++)
        k *= (guint64) MAX (in1->shape[d], 1);
      return 2 * o * k;
    }
  if ((strcmp (n->op, "Gemm") == 0 || strcmp (n->op, "MatMul") == 0) && in0 != NULL && in0->known && in0->ndim >= 1)
    {
      gint64 k = in0->shape[in0->ndim - 1];
      if (strcmp (n->op, "Gemm") == 0 && _som_node_attr_int (n, "transA", 0) && in0->ndim == 2)
        k = in0->shape[0];
      return 2 * o * (guint64) MAX (k, 1);
    }
  if (op_in (n->op, pool_ops) && in0 != NULL && in0->known)
    return shape_elems (in0);
  if (strcmp (n->op, "BatchNormalization") == 0)
    return 2 * o;
  if (op_in (n->op, passthrough_ops) || strcmp (n->op, "Concat") == 0 || strcmp (n->op, "Constant") == 0)
    return 0;
  return o;
}

static void
build_layers (SomModel *self)
{
  for (guint i = 0; i < self->nodes->len; i++)
    {
      SomNode *n = g_ptr_array_index (self->nodes, i);
      guint64 params = 0;
      gboolean first = TRUE;
      for (guint k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0)
          {
            SomValue *v = g_ptr_array_index (self->values, n->in[k]);
            if (v->producer < 0 && v->constant != NULL && v->constant->dtype == SOM_DTYPE_F32)
              params += v->constant->n;
          }
      for (guint k = 0; k < n->n_out; k++)
        {
          SomLayer layer = { 0 };
          SomValue *v;
          if (n->out[k] < 0)
            continue;
          v = g_ptr_array_index (self->values, n->out[k]);
          layer.index = self->layers->len;
          layer.name = v->name;
          layer.op = n->op;
          layer.node_name = n->name;
          layer.node_index = i;
          layer.output_index = k;
          layer.dtype = v->dtype;
          layer.ndim = v->known ? v->ndim : 0;
          memcpy (layer.shape, v->shape, sizeof layer.shape);
          layer.params = first ? params : 0;
          layer.flops = first ? node_flops (self, n) : 0;
          layer.shape_arith = v->dtype != SOM_DTYPE_F32 || !v->data_dependent;
          for (guint o = 0; o < self->output_ids->len; o++)
            if (g_array_index (self->output_ids, int, o) == n->out[k])
              layer.is_graph_output = TRUE;
          if (layer.is_graph_output)
            layer.default_tap = TRUE;
          else if (layer.shape_arith || op_in (n->op, passthrough_ops))
            layer.default_tap = FALSE;
          else if (op_in (n->op, activation_ops) || op_in (n->op, pool_ops))
            layer.default_tap = TRUE;
          else
            layer.default_tap = !reaches_activation (self, n->out[k], 0);
          v->layer = layer.index;
          self->flops += layer.flops;
          self->n_params += layer.params;
          g_array_append_val (self->layers, layer);
          first = FALSE;
        }
    }
  /* Layer entries point into the values' shapes: refresh after the array settled. */
}

/* ---- public accessors ------------------------------------------------------------ */

const char *som_model_get_path (SomModel *model) { return model->path; }
const char *som_model_get_producer (SomModel *model) { return model->producer; }
const char * const *som_model_get_opset_domains (SomModel *model)
{
  return (const char * const *) model->opset_domains->pdata;
}

gint64
som_model_get_opset (SomModel *model, const char *domain)
{
  for (guint i = 0; i < model->opset_versions->len; i++)
    if (strcmp (g_ptr_array_index (model->opset_domains, i), domain) == 0)
      return g_array_index (model->opset_versions, gint64, i);
  return 0;
}

guint som_model_get_n_inputs (SomModel *model) { return model->inputs->len; }
guint som_model_get_n_outputs (SomModel *model) { return model->outputs->len; }
const SomValueInfo *
som_model_get_input (SomModel *model, guint i)
{
  return i < model->inputs->len ? &g_array_index (model->inputs, SomValueInfo, i) : NULL;
}
const SomValueInfo *
som_model_get_output (SomModel *model, guint i)
{
  if (i >= model->outputs->len)
    return NULL;
  /* The inferred shape where known (build_from_proto). */
  return &g_array_index (model->outputs, SomValueInfo, i);
}

guint som_model_get_n_layers (SomModel *model) { return model->layers->len; }
const SomLayer *
som_model_get_layer (SomModel *model, guint index)
{
  return index < model->layers->len ? &g_array_index (model->layers, SomLayer, index) : NULL;
}
guint64 som_model_get_flops_per_image (SomModel *model) { return model->flops; }
guint64 som_model_get_n_params (SomModel *model) { return model->n_params; }
char *som_layer_member_name (guint index) { return g_strdup_printf ("layer_%03u", index); }

char *
som_layer_short_name (const char *name,
                      const char *op)
{
  g_auto(GStrv) parts = g_strsplit (name, "/", -1);
  g_autoptr(GPtrArray) kept = g_ptr_array_new ();
  guint n;

  for (guint i = 0; parts[i] != NULL; i++)
    if (parts[i][0] != '\0')
      g_ptr_array_add (kept, parts[i]);
  n = kept->len;
  if (n > 1 && op != NULL && g_str_has_prefix (g_ptr_array_index (kept, n - 1), op))
    n--;
  if (n <= 1)
    return g_strdup (n == 1 ? g_ptr_array_index (kept, 0) : name);
  return g_strdup_printf ("%s/%s", (char *) g_ptr_array_index (kept, n - 2),
                          (char *) g_ptr_array_index (kept, n - 1));
}
const char * const *som_model_supported_ops (void) { return _som_op_names (); }

gboolean
som_model_get_image_shape (SomModel *model, guint *channels, guint *height, guint *width,
                           gboolean *channels_last, GError **error)
{
  const SomValueInfo *in;
  gboolean cl = FALSE;

  if (model->inputs->len != 1)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "%s: the model has %u inputs; an image model has exactly one", model->path, model->inputs->len);
      return FALSE;
    }
  in = som_model_get_input (model, 0);
  if (in->dtype != SOM_DTYPE_F32 || in->ndim != 4 || in->shape[1] <= 0 || in->shape[2] <= 0 || in->shape[3] <= 0)
    {
      g_autofree char *s = _som_shape_string (in->ndim, in->shape);
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "%s: the model's input '%s' is %s of shape %s, not an image (Somscope needs float N×C×H×W)",
                   model->path, in->name, in->dtype == SOM_DTYPE_F32 ? "float32" : "integer", s);
      return FALSE;
    }
  if (in->shape[1] != 1 && in->shape[1] != 3 && (in->shape[3] == 1 || in->shape[3] == 3)
      && in->shape[1] > 4 && in->shape[2] > 4)
    cl = TRUE;
  if (channels) *channels = cl ? in->shape[3] : in->shape[1];
  if (height) *height = cl ? in->shape[1] : in->shape[2];
  if (width) *width = cl ? in->shape[2] : in->shape[3];
  if (channels_last) *channels_last = cl;
  return TRUE;
}

static guint
edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *row = g_new (guint, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    row[j] = j;
  for (gsize i = 1; i <= la; i++)
    {
      guint prev = row[0];
      row[0] = i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint cur = row[j];
          guint sub = prev + (g_ascii_tolower (a[i - 1]) != g_ascii_tolower (b[j - 1]));
          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), sub);
          prev = cur;
        }
    }
  return row[lb];
}

typedef struct { guint d; guint i; } Cand;

static int
cand_cmp (gconstpointer a, gconstpointer b)
{
  const Cand *x = a, *y = b;
  return x->d != y->d ? (x->d < y->d ? -1 : 1) : (x->i < y->i ? -1 : (x->i > y->i));
}

const SomLayer *
som_model_find_layer (SomModel *model, const char *name, GError **error)
{
  const char *num = name;
  g_autoptr(GArray) cands = NULL;
  g_autoptr(GString) msg = NULL;
  int id;

  id = value_id (model, name, FALSE);
  if (id >= 0)
    {
      SomValue *v = g_ptr_array_index (model->values, id);
      if (v->layer >= 0)
        return som_model_get_layer (model, v->layer);
    }
  if (g_str_has_prefix (num, "layer_"))
    num += 6;
  if (*num != '\0' && strspn (num, "0123456789") == strlen (num) && strlen (num) < 10)
    {
      guint64 idx = g_ascii_strtoull (num, NULL, 10);
      if (idx < model->layers->len)
        return som_model_get_layer (model, idx);
    }
  cands = g_array_new (FALSE, FALSE, sizeof (Cand));
  for (guint i = 0; i < model->layers->len; i++)
    {
      Cand c = { edit_distance (name, g_array_index (model->layers, SomLayer, i).name), i };
      g_array_append_val (cands, c);
    }
  g_array_sort (cands, cand_cmp);
  msg = g_string_new (NULL);
  g_string_printf (msg, "%s: no layer named '%s'", model->path, name);
  if (cands->len > 0)
    {
      g_string_append (msg, " (closest: ");
      for (guint i = 0; i < MIN (cands->len, 5); i++)
        {
          const SomLayer *l = som_model_get_layer (model, g_array_index (cands, Cand, i).i);
          g_string_append_printf (msg, "%s%s [%u]", i ? ", " : "", l->name, l->index);
        }
      g_string_append (msg, ")");
    }
  else
    g_string_append (msg, " (the model has no layers)");
  g_set_error_literal (error, SOM_ERROR, SOM_ERROR_INVALID, msg->str);
  return NULL;
}

GArray *
som_model_get_default_taps (SomModel *model)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < model->layers->len; i++)
    if (g_array_index (model->layers, SomLayer, i).default_tap)
      g_array_append_val (a, i);
  return a;
}

GArray *
som_model_resolve_layers (SomModel *model, const char * const *specs, GError **error)
{
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree gboolean *seen = g_new0 (gboolean, model->layers->len + 1);

  for (guint s = 0; specs != NULL && specs[s] != NULL; s++)
    {
      g_auto(GStrv) parts = g_strsplit (specs[s], ",", -1);
      for (guint p = 0; parts[p] != NULL; p++)
        {
          const char *name = g_strstrip (parts[p]);
          if (*name == '\0')
            continue;
          if (strcmp (name, "all") == 0 || strcmp (name, "default") == 0)
            {
              gboolean all = name[0] == 'a';
              for (guint i = 0; i < model->layers->len; i++)
                {
                  const SomLayer *l = som_model_get_layer (model, i);
                  if ((all ? !l->shape_arith : l->default_tap) && !seen[i])
                    {
                      seen[i] = TRUE;
                      g_array_append_val (out, i);
                    }
                }
              continue;
            }
          {
            const SomLayer *l = som_model_find_layer (model, name, error);
            if (l == NULL)
              return NULL;
            if (!seen[l->index])
              {
                seen[l->index] = TRUE;
                g_array_append_val (out, l->index);
              }
          }
        }
    }
  return g_steal_pointer (&out);
}

/* ---- the executor ---------------------------------------------------------------- */

static gboolean
unsupported_error (SomModel *self, SomNode *n, GError **error)
{
  g_autofree char *list = g_strjoinv (", ", (char **) _som_op_names ());
  g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
               "%s: node %s uses operator %s%s%s (opset %" G_GINT64_FORMAT "), which Somscope does not support; "
               "supported: %s", self->path, n->name[0] ? n->name : "(unnamed)",
               *n->domain ? n->domain : "", *n->domain ? "." : "", n->op, n->opset, list);
  return FALSE;
}

gboolean
som_model_check_runnable (SomModel *model, GError **error)
{
  if (model->bad_input != NULL)
    {
      g_set_error_literal (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, model->bad_input);
      return FALSE;
    }
  for (guint i = 0; i < model->nodes->len; i++)
    {
      SomNode *n = g_ptr_array_index (model->nodes, i);
      if (n->def == NULL && !n->folded)
        return unsupported_error (model, n, error);
    }
  return TRUE;
}

/* A tap reduced to codes: N×C channel means of an N×C×… value (in double,
 * as a 56×56 mean in float loses digits), an N×D value as it is, float32. */
static SomTensor *
channel_means (SomModel *self, const SomTensor *t, GError **error)
{
  SomTensor *m;
  gsize rows, inner = 1;

  if (t->ndim > 2)
    {
      gint64 shape[2] = { t->shape[0], t->shape[1] };
      for (guint d = 2; d < t->ndim; d++)
        inner *= (gsize) t->shape[d];
      m = _som_tensor_new (SOM_DTYPE_F32, 2, shape, error);
    }
  else
    m = _som_tensor_new (SOM_DTYPE_F32, t->ndim, t->shape, error);
  if (m == NULL)
    {
      g_prefix_error (error, "%s: ", self->path);
      return NULL;
    }
  rows = m->n;
  for (gsize i = 0; i < rows; i++)
    {
      double s = 0;
      if (t->dtype == SOM_DTYPE_F32)
        {
          const float *x = (const float *) t->data + i * inner;
          for (gsize j = 0; j < inner; j++)
            s += x[j];
        }
      else
        for (gsize j = 0; j < inner; j++)
          s += _som_tensor_get_f64 (t, i * inner + j);
      ((float *) m->data)[i] = inner > 0 ? (float) (s / inner) : 0.0f;
    }
  return m;
}

/* Runs the nodes needed for @want (value ids).  Returns the value table (kept
 * values set, others NULL); with @keep_all every computed value stays.
 * Wanted values from @first_reduced on are taps reduced to channel means as
 * soon as they are computed, into @reduced (n_want − first_reduced
 * entries): they are not kept, so every intermediate dies after its last
 * consumer. */
static SomTensor **
execute (SomModel *self, SomTensor * const *inputs, const int *want, guint n_want, gboolean keep_all,
         guint first_reduced, SomTensor **reduced, GCancellable *cancellable, GError **error)
{
  guint nv = self->values->len;
  /* (never NULL, which means failure: a graph may have no values at all) */
  SomTensor **vals = g_new0 (SomTensor *, MAX (nv, 1));
  g_autofree guint *uses = g_new0 (guint, nv);
  g_autofree gboolean *need = g_new0 (gboolean, nv);
  g_autofree gboolean *pinned = g_new0 (gboolean, nv);
  g_autofree gboolean *tapped = g_new0 (gboolean, nv);
  g_autofree gboolean *run = g_new0 (gboolean, self->nodes->len + 1);

  g_assert (first_reduced >= n_want || reduced != NULL);
  for (guint i = 0; i < n_want; i++)
    {
      need[want[i]] = TRUE;
      if (i < first_reduced)
        pinned[want[i]] = TRUE;
      else
        tapped[want[i]] = TRUE;
    }
  for (int i = (int) self->nodes->len - 1; i >= 0; i--)
    {
      SomNode *n = g_ptr_array_index (self->nodes, i);
      gboolean needed = keep_all && !n->folded;
      for (guint k = 0; k < n->n_out && !needed; k++)
        if (n->out[k] >= 0 && need[n->out[k]] && !n->folded)
          needed = TRUE;
      if (!needed)
        continue;
      run[i] = TRUE;
      for (guint k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0)
          {
            SomValue *v = g_ptr_array_index (self->values, n->in[k]);
            if (v->constant == NULL)
              {
                need[n->in[k]] = TRUE;
                uses[n->in[k]]++;
              }
          }
    }
  for (guint i = 0; i < self->input_ids->len; i++)
    {
      int id = g_array_index (self->input_ids, int, i);
      vals[id] = _som_tensor_ref (inputs[i]);
    }
  for (guint i = 0; i < nv; i++)
    {
      SomValue *v = g_ptr_array_index (self->values, i);
      if (pinned[i] && v->constant != NULL)
        vals[i] = _som_tensor_ref (v->constant);
    }
  /* taps no node computes: constants and graph inputs */
  for (guint j = first_reduced; j < n_want; j++)
    {
      SomValue *v = g_ptr_array_index (self->values, want[j]);
      SomTensor *t = v->constant != NULL ? v->constant : vals[want[j]];
      if (t != NULL && (reduced[j - first_reduced] = channel_means (self, t, error)) == NULL)
        goto fail;
    }

  for (guint i = 0; i < self->nodes->len; i++)
    {
      SomNode *n = g_ptr_array_index (self->nodes, i);
      g_autofree SomTensor **in = NULL;
      g_autofree SomTensor **out = NULL;
      gboolean computed;

      if (!run[i])
        continue;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto fail;
      if (n->def == NULL)
        {
          unsupported_error (self, n, error);
          goto fail;
        }
      in = g_new0 (SomTensor *, MAX (n->n_in, 1));
      out = g_new0 (SomTensor *, MAX (n->n_out, 1));
      for (guint k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0)
          {
            SomValue *v = g_ptr_array_index (self->values, n->in[k]);
            in[k] = v->constant != NULL ? v->constant : vals[n->in[k]];
            g_assert (in[k] != NULL);
          }
      {
        SomTensor *inplace = NULL;
        int id0 = n->n_in > 0 ? n->in[0] : -1;
        if ((n->def->flags & SOM_OP_INPLACE) && !keep_all && id0 >= 0 && vals[id0] != NULL
            && in[0] == vals[id0] && uses[id0] == 1 && !pinned[id0] && vals[id0]->base == NULL
            && g_atomic_ref_count_compare (&vals[id0]->ref, 1))
          {
            inplace = vals[id0];
            for (guint k = 1; k < n->n_in; k++)
              if (n->in[k] == id0)
                inplace = NULL;
          }
        if (!exec_node (self, n, in, out, TRUE, inplace, &computed, error))
          goto fail;
      }
      if (!computed)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_FAILED, "%s: node %s (%s) could not be computed",
                       self->path, n->name, n->op);
          for (guint k = 0; k < n->n_out; k++)
            g_clear_pointer (&out[k], _som_tensor_unref);
          goto fail;
        }
      for (guint k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && tapped[n->out[k]] && out[k] != NULL)
          for (guint j = first_reduced; j < n_want; j++)
            if (want[j] == n->out[k] && reduced[j - first_reduced] == NULL
                && (reduced[j - first_reduced] = channel_means (self, out[k], error)) == NULL)
              {
                for (guint m = 0; m < n->n_out; m++)
                  g_clear_pointer (&out[m], _som_tensor_unref);
                goto fail;
              }
      for (guint k = 0; k < n->n_out; k++)
        {
          if (n->out[k] >= 0 && (keep_all || pinned[n->out[k]] || uses[n->out[k]] > 0))
            {
              g_clear_pointer (&vals[n->out[k]], _som_tensor_unref);
              vals[n->out[k]] = out[k];
            }
          else
            g_clear_pointer (&out[k], _som_tensor_unref);
        }
      if (!keep_all)
        for (guint k = 0; k < n->n_in; k++)
          {
            int id = n->in[k];
            if (id < 0 || ((SomValue *) g_ptr_array_index (self->values, id))->constant != NULL)
              continue;
            if (uses[id] > 0 && --uses[id] == 0 && !pinned[id])
              g_clear_pointer (&vals[id], _som_tensor_unref);
          }
    }
  return vals;

fail:
  free_vals (self, vals);
  return NULL;
}

static SomTensor **
convert_inputs (SomModel *self, const SomArray * const *inputs, guint n_inputs, GError **error)
{
  SomTensor **t;

  if (n_inputs != self->inputs->len)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the model takes %u inputs, %u given",
                   self->path, self->inputs->len, n_inputs);
      return NULL;
    }
  t = g_new0 (SomTensor *, MAX (n_inputs, 1));
  for (guint i = 0; i < n_inputs; i++)
    {
      const SomValueInfo *info = som_model_get_input (self, i);
      gboolean ok = TRUE;
      t[i] = _som_tensor_from_array (inputs[i], error);
      if (t[i] == NULL)
        goto fail;
      if (t[i]->dtype == SOM_DTYPE_F32 && info->dtype != SOM_DTYPE_F32)
        ok = FALSE;
      if (info->ndim > 0 && t[i]->ndim != info->ndim)
        ok = FALSE;
      for (guint d = 0; ok && d < info->ndim; d++)
        if (info->shape[d] > 0 && t[i]->shape[d] != info->shape[d])
          ok = FALSE;
      if (!ok)
        {
          g_autofree char *want = _som_shape_string (info->ndim, info->shape);
          g_autofree char *have = _som_shape_string (t[i]->ndim, t[i]->shape);
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: input '%s' wants %s %s, got %s %s", self->path, info->name,
                       info->dtype == SOM_DTYPE_F32 ? "float32" : info->dtype == SOM_DTYPE_I64 ? "int64" : "bool",
                       want, som_dtype_name (inputs[i]->dtype), have);
          goto fail;
        }
      if (t[i]->dtype != info->dtype && info->dtype == SOM_DTYPE_BOOL)
        t[i]->dtype = t[i]->dtype;
    }
  return t;

fail:
  for (guint i = 0; i < n_inputs; i++)
    g_clear_pointer (&t[i], _som_tensor_unref);
  g_free (t);
  return NULL;
}

gboolean
som_model_run (SomModel *model, const SomArray * const *inputs, guint n_inputs,
               const guint *taps, guint n_taps, GPtrArray **outputs, GPtrArray **tap_values,
               GCancellable *cancellable, GError **error)
{
  g_autofree SomTensor **in = NULL;
  g_autofree int *want = NULL;
  SomTensor **vals;
  guint n_want = 0;
  g_autoptr(GPtrArray) outs = NULL;
  g_autoptr(GPtrArray) tv = NULL;
  gboolean ok = TRUE;

  g_return_val_if_fail (SOM_IS_MODEL (model), FALSE);

  if (model->bad_input != NULL)
    {
      g_set_error_literal (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, model->bad_input);
      return FALSE;
    }
  in = convert_inputs (model, inputs, n_inputs, error);
  if (in == NULL)
    return FALSE;
  want = g_new0 (int, model->outputs->len + n_taps + 1);
  if (outputs != NULL)
    for (guint i = 0; i < model->outputs->len; i++)
      want[n_want++] = g_array_index (model->output_ids, int, i);
  for (guint i = 0; i < n_taps; i++)
    {
      const SomLayer *l = som_model_get_layer (model, taps[i]);
      if (l == NULL)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: layer %u does not exist (the model has %u)",
                       model->path, taps[i], model->layers->len);
          ok = FALSE;
          break;
        }
      want[n_want++] = _som_model_get_node (model, l->node_index)->out[l->output_index];
    }
  vals = ok ? execute (model, in, want, n_want, FALSE, n_want, NULL, cancellable, error) : NULL;
  for (guint i = 0; i < n_inputs; i++)
    _som_tensor_unref (in[i]);
  if (vals == NULL)
    return FALSE;

  outs = g_ptr_array_new_with_free_func ((GDestroyNotify) som_array_free);
  tv = g_ptr_array_new_with_free_func ((GDestroyNotify) som_array_free);
  for (guint i = 0; i < n_want && ok; i++)
    {
      SomArray *a = _som_tensor_to_array (vals[want[i]], error);
      if (a == NULL)
        ok = FALSE;
      else if (outputs != NULL && i < model->outputs->len)
        g_ptr_array_add (outs, a);
      else
        g_ptr_array_add (tv, a);
    }
  free_vals (model, vals);
  if (!ok)
    return FALSE;
  if (outputs != NULL)
    *outputs = g_steal_pointer (&outs);
  if (tap_values != NULL)
    *tap_values = g_steal_pointer (&tv);
  return TRUE;
}

SomArray *
som_model_run_images (SomModel *model, const SomArray *images, const guint *taps, guint n_taps,
                      GPtrArray **tap_values, GCancellable *cancellable, GError **error)
{
  g_autoptr(GPtrArray) outs = NULL;
  const SomArray *in[1] = { images };

  if (!som_model_get_image_shape (model, NULL, NULL, NULL, NULL, error))
    return NULL;
  if (model->outputs->len == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the model has no outputs", model->path);
      return NULL;
    }
  if (!som_model_run (model, in, 1, taps, n_taps, &outs, tap_values, cancellable, error))
    return NULL;
  return g_ptr_array_steal_index (outs, 0);
}

SomArray *
som_model_run_images_means (SomModel *model, const SomArray *images, const guint *taps, guint n_taps,
                            GPtrArray **means, GCancellable *cancellable, GError **error)
{
  g_autofree SomTensor **in = NULL;
  g_autofree int *want = NULL;
  g_autofree SomTensor **reduced = NULL;
  g_autoptr(GPtrArray) tv = NULL;
  SomArray *out = NULL;
  SomTensor **vals = NULL;
  const SomArray *inputs[1] = { images };
  int out_id;

  g_return_val_if_fail (SOM_IS_MODEL (model), NULL);
  g_return_val_if_fail (n_taps == 0 || means != NULL, NULL);

  if (!som_model_get_image_shape (model, NULL, NULL, NULL, NULL, error))
    return NULL;
  if (model->outputs->len == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the model has no outputs", model->path);
      return NULL;
    }
  if (model->bad_input != NULL)
    {
      g_set_error_literal (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, model->bad_input);
      return NULL;
    }
  want = g_new0 (int, n_taps + 1);
  out_id = g_array_index (model->output_ids, int, 0);
  want[0] = out_id;
  for (guint i = 0; i < n_taps; i++)
    {
      const SomLayer *l = som_model_get_layer (model, taps[i]);
      if (l == NULL)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: layer %u does not exist (the model has %u)",
                       model->path, taps[i], model->layers->len);
          return NULL;
        }
      want[1 + i] = _som_model_get_node (model, l->node_index)->out[l->output_index];
    }
  in = convert_inputs (model, inputs, 1, error);
  if (in == NULL)
    return NULL;
  reduced = g_new0 (SomTensor *, n_taps + 1);
  vals = execute (model, in, want, n_taps + 1, FALSE, 1, reduced, cancellable, error);
  _som_tensor_unref (in[0]);
  if (vals == NULL)
    goto out;
  tv = g_ptr_array_new_with_free_func ((GDestroyNotify) som_array_free);
  for (guint i = 0; i < n_taps; i++)
    {
      SomArray *a = reduced[i] != NULL ? _som_tensor_to_array (reduced[i], error) : NULL;
      if (a == NULL)
        {
          if (reduced[i] == NULL)
            g_set_error (error, SOM_ERROR, SOM_ERROR_FAILED, "%s: layer %u was not computed", model->path,
                         taps[i]);
          goto out;
        }
      g_ptr_array_add (tv, a);
    }
  out = _som_tensor_to_array (vals[out_id] != NULL ? vals[out_id]
                              : _som_model_get_value (model, out_id)->constant, error);
  if (out != NULL && means != NULL)
    *means = g_steal_pointer (&tv);

out:
  for (guint i = 0; i < n_taps; i++)
    g_clear_pointer (&reduced[i], _som_tensor_unref);
  if (vals != NULL)
    free_vals (model, vals);
  return out;
}

SomTensor **
_som_model_forward_all (SomModel *model, SomTensor * const *inputs, GCancellable *cancellable, GError **error)
{
  g_autofree int *want = g_new0 (int, model->outputs->len + 1);

  for (guint i = 0; i < model->outputs->len; i++)
    want[i] = g_array_index (model->output_ids, int, i);
  return execute (model, inputs, want, model->outputs->len, TRUE, model->outputs->len, NULL, cancellable,
                  error);
}

void
_som_values_free (SomModel *model, SomTensor **values)
{
  if (values != NULL)
    free_vals (model, values);
}
