/* SPDX-License-Identifier: MIT */
/*
 * classify_vec.h - the classify and large-folio passes of one vector
 * width, written once for the SSE2 and AVX2 forms.  classify.c includes
 * it once per width, after defining:
 *
 *   VEC_FORM(name)	the form's function name from a base name
 *   VEC_TARGET		its target attribute (empty for the baseline)
 *   VEC		the vector type; VEC_BYTES, the PTEs per compare
 *   VEC_LOAD, VEC_SET1, VEC_OR, VEC_ANDNOT, VEC_CMPEQ, VEC_MAX_EPU8,
 *   VEC_SLLI16		the width's intrinsics
 *   VEC_MASK(v)	the top bit of each byte of v, in the low bits of a
 *			uint64_t
 *
 * and undefines them all at its end.  No include guard: it is a template.
 */

VEC_TARGET static void VEC_FORM(classify)(struct mthp_scan *s, const uint8_t *ptes,
					  uint32_t words, bool khugepaged)
{
	const VEC case_bit = VEC_SET1(0x20);
	struct class_totals tot = { 0 };

	for (uint32_t w = 0; w < words; w++) {
		struct class_bits b = { 0 };

		for (unsigned i = 0; i < 64; i += VEC_BYTES) {
			VEC v = VEC_LOAD((const VEC *)(ptes + w * 64 + i));
			VEC folded = VEC_OR(v, case_bit);
			VEC excl = VEC_CMPEQ(folded, VEC_SET1('a'));
			VEC shared = VEC_CMPEQ(folded, VEC_SET1('s'));
			VEC none = VEC_OR(VEC_CMPEQ(v, VEC_SET1(MTHP_PTE_NONE)),
					  VEC_CMPEQ(v, VEC_SET1(MTHP_PTE_ZERO)));

			b.none |= VEC_MASK(none) << i;
			b.swap |= VEC_MASK(VEC_CMPEQ(v, VEC_SET1(MTHP_PTE_SWAP))) << i;
			b.anon |= VEC_MASK(VEC_OR(excl, shared)) << i;
			b.shared |= VEC_MASK(shared) << i;
			/* a 16-bit shift by 2 puts each byte's bit 5 in its own bit 7 */
			b.lower |= VEC_MASK(VEC_SLLI16(v, 2)) << i;
			b.lazyfree |= VEC_MASK(VEC_CMPEQ(v, VEC_SET1(MTHP_PTE_LAZYFREE))) << i;
		}
		store_word(s, w, &b, khugepaged, &tot);
	}
	store_totals(s, &tot);
}

VEC_TARGET static uint64_t VEC_FORM(large)(const struct mthp_scan *s, uint64_t *large,
					   const uint8_t *orders, uint32_t words)
{
	const VEC two = VEC_SET1(2);
	const VEC no_folio = VEC_SET1((char)MTHP_NO_FOLIO);
	uint64_t any = 0;

	for (uint32_t w = 0; w < words; w++) {
		uint64_t bits = 0;

		for (unsigned i = 0; i < 64; i += VEC_BYTES) {
			VEC v = VEC_LOAD((const VEC *)(orders + w * 64 + i));
			VEC ge2 = VEC_CMPEQ(VEC_MAX_EPU8(v, two), v);

			bits |= VEC_MASK(VEC_ANDNOT(VEC_CMPEQ(v, no_folio), ge2)) << i;
		}
		large[w] = bits & ~(s->none[w] | s->swap[w]);
		any |= large[w];
	}
	return any;
}

#undef VEC_FORM
#undef VEC_TARGET
#undef VEC
#undef VEC_BYTES
#undef VEC_LOAD
#undef VEC_SET1
#undef VEC_OR
#undef VEC_ANDNOT
#undef VEC_CMPEQ
#undef VEC_MAX_EPU8
#undef VEC_SLLI16
#undef VEC_MASK
