/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vpnd/crypto.h>
#include <vpnd/plugin.h>

#include "tun_kernel.h"
#include "tun_netlink.h"
#include "tun_offload.h"
#include "tun_table.h"

/* Room around a packet read from the TUN: ESP header and IV before, trailer and ICV after;
 * the virtio_net_hdr read in front of a packet fits in the room before. */
#define TUN_HEADROOM (ESP_HEADER_LEN + ESP_MAX_IV_LEN)
#define TUN_TAILROOM (16 - 1 + ESP_TRAILER_LEN + VPND_ICV_MAX_LEN)
#define TUN_MAX_PACKET TUN_OFFLOAD_MAX
#define TUN_BUF_SIZE (TUN_HEADROOM + TUN_MAX_PACKET + TUN_TAILROOM)
G_STATIC_ASSERT(TUN_HEADROOM >= TUN_VNET_HDR_LEN);
/* The large segments the kernel may hand us (TUNSETOFFLOAD). */
#define TUN_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)

typedef struct {
	TunPrefix prefix; /* first: the routes table hashes a TunRouteRef as its prefix */
	guint refs;
} TunRouteRef;

/* ESP datagrams from one TUN wakeup to one peer, sent in one go (send_esp_batch) */
typedef struct {
	VpndAddr src, dst;
	gsize len, seg_len; /* every datagram is seg_len bytes but the last */
	guint n;
	gboolean closed; /* the last one was shorter: nothing may follow it */
	guint8 data[VPND_ESP_BATCH_BYTES];
} TunBatch;

struct VpndKernel {
	VpndHost *host;
	VpndKernelEvents events;
	gpointer user_data;
	TunTable *table;
	TunNetlink *nl;
	int fd;
	guint ifindex;
	char name[IFNAMSIZ];
	guint mtu;
	int encap_fd[2]; /* enable_udp_encap(): IPv4, IPv6; -1 when none */
	guint io_source;
	guint timer_source;
	guint check_source; /* idle: a byte or packet limit was reached */
	GHashTable *routes; /* TunRouteRef, by its prefix */
	guint8 *buf;     /* TUN_BUF_SIZE: what the TUN gave, sealed in place */
	guint8 *seg_buf; /* TUN_BUF_SIZE: one packet cut from a large segment */
	TunBatch *batch;
	TunGro *gro;
};

/* ---- Settings and device ---------------------------------------------------------- */

static guint
setting_mtu(VpndHost *host)
{
	const char *text = vpnd_host_get_setting(host, "plugins.kernel-tun.mtu");
	guint64 mtu = TUN_DEFAULT_MTU;

	if (text && !g_ascii_string_to_unsigned(text, 10, TUN_MIN_MTU, TUN_MAX_MTU, &mtu, NULL)) {
		g_warning("plugins.kernel-tun.mtu = %s is not a number from %u to %u; using %u",
			  text, TUN_MIN_MTU, TUN_MAX_MTU, TUN_DEFAULT_MTU);
		mtu = TUN_DEFAULT_MTU;
	}
	return (guint)mtu;
}

static gboolean
tun_create(VpndKernel *k, const char *name, GError **error)
{
	struct ifreq ifr = { 0 };

	if (strlen(name) >= IFNAMSIZ) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
			    "TUN name \"%s\" is longer than %d bytes", name, IFNAMSIZ - 1);
		return FALSE;
	}
	k->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
			    "opening /dev/net/tun: %s", g_strerror(errno));
		return FALSE;
	}
	/* every packet either way has a virtio_net_hdr in front: offloads, see tun_offload.h */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	if (ioctl(k->fd, TUNSETIFF, &ifr) < 0) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
			    "creating TUN device \"%s\": %s", name, g_strerror(errno));
		return FALSE;
	}
	int hdr_len = TUN_VNET_HDR_LEN;
	if (ioctl(k->fd, TUNSETVNETHDRSZ, &hdr_len) < 0 ||
	    ioctl(k->fd, TUNSETOFFLOAD, (unsigned long)TUN_OFFLOADS) < 0)
		vpnd_info("TUN offloads refused (%s): one packet per read", g_strerror(errno));
	g_strlcpy(k->name, ifr.ifr_name, sizeof(k->name));
	k->ifindex = if_nametoindex(k->name);
	if (!k->ifindex) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
			    "TUN device \"%s\" has no index: %s", k->name, g_strerror(errno));
		return FALSE;
	}
	return tun_netlink_link_up(k->nl, k->ifindex, k->mtu, TUN_TXQUEUELEN, error);
}

/* ---- Routes: one per prefix of each outbound SA's remote selectors, counted --------- */

/* Routes by prefix, the TunRouteRef its own key (it starts with its prefix). */
static guint
prefix_hash(gconstpointer data)
{
	const TunPrefix *p = data;
	guint h = (guint)p->family << 8 | p->len;

	for (gsize i = 0; i < tun_addr_len(p->family); i++)
		h = h * 31 + p->addr[i];
	return h;
}

static gboolean
prefix_equal(gconstpointer a, gconstpointer b)
{
	const TunPrefix *x = a, *y = b;

	return x->family == y->family && x->len == y->len &&
	       memcmp(x->addr, y->addr, tun_addr_len(x->family)) == 0;
}

