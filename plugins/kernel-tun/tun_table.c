/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "tun_table.h"

struct TunTable {
	GPtrArray *sas;         /* TunSa, installation order */
	GHashTable *in_by_spi;  /* SPI -> TunSa (inbound only; borrowed from @sas) */
	GHashTable *by_spi;     /* SPI -> GSList of TunSa, either direction (borrowed) */
	GHashTable *reserved;   /* SPI -> gint64 * time of get_spi */
	GPtrArray *policies;    /* TunPolicy, sorted by rank then order */
	GHashTable *policy_set; /* TunPolicy -> itself, by policy_same(): finds duplicates */
	guint64 next_order;
	guint n_acquired; /* policies with acquired set: only then does an OUT SA look */
	guint64 drops[TUN_N_DROPS];
};

static guint policy_hash(gconstpointer key);
static gboolean policy_equal(gconstpointer a, gconstpointer b);

const char *
tun_drop_to_string(TunDrop drop)
{
	switch (drop) {
	case TUN_DROP_UNKNOWN_SPI:
		return "unknown-spi";
	case TUN_DROP_SHORT:
		return "short";
	case TUN_DROP_SELECTOR:
		return "selector";
	case TUN_DROP_NOT_IP:
		return "not-ip";
	case TUN_DROP_NO_POLICY:
		return "no-policy";
	case TUN_DROP_NO_SA:
		return "no-sa";
	case TUN_DROP_POLICY:
		return "policy";
	case TUN_DROP_IO:
		return "io";
	case TUN_N_DROPS:
		break;
	}
	return "unknown";
}

TunTable *
tun_table_new(void)
{
	TunTable *table = g_new0(TunTable, 1);

	table->sas = g_ptr_array_new_with_free_func((GDestroyNotify)tun_sa_free);
	table->in_by_spi = g_hash_table_new(NULL, NULL);
	table->by_spi = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_slist_free);
	table->reserved = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	table->policies = g_ptr_array_new_with_free_func(g_free);
	table->policy_set = g_hash_table_new(policy_hash, policy_equal);
	return table;
}

void
tun_table_free(TunTable *table)
{
	if (!table)
		return;
	g_hash_table_unref(table->in_by_spi);
	g_hash_table_unref(table->by_spi);
	g_hash_table_unref(table->reserved);
	g_hash_table_unref(table->policy_set);
	g_ptr_array_unref(table->sas);
	g_ptr_array_unref(table->policies);
	g_free(table);
}

TunSa *
tun_sa_new(const VpndSaParams *params, gint64 now)
{
	TunSa *sa = g_new0(TunSa, 1);

	sa->id = (VpndSaId){ .spi = params->spi, .protocol = params->protocol, .dst = params->dst };
	sa->dir = params->dir;
	sa->reqid = params->reqid;
	sa->src = params->src;
	sa->dst = params->dst;
	sa->encap = params->encap;
	sa->n_local_ts = (guint)params->n_local_ts;
	sa->n_remote_ts = (guint)params->n_remote_ts;
	if (sa->n_local_ts + sa->n_remote_ts) {
		sa->local_ts = g_new(VpndTs, sa->n_local_ts + sa->n_remote_ts);
		sa->remote_ts = sa->local_ts + sa->n_local_ts;
		if (sa->n_local_ts)
			memcpy(sa->local_ts, params->local_ts, sa->n_local_ts * sizeof(VpndTs));
		if (sa->n_remote_ts)
			memcpy(sa->remote_ts, params->remote_ts, sa->n_remote_ts * sizeof(VpndTs));
	}
	sa->soft = params->soft;
	sa->hard = params->hard;
	sa->installed = now;
	return sa;
}

void
tun_sa_free(TunSa *sa)
{
	if (!sa)
		return;
	esp_sa_free(sa->esp);
	g_free(sa->local_ts);
	g_free(sa);
}

gboolean
tun_addr_equal(const VpndAddr *a, const VpndAddr *b, gboolean with_port)
{
	return a->family == b->family && memcmp(a->addr, b->addr, tun_addr_len(a->family)) == 0 &&
	       (!with_port || a->port == b->port);
}

char *
tun_addr_to_string(const VpndAddr *addr)
{
	char text[INET6_ADDRSTRLEN] = "none";

	if (addr->family == AF_INET || addr->family == AF_INET6)
		inet_ntop(addr->family, addr->addr, text, sizeof(text));
	if (!addr->port)
		return g_strdup(text);
	return g_strdup_printf("%s[%u]", text, addr->port);
}

static gboolean
sa_has_id(const TunSa *sa, const VpndSaId *id)
{
	return sa->id.spi == id->spi && sa->id.protocol == id->protocol &&
	       (id->dst.family == 0 || tun_addr_equal(&sa->id.dst, &id->dst, FALSE));
}

TunSa *
tun_table_find_sa(TunTable *table, const VpndSaId *id)
{
	for (GSList *l = g_hash_table_lookup(table->by_spi, GUINT_TO_POINTER(id->spi)); l;
	     l = l->next) {
		if (sa_has_id(l->data, id))
			return l->data;
	}
	return NULL;
}

