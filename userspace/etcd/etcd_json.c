// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gateway's JSON conventions: bytes are padded base64, int64 fields
 * are decimal strings (integers accepted too), and fields with the zero
 * value are left out, so a missing number is 0, not an error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "etcd_int.h"

json_t *etcd_json_b64(const void *data, size_t len)
{
	char *s = b64_encode(data, len);
	json_t *j;

	if (!s)
		return NULL;
	j = json_string(s);
	free(s);
	return j;
}

json_t *etcd_json_i64(int64_t v)
{
	return json_sprintf("%" PRId64, v);
}

/* A missing or null field is 0. */
int etcd_get_i64(json_t *obj, const char *name, int64_t *v)
{
	json_t *j = json_object_get(obj, name);
	const char *s;
	char *end;
	long long x;

	*v = 0;
	if (!j || json_is_null(j))
		return 0;
	if (json_is_integer(j)) {
		*v = json_integer_value(j);
		return 0;
	}
	if (!json_is_string(j))
		return -EPROTO;
	s = json_string_value(j);
	if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -EPROTO;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return -EPROTO;
	*v = x;
	return 0;
}

/* Every answer of etcd has a header; its absence means it is not etcd. */
int etcd_header_rev(struct etcd *e, json_t *resp, int64_t *rev)
{
	json_t *h = json_object_get(resp, "header");

	if (!json_is_object(h) || etcd_get_i64(h, "revision", rev)) {
		etcd_seterr(e, "etcd answer without a valid header");
		return -EPROTO;
	}
	return 0;
}

void etcd_kv_free(struct etcd_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void etcd_kvs_free(struct etcd_kv *kvs, size_t n)
{
	size_t i;

	for (i = 0; kvs && i < n; i++)
		etcd_kv_free(&kvs[i]);
	free(kvs);
}

static int b64_field(json_t *obj, const char *name, bool required,
		     char **out, size_t *len)
{
	json_t *j = json_object_get(obj, name);
	int ret;

	if (!j) {
		if (required)
			return -EPROTO;
		*out = strdup("");
		*len = 0;
		return *out ? 0 : -ENOMEM;
	}
	if (!json_is_string(j))
		return -EPROTO;
	ret = b64_decode(json_string_value(j), json_string_length(j),
			 (unsigned char **)out, len);
	return ret == -EINVAL ? -EPROTO : ret;
}

int etcd_parse_kv(struct etcd *e, json_t *obj, struct etcd_kv *kv)
{
	size_t klen;
	int ret;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(obj)) {
		ret = -EPROTO;
		goto err;
	}
	ret = b64_field(obj, "key", true, &kv->key, &klen);
	if (!ret)
		ret = b64_field(obj, "value", false, &kv->value, &kv->value_len);
	if (!ret)
		ret = etcd_get_i64(obj, "create_revision", &kv->create_rev);
	if (!ret)
		ret = etcd_get_i64(obj, "mod_revision", &kv->mod_rev);
	if (!ret)
		ret = etcd_get_i64(obj, "version", &kv->version);
	if (!ret)
		ret = etcd_get_i64(obj, "lease", &kv->lease);
	if (!ret)
		return 0;
err:
	etcd_kv_free(kv);
	if (ret == -ENOMEM)
		etcd_seterr(e, "out of memory");
	else
		etcd_seterr(e, "etcd answer with a malformed key-value");
	return ret;
}

/* The range end that covers every key starting with prefix: the prefix with
 * its last byte below 0xff incremented (and what follows it dropped); "\0"
 * (all keys) if there is no such byte.
 */
char *etcd_prefix_end(const char *prefix, size_t *len)
{
	size_t n = strlen(prefix);
	char *end = malloc(n + 1);

	if (!end)
		return NULL;
	memcpy(end, prefix, n);
	while (n && (unsigned char)end[n - 1] == 0xff)
		n--;
	if (!n) {
		end[0] = '\0';
		*len = 1;
		return end;
	}
	end[n - 1]++;
	*len = n;
	return end;
}