static void
route_unref(VpndKernel *k, const TunPrefix *p)
{
	TunRouteRef *ref = g_hash_table_lookup(k->routes, p);
	g_autoptr(GError) error = NULL;

	if (!ref || --ref->refs > 0)
		return;
	if (!tun_netlink_route(k->nl, FALSE, k->ifindex, p, &error))
		vpnd_info("%s", error->message);
	g_hash_table_remove(k->routes, ref);
}

static gboolean
route_ref(VpndKernel *k, const TunPrefix *p, GError **error)
{
	TunRouteRef *ref = g_hash_table_lookup(k->routes, p);

	if (ref) {
		ref->refs++;
		return TRUE;
	}
	if (!tun_netlink_route(k->nl, TRUE, k->ifindex, p, error))
		return FALSE;
	ref = g_new0(TunRouteRef, 1);
	ref->prefix = *p;
	ref->refs = 1;
	g_hash_table_add(k->routes, ref);
	return TRUE;
}

/* A prefix that holds the peer's own address would send our ESP into the tunnel. */
static gboolean
prefix_has_addr(const TunPrefix *p, const VpndAddr *addr)
{
	if (p->family != addr->family)
		return FALSE;
	for (guint i = 0; i < p->len; i++) {
		guint8 mask = (guint8)(0x80 >> (i % 8));
		if ((p->addr[i / 8] & mask) != (addr->addr[i / 8] & mask))
			return FALSE;
	}
	return TRUE;
}

/* The prefixes routed into the TUN for selector @ts, appended to @out: none that holds
 * the peer's own address (@peer), which would send our ESP into the tunnel. @owner
 * names what asks, for the warnings. */
static void
append_ts_prefixes(const VpndTs *ts, const VpndAddr *peer, const char *owner, GArray *out)
{
	TunPrefix prefixes[TUN_TS_MAX_PREFIXES];
	guint n = tun_ts_to_prefixes(ts, prefixes, G_N_ELEMENTS(prefixes));

	if (n == 0) {
		g_autofree char *text = tun_ts_to_string(ts);
		g_warning("%s: remote selector %s needs more than %u routes; none added", owner,
			  text, TUN_TS_MAX_PREFIXES);
	}
	for (guint j = 0; j < n; j++) {
		if (prefix_has_addr(&prefixes[j], peer)) {
			g_autofree char *text = tun_ts_to_string(ts);
			g_warning("%s: remote selector %s holds the peer's address; "
				  "not routed into the tunnel",
				  owner, text);
			continue;
		}
		g_array_append_val(out, prefixes[j]);
	}
}

/* The prefixes routed for @sa (outbound only), appended to @out. */
static void
sa_prefixes(const TunSa *sa, GArray *out)
{
	char owner[16];

	if (sa->dir != VPND_DIR_OUT)
		return;
	g_snprintf(owner, sizeof(owner), "SA %08x", sa->id.spi);
	for (guint i = 0; i < sa->n_remote_ts; i++)
		append_ts_prefixes(&sa->remote_ts[i], &sa->dst, owner, out);
}

/* An outbound trap policy catches traffic only if that traffic comes to the TUN. */
static void
trap_prefixes(const VpndPolicyParams *p, GArray *out)
{
	if (p->dir == VPND_DIR_OUT && p->action == VPND_POLICY_TRAP)
		append_ts_prefixes(&p->dst_ts, &p->dst, "trap policy", out);
}

static gboolean
routes_add(VpndKernel *k, GArray *prefixes, GError **error)
{
	for (guint i = 0; i < prefixes->len; i++) {
		if (!route_ref(k, &g_array_index(prefixes, TunPrefix, i), error)) {
			while (i-- > 0)
				route_unref(k, &g_array_index(prefixes, TunPrefix, i));
			return FALSE;
		}
	}
	return TRUE;
}

static void
routes_remove(VpndKernel *k, GArray *prefixes)
{
	for (guint i = 0; i < prefixes->len; i++)
		route_unref(k, &g_array_index(prefixes, TunPrefix, i));
}

static gboolean
sa_routes_add(VpndKernel *k, const TunSa *sa, GError **error)
{
	g_autoptr(GArray) prefixes = g_array_new(FALSE, FALSE, sizeof(TunPrefix));

	sa_prefixes(sa, prefixes);
	return routes_add(k, prefixes, error);
}

static void
sa_routes_remove(VpndKernel *k, const TunSa *sa)
{
	g_autoptr(GArray) prefixes = g_array_new(FALSE, FALSE, sizeof(TunPrefix));

	sa_prefixes(sa, prefixes);
	routes_remove(k, prefixes);
}

/* Writes out what the coalescer holds. */
static void
tun_esp_input_flush(VpndKernel *k)
{
	gsize len;
	const guint8 *held = tun_gro_take(k->gro, &len);

	if (held && write(k->fd, held, len) < 0)
		tun_table_count_drop(k->table, TUN_DROP_IO);
}

/* ---- Lifetimes ----------------------------------------------------------------------- */

