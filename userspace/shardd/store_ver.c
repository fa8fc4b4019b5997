// SPDX-License-Identifier: GPL-2.0-only
/*
 * Object versions across restarts (store.h, struct shard_ver).
 *
 * store_op.c records a change's version in the object's table entry
 * only after the change's data was written, and before the data sets
 * the entry to the unknown version. Within one boot of the machine that
 * order holds for whoever reads the store next: a daemon that dies
 * leaves its completed writes in the page cache or on the device, and
 * an object it was changing at no version. After the machine itself went down it does not: data and
 * entry may have reached the disk in either order, or one of them not
 * at all. So the superblock records the kernel's boot id at every open
 * and a clean mark at every close, and a store that was neither closed
 * nor opened in this boot has all its versions cleared (to unknown,
 * which matches no copy, so recovery and scrub compare such objects
 * whole). A format-1 store has no versions on disk at all.
 *
 * Sequence numbers: the superblock's seq_gen goes up by one at every
 * open and is their high half, so no two opens hand out the same one.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "log.h"
#include "store_int.h"

#define BOOT_ID_PATH	"/proc/sys/kernel/random/boot_id"

/* The kernel's boot id: a uuid in text, as /proc gives it. */
static int read_boot_id(const char *path, unsigned char id[16])
{
	char text[UUID_STR_LEN + 2];
	ssize_t n;
	int fd;

	fd = open(path ? path : BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	text[n] = 0;
	text[strcspn(text, "\n")] = 0;
	return uuid_parse(text, id) ? -EINVAL : 0;
}

static bool zero16(const unsigned char *p)
{
	static const unsigned char z[16];

	return !memcmp(p, z, 16);
}

/* Every known version becomes unknown, in memory and on disk. */
static int clear_versions(struct shard_store *st, uint32_t *cleared)
{
	struct ent_disk e;
	uint32_t i;
	int ret;

	*cleared = 0;
	for (i = 0; i < st->nslots; i++) {
		struct slot *s = &st->slots[i];

		if (!s->used || !shard_ver_known(&s->ver))
			continue;
		s->ver.epoch = s->ver.seq = 0;
		store_encode_entry(st, i, &e);
		ret = store_pwrite(st->fd, &e, st->ent_size,
				   store_entry_pos(st, i));
		if (ret)
			return ret;
		(*cleared)++;
	}
	if (*cleared && fdatasync(st->fd) < 0)
		return -errno;
	return 0;
}

int store_ver_open(struct shard_store *st, const char *boot_id_path,
		   const char *path)
{
	unsigned char boot[16];
	bool have_boot = !read_boot_id(boot_id_path, boot);
	uint32_t flags = le32toh(st->sb.sb_flags);
	uint64_t gen;
	uint32_t cleared;
	int ret;

	if (!have_boot) {
		pr_warn("%s: cannot read the kernel's boot id; after a crash "
			"every object version will read as unknown", path);
		memset(boot, 0, sizeof(boot));
	}
	if (!(flags & SB_CLEAN) &&
	    (!have_boot || zero16(st->sb.boot_id) ||
	     memcmp(boot, st->sb.boot_id, sizeof(boot)))) {
		ret = clear_versions(st, &cleared);
		if (ret) {
			pr_err("%s: cannot clear object versions: %s", path,
			       strerror(-ret));
			return ret;
		}
		if (cleared)
			pr_warn("%s: not closed before the machine went down: "
				"%u object versions are unknown now (recovery "
				"and scrub compare those objects whole)", path,
				cleared);
	}
	gen = le64toh(st->sb.seq_gen) + 1;
	st->sb.seq_gen = htole64(gen);
	st->sb.sb_flags = htole32(flags & ~SB_CLEAN);
	memcpy(st->sb.boot_id, boot, sizeof(boot));
	ret = store_write_sb(st);
	if (ret) {
		pr_err("%s: cannot write the superblock: %s", path,
		       strerror(-ret));
		return ret;
	}
	st->seq_next = gen << 32 | 1;
	return 0;
}

int store_ver_close(struct shard_store *st)
{
	int ret = shard_store_flush(st);

	if (ret)
		return ret;
	st->sb.sb_flags = htole32(le32toh(st->sb.sb_flags) | SB_CLEAN);
	return store_write_sb(st);
}

uint64_t shard_store_next_seq(struct shard_store *st)
{
	uint64_t gen;

	if (!(uint32_t)st->seq_next) {
		/* This generation is used up: the next one, durably. */
		gen = (st->seq_next >> 32);
		st->sb.seq_gen = htole64(gen);
		if (store_write_sb(st))
			pr_err("store: cannot record sequence generation %llu",
			       (unsigned long long)gen);
		st->seq_next = gen << 32 | 1;
	}
	return st->seq_next++;
}

bool shard_store_version(const struct shard_store *st,
			 const struct shard_obj *o, struct shard_ver *out)
{
	uint32_t i = store_lookup(st, o);

	if (i == NONE)
		return false;
	*out = st->slots[i].ver;
	return true;
}
