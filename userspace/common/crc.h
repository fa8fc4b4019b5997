/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CRC-32C as include/shard/proto.h defines it: Castagnoli polynomial,
 * initial value ~0, final xor ~0 ("123456789" -> 0xe3069283).
 */
#ifndef SHARD_CRC_H
#define SHARD_CRC_H

#include <stddef.h>
#include <stdint.h>

#define SHARD_CRC32C_CHECK	0xe3069283U

/* Continue a crc over more bytes; start with crc = 0. */
uint32_t shard_crc32c_update(uint32_t crc, const void *buf, size_t len);

static inline uint32_t shard_crc32c(const void *buf, size_t len)
{
	return shard_crc32c_update(0, buf, len);
}

#endif /* SHARD_CRC_H */