static void
sa_remove(VpndKernel *k, TunSa *sa)
{
	sa_routes_remove(k, sa);
	tun_sa_free(tun_table_steal_sa(k->table, sa));
}

static void
sa_counts(const TunSa *sa, guint64 *bytes, guint64 *packets)
{
	const EspCounters *c = sa->esp ? esp_sa_get_counters(sa->esp) : NULL;

	*bytes = c ? c->bytes : 0;
	*packets = c ? c->packets : 0;
}

/*
 * Sends due expire events; a hard expiry removes the SA, as the kernel's XFRM does.
 * Decisions first, events after the table walk, each SA looked up again by its id:
 * the daemon may add and delete SAs from inside an event.
 */
static void
check_lifetimes(VpndKernel *k)
{
	g_autoptr(GArray) soft = g_array_new(FALSE, FALSE, sizeof(VpndSaId));
	g_autoptr(GArray) hard = g_array_new(FALSE, FALSE, sizeof(VpndSaId));
	GPtrArray *sas = tun_table_get_sas(k->table);
	gint64 now = g_get_monotonic_time();

	for (guint i = 0; i < sas->len; i++) {
		TunSa *sa = sas->pdata[i];
		guint64 bytes, packets;
		sa_counts(sa, &bytes, &packets);
		VpndExpireKind kind = sa->hard_expired
					      ? VPND_EXPIRE_HARD
					      : tun_sa_lifetime_check(sa, bytes, packets, now);
		if (kind == VPND_EXPIRE_SOFT) {
			sa->soft_expired = TRUE;
			g_array_append_val(soft, sa->id);
		} else if (kind == VPND_EXPIRE_HARD) {
			sa->hard_expired = TRUE;
			g_array_append_val(hard, sa->id);
		}
	}
	for (guint i = 0; i < hard->len; i++) {
		const VpndSaId *id = &g_array_index(hard, VpndSaId, i);
		TunSa *sa = tun_table_find_sa(k->table, id);
		if (!sa)
			continue;
		g_message("SA %08x hard lifetime reached; removed", id->spi);
		sa_remove(k, sa);
		if (k->events.expire)
			k->events.expire(k->user_data, id, VPND_EXPIRE_HARD);
	}
	for (guint i = 0; i < soft->len; i++) {
		const VpndSaId *id = &g_array_index(soft, VpndSaId, i);
		if (!tun_table_find_sa(k->table, id))
			continue;
		g_message("SA %08x soft lifetime reached", id->spi);
		if (k->events.expire)
			k->events.expire(k->user_data, id, VPND_EXPIRE_SOFT);
	}
}

static gboolean
on_check_idle(gpointer data)
{
	VpndKernel *k = data;

	k->check_source = 0;
	check_lifetimes(k);
	return G_SOURCE_REMOVE;
}

static gboolean
on_timer(gpointer data)
{
	VpndKernel *k = data;

	check_lifetimes(k);
	tun_table_expire_reservations(k->table, g_get_monotonic_time(), TUN_SPI_RESERVATION_USEC);
	/* a daemon that never calls esp_input_flush still gets every packet out */
	tun_esp_input_flush(k);
	return G_SOURCE_CONTINUE;
}

/* After a packet: a byte or packet limit reached is handled outside the packet path. */
static void
after_packet(VpndKernel *k, TunSa *sa, gint64 now)
{
	guint64 bytes, packets;

	sa_counts(sa, &bytes, &packets);
	VpndExpireKind kind = tun_sa_lifetime_check(sa, bytes, packets, now);
	if (kind == VPND_EXPIRE_HARD)
		sa->hard_expired = TRUE; /* not one more packet */
	if ((kind || sa->hard_expired) && !k->check_source)
		k->check_source = g_idle_add(on_check_idle, k);
}

/* ---- Outbound: TUN -> ESP ------------------------------------------------------------ */

static void
send_esp(VpndKernel *k, const VpndAddr *src, const VpndAddr *dst, const guint8 *data, gsize len)
{
	if (k->events.send_esp) {
		k->events.send_esp(k->user_data, src, dst, data, len);
		return;
	}
	int fd = k->encap_fd[dst->family == AF_INET6];
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	if (dst->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(dst->port);
		memcpy(&sin6->sin6_addr, dst->addr, 16);
		sl = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(dst->port);
		memcpy(&sin->sin_addr, dst->addr, 4);
		sl = sizeof(*sin);
	}
	if (fd < 0 || sendto(fd, data, len, 0, (struct sockaddr *)&ss, sl) < 0)
		tun_table_count_drop(k->table, TUN_DROP_IO);
}

static void
flush_batch(VpndKernel *k)
{
	TunBatch *b = k->batch;

	if (b->n == 1)
		send_esp(k, &b->src, &b->dst, b->data, b->len);
	else if (b->n > 1)
		k->events.send_esp_batch(k->user_data, &b->src, &b->dst, b->data, b->len,
					 b->seg_len);
	b->n = 0;
	b->len = 0;
}

