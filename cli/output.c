/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "vpnctl.h"

#define COLOR_GREEN "\033[32m"
#define COLOR_YELLOW "\033[33m"
#define COLOR_RED "\033[31m"
#define COLOR_BOLD "\033[1m"
#define COLOR_OFF "\033[0m"

const char *
output_lookup_str(GVariant *dict, const char *key)
{
	const char *s = NULL;

	if (!g_variant_lookup(dict, key, "&s", &s))
		return "";
	return s;
}

guint64
output_lookup_u64(GVariant *dict, const char *key)
{
	guint64 n = 0;

	g_variant_lookup(dict, key, "t", &n);
	return n;
}

gint64
output_lookup_i64(GVariant *dict, const char *key)
{
	gint64 n = 0;

	g_variant_lookup(dict, key, "x", &n);
	return n;
}

json_object *
output_conn_json(GVariant *props)
{
	json_object *obj = json_object_new_object();
	json_object *ips = json_object_new_array();
	g_autofree const char **vips = NULL;

	json_object_object_add(obj, "name",
			       json_object_new_string(output_lookup_str(props, "Name")));
	json_object_object_add(obj, "state",
			       json_object_new_string(output_lookup_str(props, "State")));
	json_object_object_add(obj, "local_address",
			       json_object_new_string(output_lookup_str(props, "LocalAddress")));
	json_object_object_add(obj, "remote_address",
			       json_object_new_string(output_lookup_str(props, "RemoteAddress")));
	if (g_variant_lookup(props, "VirtualIPs", "^a&s", &vips)) {
		for (guint i = 0; vips[i]; i++)
			json_object_array_add(ips, json_object_new_string(vips[i]));
	}
	json_object_object_add(obj, "virtual_ips", ips);
	json_object_object_add(obj, "bytes_in",
			       json_object_new_uint64(output_lookup_u64(props, "BytesIn")));
	json_object_object_add(obj, "bytes_out",
			       json_object_new_uint64(output_lookup_u64(props, "BytesOut")));
	json_object_object_add(obj, "packets_in",
			       json_object_new_uint64(output_lookup_u64(props, "PacketsIn")));
	json_object_object_add(obj, "packets_out",
			       json_object_new_uint64(output_lookup_u64(props, "PacketsOut")));
	json_object_object_add(obj, "established_at",
			       json_object_new_int64(output_lookup_i64(props, "EstablishedAt")));
	json_object_object_add(obj, "last_error",
			       json_object_new_string(output_lookup_str(props, "LastError")));
	json_object_object_add(obj, "last_error_name",
			       json_object_new_string(output_lookup_str(props, "LastErrorName")));
	return obj;
}

void
output_json(Vpnctl *v, json_object *obj)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (v->tty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			    : JSON_C_TO_STRING_PLAIN);

	printf("%s\n", json_object_to_json_string_ext(obj, flags));
	fflush(stdout);
	json_object_put(obj);
}

char *
output_state(Vpnctl *v, const char *state)
{
	const char *color = NULL;

	if (g_str_equal(state, "established"))
		color = COLOR_GREEN;
	else if (g_str_equal(state, "connecting") || g_str_equal(state, "disconnecting"))
		color = COLOR_YELLOW;
	if (!v->color || !color)
		return g_strdup(state);
	return g_strconcat(color, state, COLOR_OFF, NULL);
}

/* Width on the screen: colour sequences take none. */
static gsize
visible_width(const char *s)
{
	gsize n = 0;

	while (*s) {
		if (*s == '\033') {
			while (*s && *s != 'm')
				s++;
			if (*s)
				s++;
			continue;
		}
		if ((*s & 0xc0) != 0x80)
			n++;
		s++;
	}
	return n;
}

static void
print_row(const char *const *cells, const gsize *widths, guint n, gboolean bold)
{
	for (guint i = 0; i < n; i++) {
		const char *cell = cells[i] ? cells[i] : "";
		gboolean last = i + 1 == n;
		gsize pad = last ? 0 : widths[i] - visible_width(cell) + 2;

		printf("%s%s%s%*s", bold ? COLOR_BOLD : "", cell, bold ? COLOR_OFF : "", (int)pad,
		       "");
	}
	printf("\n");
}

void
output_table(Vpnctl *v, const char *const *header, GPtrArray *rows)
{
	guint n = g_strv_length((char **)header);
	g_autofree gsize *widths = g_new0(gsize, n);

	if (!v->tty) {
		for (guint r = 0; r < rows->len; r++) {
			g_autofree char *line = g_strjoinv("\t", rows->pdata[r]);
			printf("%s\n", line);
		}
		return;
	}
	for (guint i = 0; i < n; i++)
		widths[i] = visible_width(header[i]);
	for (guint r = 0; r < rows->len; r++) {
		const char *const *cells = rows->pdata[r];
		for (guint i = 0; i < n && cells[i]; i++)
			widths[i] = MAX(widths[i], visible_width(cells[i]));
	}
	print_row(header, widths, n, v->color);
	for (guint r = 0; r < rows->len; r++)
		print_row(rows->pdata[r], widths, n, FALSE);
}
