// SPDX-License-Identifier: GPL-2.0-only
/*
 * One copy's side of scrub (scrub_copy.h). A digest with data reads the
 * whole object in pieces of SHARD_MAX_IO, all submitted at once: the
 * store runs an object's operations in order, so the digest sees every
 * change submitted before it and none after.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "loop.h"
#include "map.h"
#include "pg_objects.h"
#include "scrub_copy.h"
#include "store.h"
#include "version.h"
#include "wire.h"

int shard_scrub_list(struct shardd *d, uint32_t pool, uint32_t pg,
		     uint64_t volume, uint64_t object,
		     struct shard_list_entry *out, uint32_t max)
{
	struct shard_obj from = { .volume = volume, .object = object };
	struct shard_obj *objs;
	struct shard_ver ver;
	uint32_t n = 0;
	size_t i, nobjs;
	int ret;

	ret = shard_pg_objects(d, pool, pg, &objs, &nobjs);
	if (ret)
		return ret;
	for (i = 0; i < nobjs && n < max; i++) {
		if (shard_obj_cmp(&objs[i], &from) < 0)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].volume = htole64(objs[i].volume);
		out[n].object = htole64(objs[i].object);
		out[n].obj_order = objs[i].order;
		shard_pg_version(d, &objs[i], &ver);
		out[n].ver.epoch = htole64(ver.epoch);
		out[n].ver.seq = htole64(ver.seq);
		n++;
	}
	free(objs);
	return (int)n;
}

struct digest {
	struct shardd *d;
	struct shard_obj o;
	bool data;
	unsigned int pending;
	int err;
	bool badcrc;
	unsigned char *buf;
	shard_digest_done_fn done;
	void *arg;
	struct shard_ev ev;	/* a digest without data ends here */
};

static void digest_end(struct digest *g)
{
	struct shard_digest dg;
	uint32_t flags = 0;

	memset(&dg, 0, sizeof(dg));
	if (shard_store_holds(g->d->store, &g->o))
		flags |= SHARD_DIGEST_EXISTS;
	if (g->data && !g->err) {
		flags |= SHARD_DIGEST_DATA;
		if (g->badcrc)
			flags |= SHARD_DIGEST_BADCRC;
		else
			dg.data_crc = htole32(shard_crc32c(g->buf,
							   1U << g->o.order));
	}
	dg.flags = htole32(flags);
	g->done(g->arg, g->err, &dg);
	free(g->buf);
	free(g);
}

static void on_nop(struct shard_ev *ev, int res)
{
	struct digest *g = container_of(ev, struct digest, ev);

	(void)res;
	g->d->disk_busy--;
	digest_end(g);
}

/* Ends g on the next turn of the loop; shutdown waits for it. */
static void end_later(struct digest *g)
{
	struct io_uring_sqe *sqe = shard_get_sqe(g->d);

	g->ev.fn = on_nop;
	io_uring_prep_nop(sqe);
	shard_sqe_set_ev(sqe, &g->ev);
	g->d->disk_busy++;
}

static void read_done(void *arg, int err)
{
	struct digest *g = arg;

	g->d->disk_busy--;
	if (err == -EBADMSG)
		g->badcrc = true;
	else if (err)
		g->err = -EIO;
	if (!--g->pending)
		digest_end(g);
}

int shard_scrub_digest(struct shardd *d, const struct shard_obj *o,
		       bool data, shard_digest_done_fn done, void *arg)
{
	uint32_t size = 1U << o->order, off, len;
	struct digest *g;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->d = d;
	g->o = *o;
	g->data = data;
	g->done = done;
	g->arg = arg;
	if (!data) {
		end_later(g);
		return 0;
	}
	if (posix_memalign((void **)&g->buf, SHARD_BLOCK_SIZE, size)) {
		free(g);
		return -ENOMEM;
	}
	g->pending = 1;
	for (off = 0; off < size; off += len) {
		len = size - off < SHARD_MAX_IO ? size - off : SHARD_MAX_IO;
		g->pending++;
		if (shard_store_read(d->store, o, off, len, g->buf + off,
				     read_done, g)) {
			g->pending--;
			g->err = -EIO;
			break;
		}
		d->disk_busy++;
	}
	if (--g->pending)
		return 0;
	end_later(g);		/* nothing was started */
	return 0;
}
