/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who belongs to whom: the connection for a peer (by addresses, then by the identities
 * of IKE_AUTH), half-open responder SAs per peer address, the IKE SAs INITIAL_CONTACT
 * retires, and the SA that takes over from a rekeyed one.
 */
#include <string.h>

#include "ike_engine_private.h"

/* The same address, whatever the port (a NAT may have moved it). */
gboolean
ike_same_host(const VpndAddr *a, const VpndAddr *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static gboolean
conn_fits_addrs(const ConnConfig *c, const VpndAddr *local, const VpndAddr *remote)
{
	return (!c->local_addr.family || ike_same_host(&c->local_addr, local)) &&
	       (!c->remote_addr.family || ike_same_host(&c->remote_addr, remote));
}

ConnConfig *
ike_engine_find_conn(IkeEngine *e, const VpndAddr *local, const VpndAddr *remote)
{
	for (guint i = 0; i < e->conns->len; i++) {
		ConnConfig *c = g_ptr_array_index(e->conns, i);

		if (conn_fits_addrs(c, local, remote))
			return c;
	}
	return NULL;
}

ConnConfig *
ike_engine_select_conn(IkeEngine *e, IkeSa *sa, IkeConnFilter fits, gpointer data)
{
	/* the one IKE_SA_INIT found first keeps priority, then the others in load order */
	if (fits(sa->conn, data))
		return sa->conn;
	for (guint i = 0; i < e->conns->len; i++) {
		ConnConfig *c = g_ptr_array_index(e->conns, i);

		if (c != sa->conn && conn_fits_addrs(c, &sa->local, &sa->remote) && fits(c, data))
			return c;
	}
	return NULL;
}

static GBytes *
host_key(const VpndAddr *addr)
{
	guint8 key[1 + sizeof(addr->addr)];

	key[0] = (guint8)addr->family;
	memcpy(key + 1, addr->addr, sizeof(addr->addr));
	return g_bytes_new(key, sizeof(key));
}

guint
ike_engine_half_open_from(IkeEngine *e, const VpndAddr *host)
{
	g_autoptr(GBytes) key = host_key(host);

	return GPOINTER_TO_UINT(g_hash_table_lookup(e->half_open_by_host, key));
}

void
ike_engine_half_open(IkeSa *sa, gboolean opening)
{
	IkeEngine *e = sa->engine;
	GBytes *key;
	guint n;

	if (opening == sa->half_open)
		return;
	sa->half_open = opening;
	if (opening)
		sa->half_open_host = sa->remote;
	key = host_key(&sa->half_open_host);
	n = GPOINTER_TO_UINT(g_hash_table_lookup(e->half_open_by_host, key));
	n = opening ? n + 1 : n - 1;
	e->n_half_open = opening ? e->n_half_open + 1 : e->n_half_open - 1;
	if (n) {
		g_hash_table_replace(e->half_open_by_host, key, GUINT_TO_POINTER(n));
		return;
	}
	g_hash_table_remove(e->half_open_by_host, key);
	g_bytes_unref(key);
}

static gboolean
same_identity(const ConnIdentity *a, const ConnIdentity *b)
{
	return a && b && a->type == b->type && a->data && b->data && g_bytes_equal(a->data, b->data);
}

/* @s is between our identity of @sa and @sa's peer host: a tunnel of the same pair. */
static gboolean
same_pair(IkeSa *s, IkeSa *sa)
{
	const ConnIdentity *mine = conn_config_get_id(s->conn, TRUE);
	const ConnIdentity *me = conn_config_get_id(sa->conn, TRUE);

	return ike_same_host(&s->remote, &sa->remote) && (mine == me || same_identity(mine, me));
}

/* RFC 7296 §2.4: INITIAL_CONTACT says no other IKE SA exists between the two
 * identities; another identity of ours to the same peer host is another tunnel. */
gboolean
ike_engine_has_sibling(IkeEngine *e, IkeSa *sa)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, e->sas);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		IkeSa *s = value;

		if (s != sa && s->state == IKE_SA_STATE_ESTABLISHED &&
		    (s->conn == sa->conn || same_pair(s, sa)))
			return TRUE;
	}
	return FALSE;
}

/* The index key of a peer identity: type || data; NULL for one without data, which
 * same_identity() never matches. (transfer full) */
static GBytes *
peer_key(const ConnIdentity *id)
{
	gsize len;
	const guint8 *data;
	guint8 *buf;

	if (!id || !id->data)
		return NULL;
	data = g_bytes_get_data(id->data, &len);
	buf = g_malloc(len + 1);
	buf[0] = id->type;
	if (len)
		memcpy(buf + 1, data, len);
	return g_bytes_new_take(buf, len + 1);
}

