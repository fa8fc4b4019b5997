// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "devinfo.h"
#include "log.h"

int shard_resolve_store(const char *path, uint64_t size, char **file,
			uint64_t *size_out)
{
	struct statvfs sv;
	struct stat stb;

	*size_out = size;
	if (stat(path, &stb) < 0 || !S_ISDIR(stb.st_mode)) {
		/* A file or device, existing or to be created. */
		*file = strdup(path);
		return *file ? 0 : -ENOMEM;
	}
	if (asprintf(file, "%s/%s", path, SHARD_STORE_FILE) < 0)
		return -ENOMEM;
	if (size || !access(*file, F_OK))
		return 0;
	if (statvfs(path, &sv) < 0) {
		int ret = -errno;

		pr_err("statvfs %s: %s", path, strerror(errno));
		free(*file);
		return ret;
	}
	/* Leave room for the filesystem and whatever else lives there. */
	*size_out = (uint64_t)sv.f_bavail * sv.f_frsize / 10 * 9;
	*size_out &= ~((1ULL << 20) - 1);
	pr_info("%s: sizing the new store to 90%% of the free space: %" PRIu64
		" MiB", path, *size_out >> 20);
	return 0;
}

static int read_rotational(const char *dir)
{
	char p[PATH_MAX + 32], buf[8];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/queue/rotational", dir);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	return buf[0] == '1';
}

const char *shard_detect_class(int fd)
{
	char link[64], dir[PATH_MAX];
	struct stat stb;
	dev_t dev;
	int rot;

	if (fstat(fd, &stb) < 0)
		return "ssd";
	dev = S_ISBLK(stb.st_mode) ? stb.st_rdev : stb.st_dev;
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	if (!realpath(link, dir))
		return "ssd";
	rot = read_rotational(dir);
	if (rot < 0) {
		/* A partition: the queue belongs to the parent disk. */
		char *slash = strrchr(dir, '/');

		if (slash) {
			*slash = '\0';
			rot = read_rotational(dir);
		}
	}
	return rot == 1 ? "hdd" : "ssd";
}
