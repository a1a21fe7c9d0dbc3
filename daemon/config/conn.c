/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config/conn.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "config/proposal.h"

G_DEFINE_QUARK(vpnd - conn - error - quark, conn_error)

/* IkeIdType numbers (RFC 7296 §3.5); config/ does not link the IKE codec. */
enum {
	ID_IPV4 = 1,
	ID_FQDN = 2,
	ID_RFC822 = 3,
	ID_IPV6 = 5,
	ID_DN = 9,
	ID_KEY_ID = 11,
};

/* ---- Distinguished names (the simplest cases: one attribute per RDN) ---- */

typedef struct {
	const char *name;
	guint8 oid[10];
	guint8 oid_len;
	guint8 string_tag; /* 0x0c UTF8String, 0x13 PrintableString, 0x16 IA5String */
} DnAttr;

static const DnAttr dn_attrs[] = {
	{ "C", { 0x55, 0x04, 0x06 }, 3, 0x13 },
	{ "ST", { 0x55, 0x04, 0x08 }, 3, 0x0c },
	{ "L", { 0x55, 0x04, 0x07 }, 3, 0x0c },
	{ "O", { 0x55, 0x04, 0x0a }, 3, 0x0c },
	{ "OU", { 0x55, 0x04, 0x0b }, 3, 0x0c },
	{ "CN", { 0x55, 0x04, 0x03 }, 3, 0x0c },
	{ "SN", { 0x55, 0x04, 0x04 }, 3, 0x0c },
	{ "serialNumber", { 0x55, 0x04, 0x05 }, 3, 0x13 },
	{ "E", { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01 }, 9, 0x16 },
	{ "emailAddress", { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01 }, 9, 0x16 },
	{ "DC", { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19 }, 10, 0x16 },
	{ "UID", { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01 }, 10, 0x0c },
};

/* Wraps @body in a DER TLV with @tag (definite length, long form when needed). */
static void
der_wrap(GByteArray *out, guint8 tag, const guint8 *body, gsize len)
{
	guint8 hdr[6] = { tag };
	gsize n = 1;

	if (len < 0x80) {
		hdr[n++] = (guint8)len;
	} else if (len < 0x100) {
		hdr[n++] = 0x81;
		hdr[n++] = (guint8)len;
	} else {
		hdr[n++] = 0x82;
		hdr[n++] = (guint8)(len >> 8);
		hdr[n++] = (guint8)len;
	}
	g_byte_array_append(out, hdr, n);
	g_byte_array_append(out, body, len);
}

static const DnAttr *
dn_attr_find(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(dn_attrs); i++) {
		if (g_ascii_strcasecmp(dn_attrs[i].name, name) == 0)
			return &dn_attrs[i];
	}
	return NULL;
}