/* Queues a datagram for flush_batch(), which runs before this wakeup ends. */
static void
queue_esp(VpndKernel *k, const VpndAddr *src, const VpndAddr *dst, const guint8 *esp, gsize len)
{
	TunBatch *b = k->batch;

	if (!k->events.send_esp_batch || len > sizeof(b->data)) {
		send_esp(k, src, dst, esp, len);
		return;
	}
	if (b->n && (b->closed || len > b->seg_len || b->n == VPND_ESP_BATCH_MAX ||
		     b->len + len > sizeof(b->data) || !tun_addr_equal(src, &b->src, TRUE) ||
		     !tun_addr_equal(dst, &b->dst, TRUE)))
		flush_batch(k);
	if (!b->n) {
		b->src = *src;
		b->dst = *dst;
		b->seg_len = len;
	}
	memcpy(b->data + b->len, esp, len);
	b->len += len;
	b->n++;
	b->closed = len < b->seg_len;
}

/* The packet's own addresses, protocol and ports, for ACQUIRE. */
static void
flow_to_ts(const TunFlow *flow, const guint8 *addr, guint16 port, VpndTs *ts)
{
	gsize n = tun_addr_len(flow->family);

	*ts = (VpndTs){ .family = flow->family, .ip_proto = flow->proto };
	memcpy(ts->from, addr, n);
	memcpy(ts->to, addr, n);
	ts->from_port = flow->ports_known ? port : 0;
	ts->to_port = flow->ports_known ? port : 0xffff;
}

static void
acquire(VpndKernel *k, TunPolicy *policy, const TunFlow *flow)
{
	VpndTs src, dst;

	if (policy->params.action != VPND_POLICY_TRAP || policy->acquired || !k->events.acquire)
		return;
	tun_table_set_acquired(k->table, policy);
	flow_to_ts(flow, flow->src, flow->sport, &src);
	flow_to_ts(flow, flow->dst, flow->dport, &dst);
	vpnd_info("acquiring an SA for reqid %u", policy->params.reqid);
	k->events.acquire(k->user_data, policy->params.reqid, &src, &dst);
}

/* Seals and queues the packet at @base + TUN_HEADROOM (@base: TUN_BUF_SIZE bytes). */
static void
outbound(VpndKernel *k, guint8 *base, gsize len)
{
	guint8 *pkt = base + TUN_HEADROOM;
	TunFlow flow;
	TunPolicy *policy;
	TunSa *sa;

	if (!tun_flow_parse(pkt, len, &flow)) {
		tun_table_count_drop(k->table, TUN_DROP_NOT_IP);
		return;
	}
	switch (tun_table_route_out(k->table, &flow, &policy, &sa)) {
	case TUN_ROUTE_PROTECT:
		break;
	case TUN_ROUTE_NO_POLICY:
		tun_table_count_drop(k->table, TUN_DROP_NO_POLICY);
		return;
	case TUN_ROUTE_NO_SA:
		tun_table_count_drop(k->table, TUN_DROP_NO_SA);
		acquire(k, policy, &flow);
		return;
	case TUN_ROUTE_REFUSE:
		tun_table_count_drop(k->table, TUN_DROP_POLICY);
		return;
	}
	gsize head = esp_sa_headroom(sa->esp);
	guint8 *esp = pkt - head;
	guint8 next = flow.family == AF_INET6 ? ESP_NEXT_HEADER_IPV6 : ESP_NEXT_HEADER_IPV4;
	gint64 now = g_get_monotonic_time();
	EspResult result;
	gsize esp_len = esp_sa_seal(sa->esp, esp, len, TUN_BUF_SIZE - (TUN_HEADROOM - head), next,
				    now, &result);
	if (esp_len == 0) {
		/* sequence numbers exhausted: this SA may not send again */
		sa->hard_expired = TRUE;
		after_packet(k, sa, now);
		return;
	}
	/* copies: @sa is not touched once the daemon has been called */
	VpndAddr src = sa->src, dst = sa->dst;
	after_packet(k, sa, now);
	queue_esp(k, &src, &dst, esp, esp_len);
}

/* One read: a packet, or a large TCP segment (TSO) cut into packets here. */
static void
outbound_read(VpndKernel *k, gsize n)
{
	struct virtio_net_hdr hdr;
	guint8 *pkt = k->buf + TUN_HEADROOM;
	gsize len = n - TUN_VNET_HDR_LEN;
	TunTso tso;

	memcpy(&hdr, pkt - TUN_VNET_HDR_LEN, sizeof(hdr));
	if (hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if ((hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		    !tun_offload_finish_csum(pkt, len, hdr.csum_start, hdr.csum_offset)) {
			tun_table_count_drop(k->table, TUN_DROP_NOT_IP);
			return;
		}
		outbound(k, k->buf, len);
		return;
	}
	if (!tun_tso_init(&tso, &hdr, pkt, len)) {
		tun_table_count_drop(k->table, TUN_DROP_NOT_IP);
		return;
	}
	gsize seg_len;
	while ((seg_len = tun_tso_next(&tso, k->seg_buf + TUN_HEADROOM, TUN_MAX_PACKET)) > 0)
		outbound(k, k->seg_buf, seg_len);
}

static gboolean
on_tun_readable(gint fd, GIOCondition condition, gpointer data)
{
	VpndKernel *k = data;

	for (guint i = 0; i < TUN_READS_PER_WAKEUP; i++) {
		ssize_t n = read(fd, k->buf + TUN_HEADROOM - TUN_VNET_HDR_LEN,
				 TUN_VNET_HDR_LEN + TUN_MAX_PACKET);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= (ssize_t)TUN_VNET_HDR_LEN) {
			tun_table_count_drop(k->table, TUN_DROP_IO);
			break;
		}
		outbound_read(k, (gsize)n);
	}
	flush_batch(k);
	return G_SOURCE_CONTINUE;
}

