// SPDX-License-Identifier: MIT
/*
 * lsan.c - what LeakSanitizer should not report in the test programs
 * (linked into every one of them): fontconfig, under cairo's text, keeps
 * what it parsed of its XML configuration for the life of the process.
 * LeakSanitizer, when the tests are built with it, calls this hook.
 */
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}
