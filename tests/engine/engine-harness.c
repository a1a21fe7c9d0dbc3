/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine-harness.h"

#include <string.h>
#include <sys/socket.h>

#define MAX_STEPS 100000

static VpndHost *host;
static PluginLoader *loader;

void
harness_init(void)
{
	g_autoptr(GError) error = NULL;
	const char *dir = g_getenv("VPND_PLUGIN_BUILDDIR");

	host = host_new();
	loader = plugin_loader_new(host);
	g_assert_nonnull(dir);
	g_assert_true(plugin_loader_load_one(loader, dir, "crypto-gnutls", &error));
	g_assert_no_error(error);
	g_assert_true(plugin_loader_load_one(loader, dir, "auth-psk", &error));
	g_assert_no_error(error);
}

void
harness_fini(void)
{
	plugin_loader_free(loader);
	host_free(host);
}

VpndHost *
harness_host(void)
{
	return host;
}

static gboolean
peer_random(gpointer data, guint8 *buf, gsize len)
{
	Peer *p = data;

	for (gsize i = 0; i < len; i++)
		buf[i] = (guint8)g_rand_int_range(p->rand, 0, 256);
	return TRUE;
}

static VpndSecret *
peer_psk(gpointer data, const ConnIdentity *local, const ConnIdentity *remote)
{
	Peer *p = data;

	return p->psk ? vpnd_secret_new_from_data(p->psk, strlen(p->psk)) : NULL;
}

static void
peer_init(Peer *p, guint32 seed, const char *addr, const IkeEngineConfig *limits)
{
	IkeEngineConfig cfg = *limits;

	cfg.host = host;
	cfg.random = peer_random;
	cfg.random_data = p;
	cfg.psk_lookup = peer_psk;
	cfg.psk_data = p;

	p->rand = g_rand_new_with_seed(seed);
	p->engine = ike_engine_new(&cfg);
	g_assert_true(conn_addr_parse(addr, 500, &p->addr));
	p->log = g_ptr_array_new_with_free_func((GDestroyNotify)ike_action_free);
	p->timers = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	p->psk = g_strdup("a shared secret of some length");
}

static void
peer_clear(Peer *p)
{
	ike_engine_free(p->engine);
	g_ptr_array_unref(p->log);
	g_hash_table_unref(p->timers);
	g_rand_free(p->rand);
	g_free(p->psk);
}

Net *
net_new(guint32 seed)
{
	return net_new_with_tries(seed, 0);
}

Net *
net_new_with_tries(guint32 seed, guint tries)
{
	IkeEngineConfig cfg = { .retransmit_tries = tries };

	return net_new_with_config(seed, &cfg);
}

Net *
net_new_with_config(guint32 seed, const IkeEngineConfig *limits)
{
	Net *net = g_new0(Net, 1);

	peer_init(&net->a, seed, "192.0.2.1", limits);
	peer_init(&net->b, seed + 1, "192.0.2.2", limits);
	net->wire = g_queue_new();
	net->net_rand = g_rand_new_with_seed(seed + 2);
	net->now = 1000 * G_USEC_PER_SEC;
	net->trace = g_ptr_array_new_with_free_func((GDestroyNotify)packet_free);
	return net;
}

void
packet_free(Packet *p)
{
	g_bytes_unref(p->data);
	g_free(p);
}

void
net_free(Net *net)
{
	g_queue_free_full(net->wire, (GDestroyNotify)packet_free);
	g_ptr_array_unref(net->trace);
	peer_clear(&net->a);
	peer_clear(&net->b);
	g_rand_free(net->net_rand);
	g_free(net);
}

ConnConfig *
net_conn(Peer *self, Peer *peer, const char *ike, const char *esp, const char *local_ts,
	 const char *remote_ts)
{
	g_autoptr(GError) error = NULL;
	ConnConfig *conn = conn_config_new(self == peer ? "self" : "test");
	ChildConfig *child = child_config_new("net");
	GPtrArray *list;

	conn->local_addr = self->addr;
	conn->remote_addr = peer->addr;
	list = proposal_parse_list(PROPOSAL_PROTO_IKE, ike, &error);
	g_assert_no_error(error);
	g_ptr_array_extend_and_steal(conn->ike_proposals, list);
	list = proposal_parse_list(PROPOSAL_PROTO_ESP, esp, &error);
	g_assert_no_error(error);
	g_ptr_array_extend_and_steal(child->esp_proposals, list);
	g_assert_true(conn_config_add_auth(
		conn, TRUE, CONN_AUTH_PSK,
		self->addr.addr[3] == 1 ? "moon.example.org" : "sun.example.org", &error));
	g_assert_true(conn_config_add_auth(conn, FALSE, CONN_AUTH_PSK, "%any", &error));
	if (local_ts)
		g_assert_true(child_config_add_local_ts(child, local_ts, &error));
	if (remote_ts)
		g_assert_true(child_config_add_remote_ts(child, remote_ts, &error));
	g_assert_no_error(error);
	conn_config_take_child(conn, child);
	return conn;
}