void
ike_engine_unindex_peer(IkeEngine *e, IkeSa *sa)
{
	g_autoptr(GBytes) key = peer_key(sa->peer_id);
	GPtrArray *sas = key ? g_hash_table_lookup(e->by_peer_id, key) : NULL;

	if (!sas)
		return;
	g_ptr_array_remove_fast(sas, sa);
	if (sas->len == 0)
		g_hash_table_remove(e->by_peer_id, key);
}

void
ike_engine_set_peer_id(IkeSa *sa, ConnIdentity *peer)
{
	IkeEngine *e = sa->engine;
	GBytes *key;
	GPtrArray *sas;

	ike_engine_unindex_peer(e, sa);
	conn_identity_free(sa->peer_id);
	sa->peer_id = peer;
	if (!(key = peer_key(peer)))
		return;
	sas = g_hash_table_lookup(e->by_peer_id, key);
	if (!sas) {
		sas = g_ptr_array_new();
		g_hash_table_insert(e->by_peer_id, g_bytes_ref(key), sas);
	}
	g_ptr_array_add(sas, sa);
	g_bytes_unref(key);
}

static void
initial_contact_from(IkeEngine *e, IkeSa *sa)
{
	g_autoptr(GBytes) key = peer_key(sa->peer_id);
	GPtrArray *same_id = key ? g_hash_table_lookup(e->by_peer_id, key) : NULL;
	g_autoptr(GPtrArray) stale = g_ptr_array_new();

	for (guint i = 0; same_id && i < same_id->len; i++) {
		IkeSa *s = g_ptr_array_index(same_id, i);

		/* same identities from the same host: the peer restarted; an SA from another
		 * address of it (another outer family) is a different tunnel */
		if (s != sa && s->state != IKE_SA_STATE_DESTROYING && same_pair(s, sa))
			g_ptr_array_add(stale, s);
	}
	for (guint i = 0; i < stale->len; i++) {
		IkeSa *s = g_ptr_array_index(stale, i);

		ike_sa_log(s, G_LOG_LEVEL_INFO, "INITIAL_CONTACT from '%s' on IKE SA %u: removing",
			   sa->peer_id->text, sa->id);
		/* the peer has forgotten it: no Delete, it would go unanswered */
		ike_engine_destroy_sa(s, IKE_REASON_REPLACED, 0);
	}
}

/* unique = replace: the older IKE SAs between our identity of @sa and its peer's, from
 * any address (a peer that moved comes back from another), are deleted. */
static void
replace_older(IkeEngine *e, IkeSa *sa)
{
	g_autoptr(GBytes) key = peer_key(sa->peer_id);
	GPtrArray *same_id = key ? g_hash_table_lookup(e->by_peer_id, key) : NULL;
	const ConnIdentity *me = conn_config_get_id(sa->conn, TRUE);
	g_autoptr(GPtrArray) older = g_ptr_array_new();

	for (guint i = 0; same_id && i < same_id->len; i++) {
		IkeSa *s = g_ptr_array_index(same_id, i);
		const ConnIdentity *mine = conn_config_get_id(s->conn, TRUE);

		if (s != sa && s->state == IKE_SA_STATE_ESTABLISHED &&
		    (mine == me || same_identity(mine, me)))
			g_ptr_array_add(older, s);
	}
	for (guint i = 0; i < older->len; i++) {
		IkeSa *s = g_ptr_array_index(older, i);

		ike_sa_log(s, G_LOG_LEVEL_INFO, "unique = replace: IKE SA %u of '%s' replaces %u",
			   sa->id, sa->peer_id->text, s->id);
		ike_engine_queue_delete(s);
	}
}

void
ike_engine_authenticated(IkeEngine *e, IkeSa *sa, gboolean initial_contact)
{
	if (initial_contact && sa->conn->unique != CONN_UNIQUE_NEVER)
		initial_contact_from(e, sa);
	if (sa->conn->unique == CONN_UNIQUE_REPLACE)
		replace_older(e, sa);
}

IkeSa *
ike_engine_find_successor(IkeEngine *e, IkeSa *sa)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, e->sas);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		IkeSa *s = value;

		if (s->rekeyed_from == sa->id && s->undecided &&
		    s->state == IKE_SA_STATE_ESTABLISHED)
			return s;
	}
	return NULL;
}
