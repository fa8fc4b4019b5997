// SPDX-License-Identifier: GPL-2.0-only
/* Aligned text tables: columns as wide as their widest cell. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shardctl.h"

struct table {
	size_t ncols;
	size_t nrows;
	char **cells;		/* nrows * ncols, row 0 the headers */
};

static void add_row(struct table *t, va_list ap)
{
	char **c = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*c));
	size_t i;

	if (!c)
		return;		/* out of memory: the row is left out */
	t->cells = c;
	for (i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		c[t->nrows * t->ncols + i] = strdup(s ? s : "-");
	}
	t->nrows++;
}

struct table *table_new(size_t ncols, ...)
{
	struct table *t = calloc(1, sizeof(*t));
	va_list ap;

	if (!t)
		return NULL;
	t->ncols = ncols;
	va_start(ap, ncols);
	add_row(t, ap);
	va_end(ap);
	return t;
}

void table_row(struct table *t, ...)
{
	va_list ap;

	if (!t)
		return;
	va_start(ap, t);
	add_row(t, ap);
	va_end(ap);
}

void table_print(struct table *t)
{
	size_t *w, r, c;

	if (!t)
		return;
	w = calloc(t->ncols, sizeof(*w));
	for (r = 0; w && r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t n = s ? strlen(s) : 0;

			if (n > w[c])
				w[c] = n;
		}
	for (r = 0; w && r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c + 1 < t->ncols)
				printf("%-*s  ", (int)w[c], s ? s : "");
			else
				printf("%s\n", s ? s : "");
		}
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	free(w);
	free(t);
}
