/* SPDX-License-Identifier: MIT */
/*
 * test_main.h - the main() of a test program whose cmocka cases need no
 * group setup: MTHP_TEST_MAIN(cmocka_unit_test(a), ...) runs the cases in
 * order and exits with cmocka's status (the number of cases that failed).
 */
#ifndef MTHP_TEST_MAIN_H
#define MTHP_TEST_MAIN_H

#define MTHP_TEST_MAIN(...)						\
	int main(void)							\
	{								\
		const struct CMUnitTest tests[] = { __VA_ARGS__ };	\
									\
		return cmocka_run_group_tests(tests, NULL, NULL);	\
	}

#endif /* MTHP_TEST_MAIN_H */
