// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <openssl/evp.h>

#include "b64.h"

char *b64_encode(const void *data, size_t len)
{
	char *out;

	if (len > (size_t)INT_MAX / 4 * 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, len);
	return out;
}

int b64_decode(const char *s, size_t len, unsigned char **out,
	       size_t *outlen)
{
	unsigned char *buf;
	size_t pad = 0;
	int n;

	*out = NULL;
	*outlen = 0;
	if (len % 4 || len > INT_MAX)
		return -EINVAL;
	/* Padding only at the very end: EVP_DecodeBlock does not check. */
	for (size_t i = 0; i + 2 < len; i++)
		if (s[i] == '=')
			return -EINVAL;
	if (len >= 2 && s[len - 2] == '=' && s[len - 1] != '=')
		return -EINVAL;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	/* EVP_DecodeBlock counts the padding as zero bytes: take it off. */
	if (len && s[len - 1] == '=')
		pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
	n = len ? EVP_DecodeBlock(buf, (const unsigned char *)s, len) : 0;
	if (n < 0 || (size_t)n < pad) {
		free(buf);
		return -EINVAL;
	}
	*outlen = n - pad;
	buf[*outlen] = '\0';
	*out = buf;
	return 0;
}
