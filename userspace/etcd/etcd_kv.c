// SPDX-License-Identifier: GPL-2.0-only
/* Keys: range, put, deleterange, txn (compare-and-swap, create) and compact. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_int.h"

static int nomem(struct etcd *e, json_t *j)
{
	json_decref(j);
	etcd_seterr(e, "out of memory");
	return -ENOMEM;
}

static int bad_key(struct etcd *e, const char *key)
{
	if (key && *key)
		return 0;
	etcd_seterr(e, "empty key");
	return -EINVAL;
}

/* {"key": ..., "range_end": ...} for a key, or for a prefix when prefix. */
static json_t *range_req(const char *key, bool prefix)
{
	json_t *req;
	size_t len;
	char *end;

	/* The empty key is not allowed; "\0" to "\0" means all keys. */
	req = json_pack("{s:o}", "key", *key ? etcd_json_b64(key, strlen(key))
					     : etcd_json_b64("", 1));
	if (!req || !prefix)
		return req;
	end = etcd_prefix_end(key, &len);
	if (!end || json_object_set_new(req, "range_end",
					etcd_json_b64(end, len))) {
		free(end);
		json_decref(req);
		return NULL;
	}
	free(end);
	return req;
}

/* The kvs of a range answer; NULL is a valid empty one. */
static int range_kvs(struct etcd *e, json_t *resp, json_t **kvs)
{
	*kvs = json_object_get(resp, "kvs");
	if (*kvs && !json_is_array(*kvs)) {
		etcd_seterr(e, "etcd range answer with a malformed kvs");
		return -EPROTO;
	}
	return 0;
}

int etcd_get(struct etcd *e, const char *key, struct etcd_kv *kv,
	     int64_t *header_rev)
{
	json_t *req, *resp, *kvs;
	int64_t rev;
	int ret;

	memset(kv, 0, sizeof(*kv));
	ret = bad_key(e, key);
	if (ret)
		return ret;
	req = range_req(key, false);
	if (!req)
		return nomem(e, NULL);
	ret = etcd_call(e, "/v3/kv/range", req, ETCD_READ, &resp);
	if (ret)
		return ret;
	ret = etcd_header_rev(e, resp, &rev);
	if (!ret)
		ret = range_kvs(e, resp, &kvs);
	if (ret)
		goto out;
	if (header_rev)
		*header_rev = rev;
	if (!json_array_size(kvs)) {
		etcd_seterr(e, "%s: no such key", key);
		ret = -ENOENT;
		goto out;
	}
	ret = etcd_parse_kv(e, json_array_get(kvs, 0), kv);
out:
	json_decref(resp);
	return ret;
}

int etcd_get_prefix(struct etcd *e, const char *prefix, struct etcd_kv **out,
		    size_t *n, int64_t *header_rev)
{
	struct etcd_kv *kvs = NULL;
	json_t *req, *resp, *arr;
	size_t i, cnt;
	int64_t rev;
	int ret;

	*out = NULL;
	*n = 0;
	req = range_req(prefix ? prefix : "", true);
	if (!req)
		return nomem(e, NULL);
	ret = etcd_call(e, "/v3/kv/range", req, ETCD_READ, &resp);
	if (ret)
		return ret;
	ret = etcd_header_rev(e, resp, &rev);
	if (!ret)
		ret = range_kvs(e, resp, &arr);
	if (ret)
		goto out;
	cnt = json_array_size(arr);
	if (cnt) {
		kvs = calloc(cnt, sizeof(*kvs));
		if (!kvs) {
			ret = nomem(e, NULL);
			goto out;
		}
	}
	for (i = 0; i < cnt; i++) {
		ret = etcd_parse_kv(e, json_array_get(arr, i), &kvs[i]);
		if (ret) {
			etcd_kvs_free(kvs, i);
			goto out;
		}
	}
	*out = kvs;
	*n = cnt;
	if (header_rev)
		*header_rev = rev;
out:
	json_decref(resp);
	return ret;
}

static json_t *put_req(const char *key, const void *val, size_t len,
		       int64_t lease)
{
	json_t *req = json_pack("{s:o, s:o}",
				"key", etcd_json_b64(key, strlen(key)),
				"value", etcd_json_b64(val, len));

	if (req && lease &&
	    json_object_set_new(req, "lease", etcd_json_i64(lease))) {
		json_decref(req);
		return NULL;
	}
	return req;
}

int etcd_put(struct etcd *e, const char *key, const void *val, size_t len,
	     int64_t lease)
{
	json_t *req, *resp;
	int64_t rev;
	int ret;

	ret = bad_key(e, key);
	if (ret)
		return ret;
	req = put_req(key, val ? val : "", len, lease);
	if (!req)
		return nomem(e, NULL);
	ret = etcd_call(e, "/v3/kv/put", req, ETCD_WRITE, &resp);
	if (ret)
		return ret;
	ret = etcd_header_rev(e, resp, &rev);
	json_decref(resp);
	return ret;
}

static int delete_range(struct etcd *e, const char *key, bool prefix)
{
	json_t *req, *resp;
	int64_t rev, n;
	int ret;

	req = range_req(key, prefix);
	if (!req)
		return nomem(e, NULL);
	ret = etcd_call(e, "/v3/kv/deleterange", req, ETCD_WRITE, &resp);
	if (ret)
		return ret;
	ret = etcd_header_rev(e, resp, &rev);
	if (!ret && (etcd_get_i64(resp, "deleted", &n) || n < 0 ||
		     n > 0x7fffffff)) {
		etcd_seterr(e, "etcd deleterange answer with a bad count");
		ret = -EPROTO;
	}
	json_decref(resp);
	return ret ? ret : (int)n;
}