/* ---- Inbound: ESP -> TUN ------------------------------------------------------------- */

static const char *
esp_result_name(EspResult r)
{
	switch (r) {
	case ESP_DROP_MALFORMED:
		return "malformed";
	case ESP_DROP_REPLAY:
		return "replayed";
	case ESP_DROP_TOO_OLD:
		return "too-old";
	case ESP_DROP_AUTH:
		return "auth";
	case ESP_DROP_PADDING:
		return "padding";
	case ESP_DROP_DUMMY:
		return "dummy";
	case ESP_DROP_EXHAUSTED:
		return "exhausted";
	case ESP_OK:
	case ESP_N_RESULTS:
		break;
	}
	return "unknown";
}

/* An authentic packet from another address or port than the SA's peer: report once. */
static gboolean
mapping_changed(TunSa *sa, const VpndAddr *src)
{
	if (!sa->encap || !src || !src->family || tun_addr_equal(src, &sa->src, TRUE) ||
	    (sa->mapping.family && tun_addr_equal(src, &sa->mapping, TRUE)))
		return FALSE;
	sa->mapping = *src;
	g_autofree char *text = tun_addr_to_string(src);
	vpnd_info("SA %08x: the peer's ESP now comes from %s", sa->id.spi, text);
	return TRUE;
}

static guint32
get_be32(const guint8 *p)
{
	guint32 v;

	memcpy(&v, p, 4);
	return GUINT32_FROM_BE(v);
}

/* An inbound packet for the TUN, joined with the ones before it where TCP allows. */
static void
deliver(VpndKernel *k, const guint8 *pkt, gsize len)
{
	if (tun_gro_add(k->gro, pkt, len))
		return;
	tun_esp_input_flush(k);
	tun_gro_add(k->gro, pkt, len); /* always takes a packet when empty */
}

static void
tun_esp_input(VpndKernel *k, const VpndAddr *src, const VpndAddr *dst, guint8 *data, gsize len)
{
	gsize offset, inner_len;
	guint8 next;
	TunFlow flow;

	if (len < ESP_HEADER_LEN) {
		tun_table_count_drop(k->table, TUN_DROP_SHORT);
		return;
	}
	TunSa *sa = tun_table_lookup_in(k->table, get_be32(data));
	if (!sa || sa->hard_expired) {
		tun_table_count_drop(k->table, TUN_DROP_UNKNOWN_SPI);
		/* the counter's name and value: what tests and admins read without a listing */
		vpnd_debug("ESP dropped: unknown SPI %08x (drops.unknown-spi = %" G_GUINT64_FORMAT ")",
			get_be32(data), tun_table_get_drops(k->table, TUN_DROP_UNKNOWN_SPI));
		return;
	}
	gint64 now = g_get_monotonic_time();
	EspResult result = esp_sa_open(sa->esp, data, len, now, &offset, &inner_len, &next);
	if (result != ESP_OK) {
		vpnd_debug("SA %08x: ESP dropped: %s (sa.in.%08x.drops.%s = %" G_GUINT64_FORMAT ")",
			sa->id.spi, esp_result_to_string(result), sa->id.spi,
			esp_result_name(result), esp_sa_get_counters(sa->esp)->drops[result]);
		return;
	}
	/* authentic from here */
	gboolean moved = mapping_changed(sa, src);
	VpndSaId id = sa->id;
	guint8 version = inner_len ? data[offset] >> 4 : 0;
	gboolean family_ok = (next == ESP_NEXT_HEADER_IPV4 && version == 4) ||
			     (next == ESP_NEXT_HEADER_IPV6 && version == 6);
	if (!family_ok || !tun_flow_parse(data + offset, inner_len, &flow)) {
		tun_table_count_drop(k->table, TUN_DROP_NOT_IP);
		sa->selector_drops++;
	} else if (!tun_table_inbound_allowed(k->table, sa, &flow)) {
		tun_table_count_drop(k->table, TUN_DROP_SELECTOR);
		sa->selector_drops++;
	} else {
		deliver(k, data + offset, inner_len);
	}
	after_packet(k, sa, now);
	/* last: the daemon may update or delete the SA from inside the event */
	if (moved && k->events.mapping)
		k->events.mapping(k->user_data, &id, src);
}

/* ---- Crypto ------------------------------------------------------------------------- */

