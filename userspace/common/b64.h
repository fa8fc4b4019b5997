/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Base64 (RFC 4648, padded) for binary fields in JSON: PG tables on the
 * mapd socket, keys and values in etcd. OpenSSL's libcrypto does the
 * work; link with -lcrypto.
 */
#ifndef SHARD_B64_H
#define SHARD_B64_H

#include <stddef.h>

/* A NUL-terminated malloc'ed string, or NULL on ENOMEM. */
char *b64_encode(const void *data, size_t len);
/*
 * Decodes len characters of s into a malloc'ed buffer (NUL-terminated
 * for convenience, not counted in *outlen). 0, -EINVAL when s is not
 * padded base64, -ENOMEM.
 */
int b64_decode(const char *s, size_t len, unsigned char **out,
	       size_t *outlen);

#endif /* SHARD_B64_H */