int etcd_delete(struct etcd *e, const char *key)
{
	int ret = bad_key(e, key);

	return ret ? ret : delete_range(e, key, false);
}

int etcd_delete_prefix(struct etcd *e, const char *prefix)
{
	return delete_range(e, prefix ? prefix : "", true);
}

/* {"target": "MOD"|"CREATE", "key": ..., field: rev} (result EQUAL is the
 * default and so left out, as the gateway itself does).
 */
static json_t *compare(const char *target, const char *key,
		       const char *field, int64_t rev)
{
	return json_pack("{s:s, s:o, s:o}", "target", target,
			 "key", etcd_json_b64(key, strlen(key)),
			 field, etcd_json_i64(rev));
}

/*
 * Run a transaction of compares, one put on success and, if want_cur, a
 * range of the key on failure. Returns 0 if it succeeded, 1 if a compare
 * failed (*resp then holds the answer), -errno on error.
 */
static int txn_put(struct etcd *e, json_t *cmps, const char *key,
		   const void *val, size_t len, int64_t lease, bool want_cur,
		   json_t **resp, int64_t *rev)
{
	json_t *req, *put, *ok;
	int ret;

	put = put_req(key, val ? val : "", len, lease);
	req = json_pack("{s:o, s:[{s:o}]}", "compare", cmps,
			"success", "request_put", put);
	if (req && want_cur &&
	    json_object_set_new(req, "failure",
				json_pack("[{s:o}]", "request_range",
					  range_req(key, false))))
		return nomem(e, req);
	if (!req)
		return nomem(e, NULL);
	ret = etcd_call(e, "/v3/kv/txn", req, ETCD_WRITE, resp);
	if (ret)
		return ret;
	ret = etcd_header_rev(e, *resp, rev);
	if (ret)
		goto err;
	ok = json_object_get(*resp, "succeeded");
	/* false is the zero value, which the gateway leaves out */
	if (ok && !json_is_boolean(ok)) {
		etcd_seterr(e, "etcd txn answer with a malformed succeeded");
		ret = -EPROTO;
		goto err;
	}
	return json_is_true(ok) ? 0 : 1;
err:
	json_decref(*resp);
	*resp = NULL;
	return ret;
}

int etcd_cas(struct etcd *e, const char *key, const void *val, size_t len,
	     int64_t expect_mod_rev, int64_t lease, const char *guard_key,
	     int64_t guard_create_rev, int64_t *new_rev)
{
	json_t *cmps, *resp;
	int64_t rev;
	int ret;

	ret = bad_key(e, key);
	if (!ret && guard_key)
		ret = bad_key(e, guard_key);
	if (ret)
		return ret;
	cmps = json_pack("[o]", compare("MOD", key, "mod_revision",
					expect_mod_rev));
	if (cmps && guard_key &&
	    json_array_append_new(cmps, compare("CREATE", guard_key,
						"create_revision",
						guard_create_rev)))
		return nomem(e, cmps);
	if (!cmps)
		return nomem(e, NULL);
	ret = txn_put(e, cmps, key, val, len, lease, false, &resp, &rev);
	if (ret < 0)
		return ret;
	json_decref(resp);
	if (ret) {
		if (guard_key)
			etcd_seterr(e, "%s changed since revision %lld or %s is not at create revision %lld",
				    key, (long long)expect_mod_rev, guard_key,
				    (long long)guard_create_rev);
		else
			etcd_seterr(e, "%s changed since revision %lld", key,
				    (long long)expect_mod_rev);
		return -ECANCELED;
	}
	if (new_rev)
		*new_rev = rev;
	return 0;
}

/* The key a failed create found: responses[0].response_range.kvs[0]. */
static int existing_kv(struct etcd *e, json_t *resp, struct etcd_kv *cur)
{
	json_t *r = json_array_get(json_object_get(resp, "responses"), 0);
	json_t *kvs;

	r = json_object_get(json_object_get(r, "response_range"), "kvs");
	kvs = json_array_get(r, 0);
	if (!kvs) {
		/* It was deleted between the compare and the range? They
		 * are one transaction, so this is not etcd talking.
		 */
		etcd_seterr(e, "etcd txn answer without the failure range");
		return -EPROTO;
	}
	return etcd_parse_kv(e, kvs, cur);
}

int etcd_create(struct etcd *e, const char *key, const void *val, size_t len,
		int64_t lease, struct etcd_kv *cur, int64_t *create_rev)
{
	json_t *cmps, *resp;
	int64_t rev;
	int ret;

	if (cur)
		memset(cur, 0, sizeof(*cur));
	ret = bad_key(e, key);
	if (ret)
		return ret;
	cmps = json_pack("[o]", compare("CREATE", key, "create_revision", 0));
	if (!cmps)
		return nomem(e, NULL);
	ret = txn_put(e, cmps, key, val, len, lease, cur != NULL, &resp, &rev);
	if (ret < 0)
		return ret;
	if (ret) {
		ret = cur ? existing_kv(e, resp, cur) : 0;
		if (!ret) {
			etcd_seterr(e, "%s exists", key);
			ret = -EEXIST;
		}
	} else if (create_rev) {
		*create_rev = rev;
	}
	json_decref(resp);
	return ret;
}

int etcd_compact(struct etcd *e, int64_t rev)
{
	json_t *req, *resp;
	int64_t hrev;
	int ret;

	req = json_pack("{s:o}", "revision", etcd_json_i64(rev));
	if (!req)
		return nomem(e, NULL);
	ret = etcd_call(e, "/v3/kv/compaction", req, ETCD_WRITE, &resp);
	if (ret)
		return ret;
	ret = etcd_header_rev(e, resp, &hrev);
	json_decref(resp);
	return ret;
}
