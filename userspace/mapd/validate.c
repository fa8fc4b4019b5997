// SPDX-License-Identifier: GPL-2.0-only
/* Validation of names and sizes that come from clients or the state file. */
#include <string.h>

#include "state.h"

/* [A-Za-z0-9._-]{1,64}, and not "." or ".." (they are path components). */
bool valid_name(const char *name)
{
	size_t n = strlen(name), i;

	if (n < 1 || n > MAPD_NAME_MAX)
		return false;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* Block layer sizes are in 512-byte sectors; keep below 2^63. */
bool valid_volume_size(uint64_t size)
{
	return size > 0 && size % 512 == 0 && size <= (UINT64_MAX >> 1);
}

bool valid_class(const char *class)
{
	return !strcmp(class, "ssd") || !strcmp(class, "hdd");
}

bool valid_uuid(const char *uuid)
{
	bool zero = true;
	size_t i;

	if (strlen(uuid) != MAPD_UUID_LEN)
		return false;
	for (i = 0; i < MAPD_UUID_LEN; i++) {
		char c = uuid[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		zero &= c == '0';
	}
	return !zero;
}
