// SPDX-License-Identifier: GPL-2.0-only
/* Sizes on the command line and in tables: 1024-based units. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shardctl.h"

int parse_size(const char *s, uint64_t *out, char *err)
{
	static const char units[] = "KMGT";
	const char *p = s, *u;
	uint64_t v = 0;
	int shift = 0;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (*p - '0')) / 10)
			goto big;
		v = v * 10 + (*p - '0');
	}
	if (*p) {
		char c = *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p;

		u = strchr(units, c);
		if (!u || !c)
			goto bad;
		shift = 10 * (u - units + 1);
		p++;
		if (!strcmp(p, "iB") || !strcmp(p, "B"))
			p += strlen(p);
		if (*p)
			goto bad;
	}
	if (v > (UINT64_MAX >> 1) >> shift)
		goto big;
	v <<= shift;
	if (!v) {
		snprintf(err, ERRLEN, "size must be greater than zero");
		return -EINVAL;
	}
	if (v % 512) {
		snprintf(err, ERRLEN,
			 "size %s is not a multiple of 512 bytes", s);
		return -EINVAL;
	}
	*out = v;
	return 0;
bad:
	snprintf(err, ERRLEN,
		 "invalid size '%s' (a number of bytes with an optional K, M, G or T suffix)",
		 s);
	return -EINVAL;
big:
	snprintf(err, ERRLEN, "size '%s' is too large", s);
	return -ERANGE;
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB",
				       "PiB", "EiB" };
	int i = 0;

	while (i < 6 && bytes >= (1ULL << (10 * (i + 1))))
		i++;
	if (i == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else if (bytes % (1ULL << (10 * i)) == 0)
		snprintf(buf, len, "%llu %s",
			 (unsigned long long)(bytes >> (10 * i)), units[i]);
	else
		snprintf(buf, len, "%.1f %s",
			 (double)bytes / (double)(1ULL << (10 * i)), units[i]);
}