static void
index_sa(TunTable *table, TunSa *sa)
{
	gpointer key = GUINT_TO_POINTER(sa->id.spi);
	GSList *list = g_hash_table_lookup(table->by_spi, key);

	g_hash_table_steal(table->by_spi, key);
	g_hash_table_insert(table->by_spi, key, g_slist_append(list, sa));
}

static void
unindex_sa(TunTable *table, TunSa *sa)
{
	gpointer key = GUINT_TO_POINTER(sa->id.spi);
	GSList *list = g_hash_table_lookup(table->by_spi, key);

	g_hash_table_steal(table->by_spi, key);
	list = g_slist_remove(list, sa);
	if (list)
		g_hash_table_insert(table->by_spi, key, list);
}

gboolean
tun_table_add_sa(TunTable *table, TunSa *sa)
{
	if (tun_table_find_sa(table, &sa->id))
		return FALSE;
	if (sa->dir == VPND_DIR_IN) {
		if (g_hash_table_contains(table->in_by_spi, GUINT_TO_POINTER(sa->id.spi)))
			return FALSE;
		g_hash_table_insert(table->in_by_spi, GUINT_TO_POINTER(sa->id.spi), sa);
		g_hash_table_remove(table->reserved, GUINT_TO_POINTER(sa->id.spi));
	} else if (table->n_acquired) {
		/* a new SA for these policies: a later miss may acquire again (a walk over
		 * all policies, so only while some ACQUIRE is outstanding) */
		for (guint i = 0; i < table->policies->len; i++) {
			TunPolicy *p = table->policies->pdata[i];
			if (p->acquired && p->params.reqid == sa->reqid) {
				p->acquired = FALSE;
				table->n_acquired--;
			}
		}
	}
	sa->order = ++table->next_order;
	g_ptr_array_add(table->sas, sa);
	index_sa(table, sa);
	return TRUE;
}

TunSa *
tun_table_lookup_in(TunTable *table, guint32 spi)
{
	return g_hash_table_lookup(table->in_by_spi, GUINT_TO_POINTER(spi));
}

TunSa *
tun_table_steal_sa(TunTable *table, TunSa *sa)
{
	guint index;

	if (!g_ptr_array_find(table->sas, sa, &index))
		return NULL;
	if (sa->dir == VPND_DIR_IN)
		g_hash_table_remove(table->in_by_spi, GUINT_TO_POINTER(sa->id.spi));
	unindex_sa(table, sa);
	return g_ptr_array_steal_index(table->sas, index);
}

GPtrArray *
tun_table_get_sas(TunTable *table)
{
	return table->sas;
}

gboolean
tun_table_spi_taken(TunTable *table, guint32 spi)
{
	return g_hash_table_contains(table->in_by_spi, GUINT_TO_POINTER(spi)) ||
	       g_hash_table_contains(table->reserved, GUINT_TO_POINTER(spi));
}

void
tun_table_reserve_spi(TunTable *table, guint32 spi, gint64 now)
{
	g_hash_table_insert(table->reserved, GUINT_TO_POINTER(spi), g_memdup2(&now, sizeof(now)));
}

void
tun_table_expire_reservations(TunTable *table, gint64 now, gint64 max_age)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, table->reserved);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (now - *(gint64 *)value > max_age)
			g_hash_table_iter_remove(&iter);
	}
}

/* Same traffic, same place: the key under which a policy is added and deleted. */
static gboolean
policy_same(const VpndPolicyParams *a, const VpndPolicyParams *b)
{
	return a->dir == b->dir && memcmp(&a->src_ts, &b->src_ts, sizeof(VpndTs)) == 0 &&
	       memcmp(&a->dst_ts, &b->dst_ts, sizeof(VpndTs)) == 0 && a->mark == b->mark &&
	       a->mark_mask == b->mark_mask && a->if_id == b->if_id;
}

/* An explicit priority as given (lower first); else narrower selectors first. */
static guint
policy_rank(const VpndPolicyParams *params)
{
	if (params->priority)
		return params->priority;
	/* at most 4 * 128 + 3 per selector: stay clear of small explicit priorities */
	return 0x10000 - tun_ts_specificity(&params->src_ts) - tun_ts_specificity(&params->dst_ts);
}

static guint
policy_hash(gconstpointer key)
{
	const VpndPolicyParams *p = &((const TunPolicy *)key)->params;
	guint h = p->dir ^ (p->if_id << 8) ^ p->mark;

	for (gsize i = 0; i < sizeof(p->src_ts.from); i++)
		h = h * 31 + (p->src_ts.from[i] ^ (guint)p->dst_ts.from[i] << 4);
	return h ^ p->src_ts.to_port ^ (guint)p->dst_ts.to_port << 16;
}

static gboolean
policy_equal(gconstpointer a, gconstpointer b)
{
	return policy_same(&((const TunPolicy *)a)->params, &((const TunPolicy *)b)->params);
}