static gint64 *
timer_key(guint32 id, IkeTimerKind kind)
{
	gint64 *k = g_new(gint64, 1);

	*k = (gint64)id << 4 | kind;
	return k;
}

static void
enqueue(Net *net, Peer *to, IkeAction *a)
{
	Packet *p = g_new0(Packet, 1);

	p->to = to;
	p->data = g_bytes_ref(a->datagram);
	p->src = a->src;
	p->dst = a->dst;
	Packet *traced = g_new0(Packet, 1);
	*traced = *p;
	traced->data = g_bytes_ref(p->data);
	g_ptr_array_add(net->trace, traced);
	if (net->filter && !net->filter(net->filter_data, p)) {
		packet_free(p);
		return;
	}
	if (net->loss > 0 && g_rand_double(net->net_rand) < net->loss) {
		net->dropped++;
		packet_free(p);
		return;
	}
	if (net->dup > 0 && g_rand_double(net->net_rand) < net->dup) {
		Packet *copy = g_new0(Packet, 1);

		*copy = *p;
		copy->data = g_bytes_ref(p->data);
		g_queue_push_tail(net->wire, copy);
		net->duplicated++;
	}
	if (net->reorder > 0 && g_rand_double(net->net_rand) < net->reorder) {
		g_queue_push_head(net->wire, p);
		net->reordered++;
	} else {
		g_queue_push_tail(net->wire, p);
	}
}

/* Moves the actions of @self into the wire, its timers and its log. */
static void
collect(Net *net, Peer *self, Peer *other)
{
	g_autoptr(GPtrArray) actions = ike_engine_steal_actions(self->engine);

	for (guint i = 0; i < actions->len; i++) {
		IkeAction *a = g_ptr_array_index(actions, i);

		switch (a->kind) {
		case IKE_ACTION_SEND:
			self->sent++;
			enqueue(net, other, a);
			break;
		case IKE_ACTION_TIMER:
			if (a->when < 0)
				g_hash_table_remove(
					self->timers,
					&(gint64){ (gint64)a->ike_sa_id << 4 | a->timer });
			else
				g_hash_table_insert(self->timers, timer_key(a->ike_sa_id, a->timer),
						    g_memdup2(&a->when, sizeof(a->when)));
			break;
		case IKE_ACTION_ADD_SA:
		case IKE_ACTION_DEL_SA:
		case IKE_ACTION_ADD_POLICY:
		case IKE_ACTION_DEL_POLICY:
		case IKE_ACTION_IKE_UPDOWN:
		case IKE_ACTION_CHILD_UPDOWN:
		case IKE_ACTION_IKE_REKEY:
		case IKE_ACTION_CHILD_REKEY:
			g_ptr_array_add(self->log, g_ptr_array_steal_index(actions, i--));
			break;
		}
	}
}

static void
collect_all(Net *net)
{
	collect(net, &net->a, &net->b);
	collect(net, &net->b, &net->a);
}

static gboolean
deliver_one(Net *net)
{
	Packet *p = g_queue_pop_head(net->wire);

	if (!p)
		return FALSE;
	net->delivered++;
	ike_engine_input(p->to->engine, p->data, &p->dst, &p->src, net->now);
	collect_all(net); /* the answer goes on the wire first, as the daemon sends it */
	if (!net->lazy_keys)
		ike_engine_derive_pending(p->to->engine, net->now);
	packet_free(p);
	collect_all(net);
	return TRUE;
}

void
net_flush(Net *net)
{
	collect_all(net);
	for (guint i = 0; i < MAX_STEPS && deliver_one(net); i++)
		;
}

/* The earliest armed timer of either peer; FALSE when none. */
static gboolean
next_timer(Net *net, Peer **who, guint32 *id, IkeTimerKind *kind, gint64 *when)
{
	gboolean found = FALSE;
	Peer *peers[] = { &net->a, &net->b };

	for (int i = 0; i < 2; i++) {
		GHashTableIter it;
		gpointer k, v;

		g_hash_table_iter_init(&it, peers[i]->timers);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			gint64 w = *(gint64 *)v;

			if (!found || w < *when) {
				found = TRUE;
				*when = w;
				*who = peers[i];
				*id = (guint32)(*(gint64 *)k >> 4);
				*kind = (IkeTimerKind)(*(gint64 *)k & 15);
			}
		}
	}
	return found;
}

