/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Object -> placement group hash. The one definition shared by the kernel
 * client, the daemons and the map manager: a change here moves every
 * object, so it is versioned with the wire protocol.
 *
 * The object name is (volume id, object index). It is mixed with the
 * splitmix64 finaliser (a bijection with full avalanche) and the top 32
 * bits are reduced to [0, pg_count) with Lemire's multiply-shift, which
 * needs no division and is uniform for any pg_count, power of two or not.
 */
#ifndef _SHARD_PG_H
#define _SHARD_PG_H

#include <linux/types.h>

static inline __u64 shard_mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static inline __u32 shard_object_hash(__u64 volume, __u64 object)
{
	return (__u32)(shard_mix64(shard_mix64(volume) ^ object) >> 32);
}

/* pg_count must be at least 1. */
static inline __u32 shard_object_pg(__u64 volume, __u64 object,
				    __u32 pg_count)
{
	return (__u32)(((__u64)shard_object_hash(volume, object) *
			pg_count) >> 32);
}

#endif /* _SHARD_PG_H */
