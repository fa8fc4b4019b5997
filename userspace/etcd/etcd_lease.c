// SPDX-License-Identifier: GPL-2.0-only
/* Leases: grant, one keepalive round, revoke. */
#include <errno.h>
#include <string.h>

#include "etcd_int.h"

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *lease_id)
{
	json_t *req, *resp, *err;
	int64_t rev, id, ttl;
	int ret;

	if (ttl_s <= 0) {
		etcd_seterr(e, "lease TTL %lld <= 0", (long long)ttl_s);
		return -EINVAL;
	}
	req = json_pack("{s:o}", "TTL", etcd_json_i64(ttl_s));
	if (!req) {
		etcd_seterr(e, "out of memory");
		return -ENOMEM;
	}
	ret = etcd_call(e, "/v3/lease/grant", req, ETCD_WRITE, &resp);
	if (ret)
		return ret;
	ret = etcd_header_rev(e, resp, &rev);
	if (ret)
		goto out;
	/* LeaseGrantResponse has an error string of its own. */
	err = json_object_get(resp, "error");
	if (json_is_string(err) && *json_string_value(err)) {
		etcd_seterr(e, "etcd lease grant: %s", json_string_value(err));
		ret = -EIO;
		goto out;
	}
	if (etcd_get_i64(resp, "ID", &id) || etcd_get_i64(resp, "TTL", &ttl) ||
	    id == 0 || ttl <= 0) {
		etcd_seterr(e, "etcd lease grant answer without a valid ID and TTL");
		ret = -EPROTO;
		goto out;
	}
	*lease_id = id;
out:
	json_decref(resp);
	return ret;
}

int etcd_lease_keepalive(struct etcd *e, int64_t lease_id, int64_t *ttl_left)
{
	json_t *req, *resp, *res;
	int64_t rev, id, ttl = 0;
	int ret;

	if (ttl_left)
		*ttl_left = 0;
	req = json_pack("{s:o}", "ID", etcd_json_i64(lease_id));
	if (!req) {
		etcd_seterr(e, "out of memory");
		return -ENOMEM;
	}
	/* A streaming call: one request, one {"result": {...}} answer. */
	ret = etcd_call(e, "/v3/lease/keepalive", req, ETCD_READ, &resp);
	if (ret)
		return ret;
	res = json_object_get(resp, "result");
	if (!json_is_object(res)) {
		etcd_seterr(e, "etcd keepalive answer without a result");
		ret = -EPROTO;
		goto out;
	}
	ret = etcd_header_rev(e, res, &rev);
	if (!ret && (etcd_get_i64(res, "ID", &id) ||
		     etcd_get_i64(res, "TTL", &ttl) || ttl < 0)) {
		etcd_seterr(e, "etcd keepalive answer with a malformed TTL");
		ret = -EPROTO;
	}
	if (ret)
		goto out;
	/* An expired or unknown lease is answered with TTL 0 (left out). */
	if (ttl == 0) {
		etcd_seterr(e, "lease %llx has expired or does not exist",
			    (unsigned long long)lease_id);
		ret = -ENOENT;
	}
	if (ttl_left)
		*ttl_left = ttl;
out:
	json_decref(resp);
	return ret;
}

int etcd_lease_revoke(struct etcd *e, int64_t lease_id)
{
	json_t *req, *resp;
	int64_t rev;
	int ret;

	req = json_pack("{s:o}", "ID", etcd_json_i64(lease_id));
	if (!req) {
		etcd_seterr(e, "out of memory");
		return -ENOMEM;
	}
	ret = etcd_call(e, "/v3/lease/revoke", req, ETCD_WRITE, &resp);
	if (ret)
		return ret;
	ret = etcd_header_rev(e, resp, &rev);
	json_decref(resp);
	return ret;
}