static gboolean
encr_is_aead(guint16 id)
{
	switch (id) {
	case VPND_ENCR_AES_CCM_8:
	case VPND_ENCR_AES_CCM_12:
	case VPND_ENCR_AES_CCM_16:
	case VPND_ENCR_AES_GCM_8:
	case VPND_ENCR_AES_GCM_12:
	case VPND_ENCR_AES_GCM_16:
	case VPND_ENCR_CHACHA20_POLY1305:
		return TRUE;
	default:
		return FALSE;
	}
}

static const VpndCryptoOps *
crypto_for(VpndKernel *k, VpndAlgType type, guint id, guint bits, const char *name, GError **error)
{
	const VpndCryptoOps *ops = vpnd_host_get_crypto(k->host, type, id, bits);

	if (!ops)
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "no crypto provider offers %s", name);
	return ops;
}

static EspSa *
esp_sa_from_params(VpndKernel *k, const VpndSaParams *p, GError **error)
{
	guint32 window = 0;

	if (p->dir == VPND_DIR_IN) {
		window = p->replay_window ? p->replay_window : ESP_REPLAY_DEFAULT_SIZE;
		if (window > ESP_REPLAY_MAX_SIZE) {
			g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
				    "replay window %u is above the %u packets supported", window,
				    ESP_REPLAY_MAX_SIZE);
			return NULL;
		}
	}
	const char *encr_name = vpnd_encr_to_string(p->encr_id);
	if (encr_is_aead(p->encr_id)) {
		const VpndCryptoOps *ops = crypto_for(k, VPND_ALG_ENCR, p->encr_id,
						      p->encr_key_bits, encr_name, error);
		if (!ops)
			return NULL;
		VpndAead *aead = ops->aead_new(p->encr_id, p->encr_key, p->encr_key_len, error);
		return aead ? esp_sa_new_aead(p->spi, p->esn, window, aead) : NULL;
	}
	if (p->encr_id != VPND_ENCR_AES_CBC && p->encr_id != VPND_ENCR_AES_CTR) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "ESP encryption %s (%u) is not supported", encr_name, p->encr_id);
		return NULL;
	}
	if (!p->integ_id) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "%s without integrity protection is refused", encr_name);
		return NULL;
	}
	const char *integ_name = vpnd_integ_to_string(p->integ_id);
	const VpndCryptoOps *cops =
		crypto_for(k, VPND_ALG_ENCR, p->encr_id, p->encr_key_bits, encr_name, error);
	const VpndCryptoOps *iops =
		cops ? crypto_for(k, VPND_ALG_INTEG, p->integ_id, 0, integ_name, error) : NULL;
	if (!iops)
		return NULL;
	VpndCipher *cipher = cops->cipher_new(p->encr_id, p->encr_key, p->encr_key_len, error);
	if (!cipher)
		return NULL;
	VpndIntegrity *integ =
		iops->integrity_new(p->integ_id, p->integ_key, p->integ_key_len, error);
	if (!integ) {
		vpnd_cipher_free(cipher);
		return NULL;
	}
	return esp_sa_new_cipher(p->spi, p->esn, window, cipher, integ);
}

void
tun_kernel_check_settings(VpndHost *host)
{
	setting_mtu(host);
	vpnd_host_get_setting(host, "plugins.kernel-tun.name");
}

/* ---- Ops ----------------------------------------------------------------------------- */

static void tun_close(VpndKernel *k);

static VpndKernel *
tun_open(VpndHost *host, const VpndKernelEvents *events, gpointer user_data, GError **error)
{
	VpndKernel *k = g_new0(VpndKernel, 1);
	const char *name = vpnd_host_get_setting(host, "plugins.kernel-tun.name");

	k->host = host;
	if (events)
		k->events = *events;
	k->user_data = user_data;
	k->fd = -1;
	k->encap_fd[0] = k->encap_fd[1] = -1;
	k->mtu = setting_mtu(host);
	k->table = tun_table_new();
	k->routes = g_hash_table_new_full(prefix_hash, prefix_equal, g_free, NULL);
	k->buf = g_malloc(TUN_BUF_SIZE);
	k->seg_buf = g_malloc(TUN_BUF_SIZE);
	k->batch = g_new0(TunBatch, 1);
	k->gro = tun_gro_new();
	k->nl = tun_netlink_new(error);
	if (!k->nl || !tun_create(k, name && *name ? name : TUN_DEFAULT_NAME, error)) {
		tun_close(k);
		return NULL;
	}
	k->io_source = vpnd_unix_fd_add(k->fd, G_IO_IN, on_tun_readable, k);
	k->timer_source = g_timeout_add_seconds(1, on_timer, k);
	g_message("TUN device %s up, MTU %u", k->name, k->mtu);
	return k;
}

static void
tun_close(VpndKernel *k)
{
	if (!k)
		return;
	g_clear_handle_id(&k->io_source, g_source_remove);
	g_clear_handle_id(&k->timer_source, g_source_remove);
	g_clear_handle_id(&k->check_source, g_source_remove);
	if (k->fd >= 0)
		tun_esp_input_flush(k);
	GPtrArray *sas = tun_table_get_sas(k->table);
	while (sas->len)
		sa_remove(k, sas->pdata[sas->len - 1]);
	if (k->fd >= 0)
		close(k->fd); /* the device and any route left on it go with the last fd */
	g_hash_table_unref(k->routes);
	tun_table_free(k->table);
	tun_netlink_free(k->nl);
	g_free(k->buf);
	g_free(k->seg_buf);
	g_free(k->batch);
	tun_gro_free(k->gro);
	g_free(k);
}

