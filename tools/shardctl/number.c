// SPDX-License-Identifier: GPL-2.0-only
/* Counts and ids on the command line: plain decimal, in a range. */
#include <errno.h>
#include <stdio.h>

#include "shardctl.h"

int parse_count(const char *s, const char *what, uint64_t min, uint64_t max,
		uint64_t *out, char *err)
{
	bool big = false;
	uint64_t v = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (big || v > (UINT64_MAX - (*p - '0')) / 10)
			big = true;
		else
			v = v * 10 + (*p - '0');
	}
	if (p == s || *p) {
		snprintf(err, ERRLEN, "invalid %s '%s' (a whole number)", what,
			 s);
		return -EINVAL;
	}
	if (big || v < min || v > max) {
		snprintf(err, ERRLEN, "%s %s is out of range (%llu..%llu)",
			 what, s, (unsigned long long)min,
			 (unsigned long long)max);
		return -ERANGE;
	}
	*out = v;
	return 0;
}