void
net_advance(Net *net, gint64 t)
{
	Peer *who = NULL;
	guint32 id = 0;
	IkeTimerKind kind = IKE_TIMER_RETRANSMIT;
	gint64 when = 0;

	for (guint i = 0; i < MAX_STEPS; i++) {
		net_flush(net);
		if (!next_timer(net, &who, &id, &kind, &when) || when > t)
			break;
		if (when > net->now)
			net->now = when;
		g_hash_table_remove(who->timers, &(gint64){ (gint64)id << 4 | kind });
		ike_engine_timer(who->engine, id, kind, net->now);
	}
	net_flush(net);
	if (t > net->now)
		net->now = t;
}

void
net_run(Net *net, gint64 until)
{
	net_advance(net, until);
}

guint
peer_count(Peer *p, IkeActionKind kind)
{
	guint n = 0;

	for (guint i = 0; i < p->log->len; i++)
		n += ((IkeAction *)g_ptr_array_index(p->log, i))->kind == kind;
	return n;
}

IkeAction *
peer_find(Peer *p, IkeActionKind kind, guint n)
{
	for (guint i = 0; i < p->log->len; i++) {
		IkeAction *a = g_ptr_array_index(p->log, i);

		if (a->kind == kind && n-- == 0)
			return a;
	}
	return NULL;
}

IkeAction *
peer_find_sa(Peer *p, VpndDirection dir, guint n)
{
	for (guint i = 0; i < p->log->len; i++) {
		IkeAction *a = g_ptr_array_index(p->log, i);

		if (a->kind == IKE_ACTION_ADD_SA && a->sa.dir == dir && n-- == 0)
			return a;
	}
	return NULL;
}

IkeAction *
peer_last(Peer *p, IkeActionKind kind)
{
	for (guint i = p->log->len; i > 0; i--) {
		IkeAction *a = g_ptr_array_index(p->log, i - 1);

		if (a->kind == kind)
			return a;
	}
	return NULL;
}

void
assert_child_pair(IkeAction *out, IkeAction *in)
{
	g_assert_nonnull(out);
	g_assert_nonnull(in);
	g_assert_cmpuint(out->sa.spi, ==, in->sa.spi);
	g_assert_cmpuint(out->sa.encr_id, ==, in->sa.encr_id);
	g_assert_cmpuint(out->sa.encr_key_bits, ==, in->sa.encr_key_bits);
	g_assert_cmpuint(out->sa.integ_id, ==, in->sa.integ_id);
	g_assert_cmpuint(out->sa.esn, ==, in->sa.esn);
	g_assert_cmpuint(out->sa.mode, ==, in->sa.mode);
	g_assert_cmpuint(out->sa.encap, ==, in->sa.encap);
	g_assert_cmpmem(out->sa.encr_key, out->sa.encr_key_len, in->sa.encr_key,
			in->sa.encr_key_len);
	g_assert_cmpmem(out->sa.integ_key, out->sa.integ_key_len, in->sa.integ_key,
			in->sa.integ_key_len);
	g_assert_cmpuint(out->sa.encr_key_len, >, 0);
	/* what one side calls local the other calls remote */
	g_assert_cmpuint(out->sa.n_local_ts, ==, in->sa.n_remote_ts);
	g_assert_cmpuint(out->sa.n_remote_ts, ==, in->sa.n_local_ts);
	g_assert_cmpmem(out->sa.local_ts, out->sa.n_local_ts * sizeof(VpndTs), in->sa.remote_ts,
			in->sa.n_remote_ts * sizeof(VpndTs));
	g_assert_cmpmem(out->sa.remote_ts, out->sa.n_remote_ts * sizeof(VpndTs), in->sa.local_ts,
			in->sa.n_local_ts * sizeof(VpndTs));
}

void
assert_ike_pair(Net *net, guint32 id_a)
{
	IkeSa *a = ike_engine_get_sa(net->a.engine, id_a);
	IkeSa *b = NULL;

	g_assert_nonnull(a);
	g_assert_cmpint(a->state, ==, IKE_SA_STATE_ESTABLISHED);
	g_assert_cmpuint(ike_engine_count_sas(net->b.engine), ==, 1);
	for (guint32 id = 1; id < 64 && !b; id++) {
		b = ike_engine_get_sa(net->b.engine, id);
		if (b && b->spi_i != a->spi_i)
			b = NULL;
	}
	g_assert_nonnull(b);
	g_assert_cmpint(b->state, ==, IKE_SA_STATE_ESTABLISHED);
	g_assert_true(a->initiator);
	g_assert_false(b->initiator);
	g_assert_cmpuint(a->spi_i, ==, b->spi_i);
	g_assert_cmpuint(a->spi_r, ==, b->spi_r);
	g_assert_cmpmem(&a->alg, sizeof(a->alg), &b->alg, sizeof(b->alg));
	g_assert_cmpuint(a->children->len, ==, b->children->len);
}
