// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading shard-mapd's replies for the text output: fields that may be
 * missing or of another type read as "" / 0 / false, never as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shardctl.h"

const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

long long jnum(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

bool jtrue(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

char *json_text(json_t *v)
{
	char buf[32];

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld",
			 (long long)json_integer_value(v));
		return strdup(buf);
	}
	if (!v || json_is_null(v))
		return strdup("-");
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
			  JSON_PRESERVE_ORDER);
}

void format_addr(json_t *d, char *buf, size_t len)
{
	const char *a = jstr(d, "addr") ?: "?";

	/* IPv6 in brackets, so that the port stays readable. */
	snprintf(buf, len, strchr(a, ':') ? "[%s]:%lld" : "%s:%lld", a,
		 jnum(d, "port"));
}

char *format_ids(json_t *ids, size_t from, size_t n)
{
	size_t i, len = 1;
	char *s;

	if (!json_is_array(ids))
		return strdup("-");
	for (i = from; i < from + n && i < json_array_size(ids); i++)
		len += 21;	/* digits of a long long, and the comma */
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (i = from; i < from + n && i < json_array_size(ids); i++) {
		json_t *v = json_array_get(ids, i);
		size_t at = strlen(s);

		if (json_is_integer(v))
			snprintf(s + at, len - at, "%s%lld", i > from ? "," : "",
				 (long long)json_integer_value(v));
		else
			snprintf(s + at, len - at, "%s-", i > from ? "," : "");
	}
	if (!s[0]) {
		free(s);
		return strdup("-");
	}
	return s;
}