static gboolean
tun_get_spi(VpndKernel *k, const VpndAddr *src, const VpndAddr *dst, guint8 protocol, guint32 *spi,
	    GError **error)
{
	for (guint attempt = 0; attempt < 100; attempt++) {
		guint32 candidate;
		if (getrandom(&candidate, sizeof(candidate), 0) != sizeof(candidate)) {
			g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
				    "getrandom: %s", g_strerror(errno));
			return FALSE;
		}
		if (candidate < TUN_SPI_MIN || tun_table_spi_taken(k->table, candidate))
			continue;
		tun_table_reserve_spi(k->table, candidate, g_get_monotonic_time());
		*spi = candidate;
		return TRUE;
	}
	g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED, "no free SPI found");
	return FALSE;
}

static gboolean
check_sa_params(const VpndSaParams *p, GError **error)
{
	const char *why = NULL;

	if (p->protocol != IPPROTO_ESP)
		why = "only ESP is supported";
	else if (p->mode != VPND_MODE_TUNNEL)
		why = "only tunnel mode is supported";
	else if (p->dir != VPND_DIR_IN && p->dir != VPND_DIR_OUT)
		why = "an SA is inbound or outbound";
	else if (!p->encap)
		why = "plain ESP is not supported: kernel-tun carries ESP in UDP only (encap)";
	else if (p->spi < TUN_SPI_MIN)
		why = "SPIs below 256 are reserved";
	else if (p->src.family != p->dst.family ||
		 (p->src.family != AF_INET && p->src.family != AF_INET6))
		why = "the outer addresses are not of one family";
	if (!why)
		return TRUE;
	g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED, "SA %08x: %s", p->spi,
		    why);
	return FALSE;
}

static void
log_sa_installed(const VpndSaParams *params)
{
	g_autofree char *src = tun_addr_to_string(&params->src);
	g_autofree char *dst = tun_addr_to_string(&params->dst);

	g_info("SA %08x %s %s -> %s installed (%s%s%s, reqid %u)", params->spi,
	       params->dir == VPND_DIR_IN ? "in" : "out", src, dst,
	       vpnd_encr_to_string(params->encr_id), params->integ_id ? "/" : "",
	       params->integ_id ? vpnd_integ_to_string(params->integ_id) : "", params->reqid);
}

static gboolean
tun_add_sa(VpndKernel *k, const VpndSaParams *params, GError **error)
{
	if (!check_sa_params(params, error))
		return FALSE;
	g_autoptr(TunSa) sa = tun_sa_new(params, g_get_monotonic_time());
	if (tun_table_find_sa(k->table, &sa->id) ||
	    (params->dir == VPND_DIR_IN && tun_table_lookup_in(k->table, params->spi))) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_EXISTS,
			    "SA %08x is installed already", params->spi);
		return FALSE;
	}
	sa->esp = esp_sa_from_params(k, params, error);
	if (!sa->esp)
		return FALSE;
	if (!sa_routes_add(k, sa, error))
		return FALSE;
	TunSa *added = g_steal_pointer(&sa);
	tun_table_add_sa(k->table, added);
	if (vpnd_log_wanted(G_LOG_DOMAIN, G_LOG_LEVEL_INFO))
		log_sa_installed(params);
	return TRUE;
}

static TunSa *
find_or_fail(VpndKernel *k, const VpndSaId *id, GError **error)
{
	TunSa *sa = tun_table_find_sa(k->table, id);

	if (!sa)
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND,
			    "no SA %08x installed", id->spi);
	return sa;
}

static gboolean
tun_update_sa(VpndKernel *k, const VpndSaId *id, const VpndAddr *new_src, const VpndAddr *new_dst,
	      GError **error)
{
	TunSa *sa = find_or_fail(k, id, error);

	if (!sa)
		return FALSE;
	if (new_src->family != new_dst->family) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "SA %08x: the new outer addresses are not of one family", id->spi);
		return FALSE;
	}
	/* the routes hold the peer's old address out of the tunnel: redo them */
	sa_routes_remove(k, sa);
	sa->src = *new_src;
	sa->dst = *new_dst;
	sa->id.dst = *new_dst;
	sa->mapping = (VpndAddr){ 0 };
	if (!sa_routes_add(k, sa, error))
		return FALSE;
	g_autofree char *src = tun_addr_to_string(new_src);
	g_autofree char *dst = tun_addr_to_string(new_dst);
	g_message("SA %08x moved to %s -> %s", id->spi, src, dst);
	return TRUE;
}