/* "C=CH, O=org, CN=name" → DER RDNSequence. Escapes and multi-valued RDNs are refused. */
static GBytes *
dn_encode(const char *text, GError **error)
{
	g_auto(GStrv) parts = g_strsplit_set(text, ",/", -1);
	g_autoptr(GByteArray) rdns = g_byte_array_new();
	g_autoptr(GByteArray) out = g_byte_array_new();

	for (char **p = parts; *p; p++) {
		char *part = g_strstrip(*p);
		char *eq = strchr(part, '=');
		const DnAttr *attr;

		if (!*part)
			continue;
		if (!eq || strchr(part, '+') || strchr(part, '\\')) {
			g_set_error(error, CONN_ERROR, CONN_ERROR_IDENTITY,
				    "identity \"%s\": cannot encode \"%s\" as a DN part", text,
				    part);
			return NULL;
		}
		*eq = '\0';
		attr = dn_attr_find(g_strstrip(part));
		if (!attr) {
			g_set_error(error, CONN_ERROR, CONN_ERROR_IDENTITY,
				    "identity \"%s\": unknown DN attribute \"%s\"", text, part);
			return NULL;
		}
		const char *value = g_strstrip(eq + 1);
		g_autoptr(GByteArray) atv = g_byte_array_new();
		g_autoptr(GByteArray) seq = g_byte_array_new();
		g_autoptr(GByteArray) set = g_byte_array_new();

		der_wrap(atv, 0x06, attr->oid, attr->oid_len);
		der_wrap(atv, attr->string_tag, (const guint8 *)value, strlen(value));
		der_wrap(seq, 0x30, atv->data, atv->len);
		der_wrap(set, 0x31, seq->data, seq->len);
		g_byte_array_append(rdns, set->data, set->len);
	}
	if (rdns->len == 0) {
		g_set_error(error, CONN_ERROR, CONN_ERROR_IDENTITY, "identity \"%s\": empty DN",
			    text);
		return NULL;
	}
	der_wrap(out, 0x30, rdns->data, rdns->len);
	return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

/* ---- Identities ---- */

static ConnIdentity *
identity_new(guint8 type, const char *text, GBytes *data)
{
	ConnIdentity *id = g_new0(ConnIdentity, 1);

	id->type = type;
	id->text = g_strdup(text);
	id->data = data;
	return id;
}

ConnIdentity *
conn_identity_parse(const char *text, GError **error)
{
	guint8 addr[16];

	if (!text || !*text || g_strcmp0(text, "%any") == 0)
		return identity_new(0, "%any", NULL);
	if (g_str_has_prefix(text, "@#")) {
		gsize n = strlen(text + 2);
		g_autofree guint8 *bin = g_malloc0(n / 2 + 1);

		if (n == 0 || n % 2) {
			g_set_error(error, CONN_ERROR, CONN_ERROR_IDENTITY,
				    "identity \"%s\": KEY_ID needs an even number of hex digits",
				    text);
			return NULL;
		}
		for (gsize i = 0; i < n / 2; i++) {
			int hi = g_ascii_xdigit_value(text[2 + 2 * i]);
			int lo = g_ascii_xdigit_value(text[3 + 2 * i]);

			if (hi < 0 || lo < 0) {
				g_set_error(error, CONN_ERROR, CONN_ERROR_IDENTITY,
					    "identity \"%s\": not hex", text);
				return NULL;
			}
			bin[i] = (guint8)(hi << 4 | lo);
		}
		return identity_new(ID_KEY_ID, text, g_bytes_new(bin, n / 2));
	}
	if (text[0] == '@')
		return identity_new(ID_FQDN, text, g_bytes_new(text + 1, strlen(text + 1)));
	if (inet_pton(AF_INET, text, addr) == 1)
		return identity_new(ID_IPV4, text, g_bytes_new(addr, 4));
	if (inet_pton(AF_INET6, text, addr) == 1)
		return identity_new(ID_IPV6, text, g_bytes_new(addr, 16));
	if (strchr(text, '=')) {
		GBytes *der = dn_encode(text, error);

		return der ? identity_new(ID_DN, text, der) : NULL;
	}
	if (strchr(text, '@'))
		return identity_new(ID_RFC822, text, g_bytes_new(text, strlen(text)));
	return identity_new(ID_FQDN, text, g_bytes_new(text, strlen(text)));
}

ConnIdentity *
conn_identity_new_from_payload(guint8 type, const guint8 *data, gsize len)
{
	g_autofree char *text = NULL;
	char buf[INET6_ADDRSTRLEN];

	switch (type) {
	case ID_FQDN:
	case ID_RFC822:
		text = g_strndup((const char *)data, len);
		break;
	case ID_IPV4:
	case ID_IPV6:
		if (len == (type == ID_IPV4 ? 4u : 16u) &&
		    inet_ntop(type == ID_IPV4 ? AF_INET : AF_INET6, data, buf, sizeof(buf)))
			text = g_strdup(buf);
		break;
	default:
		break;
	}
	if (!text)
		text = g_strdup_printf("(ID type %u, %zu bytes)", type, len);
	return identity_new(type, text, g_bytes_new(data, len));
}

void
conn_identity_free(ConnIdentity *id)
{
	if (!id)
		return;
	g_free(id->text);
	g_clear_pointer(&id->data, g_bytes_unref);
	g_free(id);
}

gboolean
conn_identity_is_any(const ConnIdentity *id)
{
	return !id || id->type == 0;
}

/* One DER TLV at @p (< @end): its tag, where its contents start, their length. */
static gboolean
der_read(const guint8 *p, const guint8 *end, guint8 *tag, const guint8 **body, gsize *len)
{
	gsize n;

	if (end - p < 2)
		return FALSE;
	*tag = p[0];
	n = p[1];
	p += 2;
	if (n & 0x80) {
		gsize bytes = n & 0x7f;

		if (bytes == 0 || bytes > 2 || (gsize)(end - p) < bytes)
			return FALSE;
		for (n = 0; bytes--; p++)
			n = n << 8 | *p;
	}
	if ((gsize)(end - p) < n)
		return FALSE;
	*body = p;
	*len = n;
	return TRUE;
}

static gboolean
is_dn_string_tag(guint8 tag)
{
	return tag == 0x0c || tag == 0x13 || tag == 0x14 || tag == 0x16; /* UTF8, Printable, T61, IA5 */
}

/*
 * Makes every attribute value of the RDNSequence @dn (modified in place) a UTF8String:
 * peers pick their own string types (strongSwan writes C=… as UTF8String, we write a
 * PrintableString), and a DN is the same name whichever type carries the text.
 * FALSE when @dn is no RDNSequence.
 */
static gboolean
dn_fold_string_types(guint8 *dn, gsize dn_len)
{
	const guint8 *seq, *end = dn + dn_len, *set, *atv, *oid, *value;
	gsize seq_len, set_len, atv_len, oid_len, value_len;
	guint8 tag;

	if (!der_read(dn, end, &tag, &seq, &seq_len) || tag != 0x30 || seq + seq_len != end)
		return FALSE;
	for (const guint8 *p = seq; p < end; p = set + set_len) {
		if (!der_read(p, end, &tag, &set, &set_len) || tag != 0x31)
			return FALSE;
		for (const guint8 *q = set; q < set + set_len; q = atv + atv_len) {
			if (!der_read(q, set + set_len, &tag, &atv, &atv_len) || tag != 0x30 ||
			    !der_read(atv, atv + atv_len, &tag, &oid, &oid_len) || tag != 0x06 ||
			    !der_read(oid + oid_len, atv + atv_len, &tag, &value, &value_len))
				return FALSE;
			if (is_dn_string_tag(tag))
				dn[oid + oid_len - dn] = 0x0c;
		}
	}
	return TRUE;
}

/* The same DN, whatever string types the attribute values use. */
static gboolean
dn_equal(GBytes *a, GBytes *b)
{
	gsize a_len, b_len;
	const guint8 *a_data = g_bytes_get_data(a, &a_len);
	const guint8 *b_data = g_bytes_get_data(b, &b_len);

	if (a_len != b_len)
		return FALSE;
	g_autofree guint8 *x = g_memdup2(a_data, a_len);
	g_autofree guint8 *y = g_memdup2(b_data, b_len);
	return dn_fold_string_types(x, a_len) && dn_fold_string_types(y, b_len) &&
	       memcmp(x, y, a_len) == 0;
}

gboolean
conn_identity_matches(const ConnIdentity *config, const ConnIdentity *peer)
{
	if (conn_identity_is_any(config))
		return TRUE;
	if (!peer || peer->type != config->type || !peer->data)
		return FALSE;
	if (config->type == ID_FQDN || config->type == ID_RFC822) {
		gsize a, b;
		const char *x = g_bytes_get_data(config->data, &a);
		const char *y = g_bytes_get_data(peer->data, &b);

		return a == b && g_ascii_strncasecmp(x, y, a) == 0;
	}
	if (config->type == ID_DN)
		return dn_equal(config->data, peer->data);
	return g_bytes_equal(config->data, peer->data);
}

/* ---- Addresses and traffic selectors ---- */

gboolean
conn_addr_parse(const char *text, guint16 port, VpndAddr *out)
{
	VpndAddr a = { .port = port };

	if (inet_pton(AF_INET, text, a.addr) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, text, a.addr) == 1)
		a.family = AF_INET6;
	else
		return FALSE;
	*out = a;
	return TRUE;
}

