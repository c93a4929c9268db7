/* fuzz-onnx-tensor.c: ONNX TensorProto files (.pb), as `run` reads them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "fuzz-common.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *path = fuzz_write ("input_0.pb", data, size);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autoptr(SomArray) a = som_onnx_tensor_load (path, &name, &error);

  fuzz_check_error (a != NULL, error);
  if (a != NULL)
    g_assert (som_array_n_bytes (a) <= som_memory_budget ());
  return 0;
}