static gboolean
tun_query_sa(VpndKernel *k, const VpndSaId *id, VpndSaStats *stats, GError **error)
{
	TunSa *sa = find_or_fail(k, id, error);

	if (!sa)
		return FALSE;
	const EspCounters *c = esp_sa_get_counters(sa->esp);
	*stats = (VpndSaStats){ .bytes = c->bytes, .packets = c->packets };
	for (guint i = ESP_OK + 1; i < ESP_N_RESULTS; i++)
		stats->drops += c->drops[i];
	stats->drops += sa->selector_drops;
	if (c->last_use) {
		gint64 idle = g_get_monotonic_time() - c->last_use;
		stats->last_use = (g_get_real_time() - idle) / G_USEC_PER_SEC;
	}
	return TRUE;
}

static gboolean
tun_del_sa(VpndKernel *k, const VpndSaId *id, GError **error)
{
	TunSa *sa = find_or_fail(k, id, error);

	if (!sa)
		return FALSE;
	vpnd_info("SA %08x %s removed", id->spi, sa->dir == VPND_DIR_IN ? "in" : "out");
	sa_remove(k, sa);
	return TRUE;
}

/*
 * Two kinds of policy decide here: OUT (which SA a packet from the TUN takes) and IN
 * (what a decrypted packet may be). Forwarded traffic takes those same two paths, so a
 * FWD policy has nothing to decide: it is accepted and not kept (180 bytes each, one
 * per child of a gateway).
 */
static gboolean
is_kept(const VpndPolicyParams *params)
{
	return params->dir != VPND_DIR_FWD;
}

static gboolean
tun_add_policy(VpndKernel *k, const VpndPolicyParams *params, GError **error)
{
	g_autoptr(GArray) prefixes = g_array_new(FALSE, FALSE, sizeof(TunPrefix));

	if (!is_kept(params))
		return TRUE;
	if (!tun_table_add_policy(k->table, params)) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_EXISTS,
			    "an identical policy is installed");
		return FALSE;
	}
	trap_prefixes(params, prefixes);
	if (!routes_add(k, prefixes, error)) {
		tun_table_del_policy(k->table, params);
		return FALSE;
	}
	if (vpnd_log_wanted(G_LOG_DOMAIN, G_LOG_LEVEL_INFO)) {
		g_autofree char *src = tun_ts_to_string(&params->src_ts);
		g_autofree char *dst = tun_ts_to_string(&params->dst_ts);
		g_info("policy %s === %s %s installed (reqid %u)", src, dst,
		       params->dir == VPND_DIR_OUT  ? "out"
		       : params->dir == VPND_DIR_IN ? "in"
						    : "fwd",
		       params->reqid);
	}
	return TRUE;
}

static gboolean
tun_del_policy(VpndKernel *k, const VpndPolicyParams *params, GError **error)
{
	g_autoptr(GArray) prefixes = g_array_new(FALSE, FALSE, sizeof(TunPrefix));

	if (!is_kept(params))
		return TRUE;
	if (!tun_table_del_policy(k->table, params)) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND,
			    "no such policy installed");
		return FALSE;
	}
	trap_prefixes(params, prefixes);
	routes_remove(k, prefixes);
	return TRUE;
}

static gboolean
tun_enable_udp_encap(VpndKernel *k, int fd, int family, GError **error)
{
	/* only used when the daemon gave no send_esp: we send through its socket */
	k->encap_fd[family == AF_INET6] = fd;
	return TRUE;
}

static void
tun_foreach_counter(VpndKernel *k, void (*func)(const char *, guint64, gpointer),
		    gpointer user_data)
{
	GPtrArray *sas = tun_table_get_sas(k->table);

	for (guint d = 0; d < TUN_N_DROPS; d++) {
		g_autofree char *name = g_strdup_printf("drops.%s", tun_drop_to_string(d));
		func(name, tun_table_get_drops(k->table, d), user_data);
	}
	for (guint i = 0; i < sas->len; i++) {
		const TunSa *sa = sas->pdata[i];
		const EspCounters *c = esp_sa_get_counters(sa->esp);
		g_autofree char *prefix = g_strdup_printf(
			"sa.%s.%08x.", sa->dir == VPND_DIR_IN ? "in" : "out", sa->id.spi);
		g_autofree char *bytes = g_strconcat(prefix, "bytes", NULL);
		g_autofree char *packets = g_strconcat(prefix, "packets", NULL);
		g_autofree char *selector = g_strconcat(prefix, "drops.selector", NULL);
		func(bytes, c->bytes, user_data);
		func(packets, c->packets, user_data);
		func(selector, sa->selector_drops, user_data);
		for (guint r = ESP_OK + 1; r < ESP_N_RESULTS; r++) {
			g_autofree char *name =
				g_strconcat(prefix, "drops.", esp_result_name(r), NULL);
			func(name, c->drops[r], user_data);
		}
	}
}

const VpndKernelOps tun_kernel_ops = {
	.open = tun_open,
	.close = tun_close,
	.get_spi = tun_get_spi,
	.add_sa = tun_add_sa,
	.update_sa = tun_update_sa,
	.query_sa = tun_query_sa,
	.del_sa = tun_del_sa,
	.add_policy = tun_add_policy,
	.del_policy = tun_del_policy,
	.enable_udp_encap = tun_enable_udp_encap,
	.esp_input = tun_esp_input,
	.foreach_counter = tun_foreach_counter,
	.esp_input_flush = tun_esp_input_flush,
};