gboolean
conn_is_host_name(const char *text)
{
	g_auto(GStrv) labels = g_strsplit(text, ".", -1);
	gboolean letter = FALSE;

	if (!*text || strlen(text) > 253)
		return FALSE;
	for (guint i = 0; labels[i]; i++) {
		const char *l = labels[i];
		gsize len = strlen(l);

		/* a trailing dot (fully qualified) leaves one empty label at the end */
		if ((len == 0 && labels[i + 1]) || len > 63 || l[0] == '-' ||
		    (len && l[len - 1] == '-'))
			return FALSE;
		for (const char *c = l; *c; c++) {
			if (!g_ascii_isalnum(*c) && *c != '-')
				return FALSE;
			letter |= g_ascii_isalpha(*c);
		}
	}
	return letter; /* all digits would be a mistyped address */
}

static gboolean
ts_fail(GError **error, const char *text, const char *why)
{
	g_set_error(error, CONN_ERROR, CONN_ERROR_TRAFFIC_SELECTOR, "traffic selector \"%s\": %s",
		    text, why);
	return FALSE;
}

static gboolean
parse_proto_port(const char *spec, ConnTs *ts)
{
	g_auto(GStrv) pp = g_strsplit(spec, "/", 2);
	const char *proto = pp[0] ? g_strstrip(pp[0]) : "";
	const char *port = pp[0] && pp[1] ? g_strstrip(pp[1]) : "";
	guint64 a, b;

	if (g_ascii_strcasecmp(proto, "tcp") == 0)
		ts->ts.ip_proto = 6;
	else if (g_ascii_strcasecmp(proto, "udp") == 0)
		ts->ts.ip_proto = 17;
	else if (g_ascii_strcasecmp(proto, "icmp") == 0)
		ts->ts.ip_proto = 1;
	else if (g_ascii_strcasecmp(proto, "icmpv6") == 0)
		ts->ts.ip_proto = 58;
	else if (*proto && g_ascii_strcasecmp(proto, "any") != 0) {
		if (!g_ascii_string_to_unsigned(proto, 10, 0, 255, &a, NULL))
			return FALSE;
		ts->ts.ip_proto = (guint8)a;
	}
	if (!*port || g_ascii_strcasecmp(port, "any") == 0)
		return TRUE;
	g_auto(GStrv) range = g_strsplit(port, "-", 2);
	if (!g_ascii_string_to_unsigned(range[0], 10, 0, 65535, &a, NULL))
		return FALSE;
	b = a;
	if (range[1] && !g_ascii_string_to_unsigned(range[1], 10, a, 65535, &b, NULL))
		return FALSE;
	ts->ts.from_port = (guint16)a;
	ts->ts.to_port = (guint16)b;
	return TRUE;
}

