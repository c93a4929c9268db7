/* som-ops-sigmoid.h: Sigmoid over a range, for one vector width
 *
 * Included by som-ops.c once per instruction set, with VL (floats per
 * vector), KERNEL (the function's target attribute) and SUFFIX (the names'
 * ending) defined; undefines them.  GCC keeps a vector in registers only
 * where the set has registers that wide: split, it goes through the stack
 * (AVX2 with 16-float vectors).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define S_CAT_(a, b) a##b
#define S_CAT(a, b) S_CAT_ (a, b)
#define VecF S_CAT (VecF, SUFFIX)
#define VecI S_CAT (VecI, SUFFIX)
#define vselect S_CAT (vselect, SUFFIX)
#define vsigmoid S_CAT (vsigmoid, SUFFIX)
#define sigmoid_range S_CAT (sigmoid_range, SUFFIX)

typedef float VecF __attribute__ ((vector_size (VL * sizeof (float))));
typedef gint32 VecI __attribute__ ((vector_size (VL * sizeof (float))));

KERNEL static inline __attribute__ ((always_inline)) VecF
vselect (VecI mask, VecF a, VecF b)
{
  return (VecF) (((VecI) a & mask) | ((VecI) b & ~mask));
}

KERNEL static inline __attribute__ ((always_inline)) VecF
vsigmoid (VecF x)
{
  const VecF zero = { 0 }, big = zero + 88.0f, small = zero - 87.0f, inf = zero + INFINITY;
  const VecF magic = zero + 12582912.0f;
  VecF v = -x, vc, t, fn, r, z, p;
  VecI bits;

  vc = vselect (v == v, v, zero);
  vc = vselect (vc > big, big, vc);
  vc = vselect (vc < small, small, vc);
  /* round to nearest: 1.5·2^23 leaves no fraction bits, and n is then
   * the low bits of t */
  t = vc * 1.44269504088896341f + magic;
  fn = t - magic;
  r = vc - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  z = r * r;
  p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  bits = ((VecI) t - 0x4b400000 + 127) << 23;
  p = p * (VecF) bits;
  p = vselect (v > big, inf, p);
  p = vselect (v < small, zero, p);
  p = 1.0f / (1.0f + p);
  return vselect (x == x, p, x);
}

KERNEL static void
sigmoid_range (const float *x, float *y, gsize begin, gsize end)
{
  gsize i = begin;

  for (; i + VL <= end; i += VL)
    {
      VecF v;
      memcpy (&v, x + i, sizeof v);
      v = vsigmoid (v);
      memcpy (y + i, &v, sizeof v);
    }
  if (i < end)
    {
      VecF v = { 0 };
      memcpy (&v, x + i, (end - i) * sizeof (float));
      v = vsigmoid (v);
      memcpy (y + i, &v, (end - i) * sizeof (float));
    }
}

#undef VecF
#undef VecI
#undef vselect
#undef vsigmoid
#undef sigmoid_range
#undef S_CAT
#undef S_CAT_
#undef VL
#undef KERNEL
#undef SUFFIX