/* Where a policy of @rank and @order goes (or is): the first one after it. */
static guint
policy_position(TunTable *table, guint rank, guint64 order)
{
	guint lo = 0, hi = table->policies->len;

	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		const TunPolicy *p = table->policies->pdata[mid];

		if (p->rank < rank || (p->rank == rank && p->order < order))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

gboolean
tun_table_add_policy(TunTable *table, const VpndPolicyParams *params)
{
	TunPolicy key = { .params = *params };

	if (g_hash_table_contains(table->policy_set, &key))
		return FALSE;
	TunPolicy *p = g_new0(TunPolicy, 1);
	p->params = *params;
	p->rank = policy_rank(params);
	p->order = ++table->next_order;
	/* the newest of its rank: after every policy ranked the same or better */
	g_ptr_array_insert(table->policies, (gint)policy_position(table, p->rank, p->order), p);
	g_hash_table_add(table->policy_set, p);
	return TRUE;
}

gboolean
tun_table_del_policy(TunTable *table, const VpndPolicyParams *params)
{
	TunPolicy key = { .params = *params };
	TunPolicy *p = g_hash_table_lookup(table->policy_set, &key);

	if (!p)
		return FALSE;
	if (p->acquired)
		table->n_acquired--;
	g_hash_table_remove(table->policy_set, p);
	g_ptr_array_remove_index(table->policies, policy_position(table, p->rank, p->order));
	return TRUE;
}

void
tun_table_set_acquired(TunTable *table, TunPolicy *policy)
{
	if (!policy->acquired)
		table->n_acquired++;
	policy->acquired = TRUE;
}

guint
tun_table_n_policies(TunTable *table)
{
	return table->policies->len;
}

/* The newest outbound SA of @reqid still allowed to carry traffic. */
static TunSa *
newest_out_sa(TunTable *table, guint32 reqid)
{
	for (guint i = table->sas->len; i-- > 0;) {
		TunSa *sa = table->sas->pdata[i];
		if (sa->dir == VPND_DIR_OUT && sa->reqid == reqid && !sa->hard_expired)
			return sa;
	}
	return NULL;
}

TunRoute
tun_table_route_out(TunTable *table, const TunFlow *flow, TunPolicy **policy, TunSa **sa)
{
	*policy = NULL;
	*sa = NULL;
	for (guint i = 0; i < table->policies->len; i++) {
		TunPolicy *p = table->policies->pdata[i];
		if (p->params.dir != VPND_DIR_OUT ||
		    !tun_ts_match_flow(&p->params.src_ts, &p->params.dst_ts, flow))
			continue;
		*policy = p;
		switch (p->params.action) {
		case VPND_POLICY_PROTECT:
		case VPND_POLICY_TRAP:
			*sa = newest_out_sa(table, p->params.reqid);
			return *sa ? TUN_ROUTE_PROTECT : TUN_ROUTE_NO_SA;
		case VPND_POLICY_BYPASS:
		case VPND_POLICY_DROP:
			return TUN_ROUTE_REFUSE;
		}
		return TUN_ROUTE_REFUSE;
	}
	return TUN_ROUTE_NO_POLICY;
}

gboolean
tun_table_inbound_allowed(TunTable *table, const TunSa *sa, const TunFlow *flow)
{
	if (sa->n_local_ts && sa->n_remote_ts)
		return tun_ts_lists_match_inbound(sa->local_ts, sa->n_local_ts, sa->remote_ts,
						  sa->n_remote_ts, flow);
	for (guint i = 0; i < table->policies->len; i++) {
		const TunPolicy *p = table->policies->pdata[i];
		if (p->params.dir == VPND_DIR_IN && p->params.reqid == sa->reqid &&
		    (p->params.action == VPND_POLICY_PROTECT ||
		     p->params.action == VPND_POLICY_TRAP) &&
		    tun_ts_match_flow(&p->params.src_ts, &p->params.dst_ts, flow))
			return TRUE;
	}
	return FALSE;
}

static gboolean
limit_reached(const VpndLifetime *limit, guint64 bytes, guint64 packets, gint64 age_s)
{
	return (limit->bytes && bytes >= limit->bytes) ||
	       (limit->packets && packets >= limit->packets) ||
	       (limit->seconds && age_s >= 0 && (guint64)age_s >= limit->seconds);
}

VpndExpireKind
tun_sa_lifetime_check(const TunSa *sa, guint64 bytes, guint64 packets, gint64 now)
{
	gint64 age_s = (now - sa->installed) / G_USEC_PER_SEC;

	if (limit_reached(&sa->hard, bytes, packets, age_s))
		return VPND_EXPIRE_HARD;
	if (!sa->soft_expired && limit_reached(&sa->soft, bytes, packets, age_s))
		return VPND_EXPIRE_SOFT;
	return 0;
}

void
tun_table_count_drop(TunTable *table, TunDrop drop)
{
	table->drops[drop]++;
}

guint64
tun_table_get_drops(TunTable *table, TunDrop drop)
{
	return table->drops[drop];
}