/* Sets the range of @prefix bits around @addr (network order). */
static void
ts_set_prefix(VpndTs *ts, const guint8 *addr, guint len, guint prefix)
{
	for (guint i = 0; i < len; i++) {
		guint bits = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
		guint8 mask = (guint8)(0xff00 >> bits);

		ts->from[i] = addr[i] & mask;
		ts->to[i] = addr[i] | (guint8)~mask;
	}
}

gboolean
conn_ts_parse(const char *text, ConnTs *out, GError **error)
{
	ConnTs ts = { .ts = { .from_port = 0, .to_port = 65535 } };
	g_autofree char *copy = g_strstrip(g_strdup(text));
	char *bracket = strchr(copy, '[');
	guint8 a[16], b[16];
	guint64 prefix;

	if (bracket) {
		char *end = strchr(bracket, ']');

		if (!end || end[1])
			return ts_fail(error, text, "unbalanced '['");
		*end = '\0';
		*bracket = '\0';
		if (!parse_proto_port(bracket + 1, &ts))
			return ts_fail(error, text, "bad protocol or port");
		g_strstrip(copy);
	}
	if (g_ascii_strcasecmp(copy, "dynamic") == 0) {
		ts.dynamic = TRUE;
		*out = ts;
		return TRUE;
	}
	char *slash = strchr(copy, '/');
	char *dash = strchr(copy, '-');
	if (slash)
		*slash = '\0';
	if (dash)
		*dash = '\0';
	if (inet_pton(AF_INET, copy, a) == 1)
		ts.ts.family = AF_INET;
	else if (inet_pton(AF_INET6, copy, a) == 1)
		ts.ts.family = AF_INET6;
	else
		return ts_fail(error, text, "not an address");
	guint len = ts.ts.family == AF_INET ? 4 : 16;
	if (dash) {
		if (inet_pton(ts.ts.family, dash + 1, b) != 1 || memcmp(a, b, len) > 0)
			return ts_fail(error, text, "bad address range");
		memcpy(ts.ts.from, a, len);
		memcpy(ts.ts.to, b, len);
	} else {
		prefix = 8 * len;
		if (slash && !g_ascii_string_to_unsigned(slash + 1, 10, 0, 8 * len, &prefix, NULL))
			return ts_fail(error, text, "bad prefix length");
		ts_set_prefix(&ts.ts, a, len, (guint)prefix);
	}
	*out = ts;
	return TRUE;
}

