// SPDX-License-Identifier: GPL-2.0-only
/*
 * CRC-32C over ISA-L. ISA-L's crc32_iscsi() neither inverts its seed nor
 * its result, so the standard convention is ~crc32_iscsi(buf, len, ~crc).
 */
#include <limits.h>
#include <isa-l/crc.h>

#include "crc.h"

uint32_t shard_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	unsigned int c = ~crc;

	/* crc32_iscsi() takes an int length. */
	while (len) {
		int n = len > (size_t)INT_MAX ? INT_MAX : (int)len;

		c = crc32_iscsi((unsigned char *)p, n, c);
		p += n;
		len -= (size_t)n;
	}
	return ~c;
}