/* ---- Child and connection configs ---- */

ChildConfig *
child_config_new(const char *name)
{
	ChildConfig *child = g_new0(ChildConfig, 1);

	child->name = g_strdup(name);
	child->local_ts = g_array_new(FALSE, TRUE, sizeof(ConnTs));
	child->remote_ts = g_array_new(FALSE, TRUE, sizeof(ConnTs));
	child->esp_proposals = g_ptr_array_new_with_free_func((GDestroyNotify)proposal_free);
	child->mode = VPND_MODE_TUNNEL;
	return child;
}

void
child_config_free(ChildConfig *child)
{
	if (!child)
		return;
	g_free(child->name);
	g_array_unref(child->local_ts);
	g_array_unref(child->remote_ts);
	g_ptr_array_unref(child->esp_proposals);
	g_free(child);
}

static gboolean
add_ts(GArray *list, const char *text, GError **error)
{
	ConnTs ts;

	if (!conn_ts_parse(text, &ts, error))
		return FALSE;
	g_array_append_val(list, ts);
	return TRUE;
}

gboolean
child_config_add_local_ts(ChildConfig *child, const char *text, GError **error)
{
	return add_ts(child->local_ts, text, error);
}

gboolean
child_config_add_remote_ts(ChildConfig *child, const char *text, GError **error)
{
	return add_ts(child->remote_ts, text, error);
}

static void
auth_free(ConnAuth *auth)
{
	conn_identity_free(auth->id);
	g_free(auth);
}

ConnConfig *
conn_config_new(const char *name)
{
	ConnConfig *conn = g_new0(ConnConfig, 1);

	conn->ref = 1;
	conn->name = g_strdup(name);
	conn->keyingtries = 1;
	conn->ike_proposals = g_ptr_array_new_with_free_func((GDestroyNotify)proposal_free);
	conn->local_auth = g_ptr_array_new_with_free_func((GDestroyNotify)auth_free);
	conn->remote_auth = g_ptr_array_new_with_free_func((GDestroyNotify)auth_free);
	conn->children = g_ptr_array_new_with_free_func((GDestroyNotify)child_config_free);
	return conn;
}

ConnConfig *
conn_config_ref(ConnConfig *conn)
{
	g_atomic_int_inc(&conn->ref);
	return conn;
}

void
conn_config_unref(ConnConfig *conn)
{
	if (!conn || !g_atomic_int_dec_and_test(&conn->ref))
		return;
	g_free(conn->name);
	g_free(conn->remote_host);
	g_ptr_array_unref(conn->ike_proposals);
	g_ptr_array_unref(conn->local_auth);
	g_ptr_array_unref(conn->remote_auth);
	g_ptr_array_unref(conn->children);
	g_free(conn);
}

gboolean
conn_config_add_auth(ConnConfig *conn, gboolean local, ConnAuthMethod method, const char *id,
		     GError **error)
{
	ConnIdentity *ident = conn_identity_parse(id, error);
	ConnAuth *auth;

	if (!ident)
		return FALSE;
	auth = g_new0(ConnAuth, 1);
	auth->method = method;
	auth->id = ident;
	g_ptr_array_add(local ? conn->local_auth : conn->remote_auth, auth);
	return TRUE;
}

void
conn_config_take_child(ConnConfig *conn, ChildConfig *child)
{
	g_ptr_array_add(conn->children, child);
}

ChildConfig *
conn_config_get_child(ConnConfig *conn, const char *name)
{
	for (guint i = 0; i < conn->children->len; i++) {
		ChildConfig *child = g_ptr_array_index(conn->children, i);

		if (!name || g_strcmp0(child->name, name) == 0)
			return child;
	}
	return NULL;
}

const ConnIdentity *
conn_config_get_id(const ConnConfig *conn, gboolean local)
{
	GPtrArray *rounds = local ? conn->local_auth : conn->remote_auth;

	return rounds->len ? ((ConnAuth *)g_ptr_array_index(rounds, 0))->id : NULL;
}
