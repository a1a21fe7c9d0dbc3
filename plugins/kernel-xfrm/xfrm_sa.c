/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/udp.h>
#include <vpnd/crypto.h>
#include "xfrm_sa.h"
#include "xfrm_policy.h"

/* Anti-replay window when the daemon does not ask for one, and the kernel's limit. */
#define XFRM_SA_REPLAY_DEFAULT 32
#define XFRM_SA_REPLAY_MAX XFRMA_REPLAY_ESN_MAX
/* SPIs ALLOCSPI may hand out; below 256 they are reserved (RFC 4303 §2.1). */
#define XFRM_SA_SPI_MIN 0x00000100u
#define XFRM_SA_SPI_MAX 0xffffffffu
/* The SPI of the SA that probes for ESP support, to 127.0.0.1 (below MIN: never handed out) */
#define XFRM_SA_PROBE_SPI 0x000000ffu
/* Transport-mode template modes for xfrm_usersa_info.mode */
#define XFRM_SA_MODE_TRANSPORT 0
#define XFRM_SA_MODE_TUNNEL 1

struct XfrmSaEntry {
	struct xfrm_mark mark;
	VpndSecret *msg; /* the NEWSA message, keys included, kept for update_sa */
};

/* IANA transform -> the kernel's crypto API name (and ICV/truncation length in bits). */
typedef struct {
	guint16 id;
	const char *name;
	guint bits;
} XfrmAlg;

static const XfrmAlg xfrm_aeads[] = {
	{ VPND_ENCR_AES_GCM_8, "rfc4106(gcm(aes))", 64 },
	{ VPND_ENCR_AES_GCM_12, "rfc4106(gcm(aes))", 96 },
	{ VPND_ENCR_AES_GCM_16, "rfc4106(gcm(aes))", 128 },
	{ VPND_ENCR_AES_CCM_8, "rfc4309(ccm(aes))", 64 },
	{ VPND_ENCR_AES_CCM_12, "rfc4309(ccm(aes))", 96 },
	{ VPND_ENCR_AES_CCM_16, "rfc4309(ccm(aes))", 128 },
	{ VPND_ENCR_CHACHA20_POLY1305, "rfc7539esp(chacha20,poly1305)", 128 },
};

static const XfrmAlg xfrm_ciphers[] = {
	{ VPND_ENCR_AES_CBC, "cbc(aes)", 0 },
	{ VPND_ENCR_AES_CTR, "rfc3686(ctr(aes))", 0 },
};

static const XfrmAlg xfrm_integs[] = {
	{ VPND_INTEG_HMAC_SHA1_96, "hmac(sha1)", 96 },
	{ VPND_INTEG_AES_XCBC_96, "xcbc(aes)", 96 },
	{ VPND_INTEG_AES_CMAC_96, "cmac(aes)", 96 },
	{ VPND_INTEG_HMAC_SHA2_256_128, "hmac(sha256)", 128 },
	{ VPND_INTEG_HMAC_SHA2_384_192, "hmac(sha384)", 192 },
	{ VPND_INTEG_HMAC_SHA2_512_256, "hmac(sha512)", 256 },
};

static const XfrmAlg *
alg_find(const XfrmAlg *table, gsize n, guint16 id)
{
	for (gsize i = 0; i < n; i++)
		if (table[i].id == id)
			return &table[i];
	return NULL;
}

void
xfrm_sa_key_init(XfrmSaKey *key, const VpndSaId *id)
{
	memset(key, 0, sizeof(*key));
	key->family = id->dst.family;
	key->protocol = id->protocol;
	key->spi = id->spi;
	memcpy(key->dst, id->dst.addr, id->dst.family == AF_INET ? 4 : 16);
}

guint
xfrm_sa_key_hash(gconstpointer key)
{
	const XfrmSaKey *k = key;
	guint h = k->spi ^ ((guint)k->protocol << 24) ^ k->family;

	for (gsize i = 0; i < sizeof(k->dst); i++)
		h = h * 31 + k->dst[i];
	return h;
}

gboolean
xfrm_sa_key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(XfrmSaKey)) == 0;
}

void
xfrm_sa_entry_free(XfrmSaEntry *entry)
{
	if (!entry)
		return;
	vpnd_secret_free(entry->msg);
	g_free(entry);
}

static XfrmSaKey *
sa_key_dup(const VpndSaId *id)
{
	XfrmSaKey *key = g_new(XfrmSaKey, 1);

	xfrm_sa_key_init(key, id);
	return key;
}

static guint64
limit(guint64 value)
{
	return value ? value : XFRM_INF;
}

static void
put_lifetime(struct xfrm_lifetime_cfg *lft, const VpndLifetime *soft, const VpndLifetime *hard)
{
	lft->soft_byte_limit = limit(soft->bytes);
	lft->hard_byte_limit = limit(hard->bytes);
	lft->soft_packet_limit = limit(soft->packets);
	lft->hard_packet_limit = limit(hard->packets);
	lft->soft_add_expires_seconds = soft->seconds;
	lft->hard_add_expires_seconds = hard->seconds;
}

static void
put_aead(struct nlmsghdr *nlh, const VpndSaParams *p, const XfrmAlg *alg)
{
	gsize len = sizeof(struct xfrm_algo_aead) + p->encr_key_len;
	g_autofree struct xfrm_algo_aead *a = g_malloc0(len);

	g_strlcpy(a->alg_name, alg->name, sizeof(a->alg_name));
	a->alg_key_len = p->encr_key_len * 8;
	a->alg_icv_len = alg->bits;
	memcpy(a->alg_key, p->encr_key, p->encr_key_len);
	mnl_attr_put(nlh, XFRMA_ALG_AEAD, len, a);
	explicit_bzero(a, len);
}

static void
put_cipher(struct nlmsghdr *nlh, const VpndSaParams *p, const XfrmAlg *alg)
{
	gsize len = sizeof(struct xfrm_algo) + p->encr_key_len;
	g_autofree struct xfrm_algo *a = g_malloc0(len);

	g_strlcpy(a->alg_name, alg->name, sizeof(a->alg_name));
	a->alg_key_len = p->encr_key_len * 8;
	memcpy(a->alg_key, p->encr_key, p->encr_key_len);
	mnl_attr_put(nlh, XFRMA_ALG_CRYPT, len, a);
	explicit_bzero(a, len);
}

static void
put_integ(struct nlmsghdr *nlh, const VpndSaParams *p, const XfrmAlg *alg)
{
	gsize len = sizeof(struct xfrm_algo_auth) + p->integ_key_len;
	g_autofree struct xfrm_algo_auth *a = g_malloc0(len);

	g_strlcpy(a->alg_name, alg->name, sizeof(a->alg_name));
	a->alg_key_len = p->integ_key_len * 8;
	a->alg_trunc_len = alg->bits;
	memcpy(a->alg_key, p->integ_key, p->integ_key_len);
	mnl_attr_put(nlh, XFRMA_ALG_AUTH_TRUNC, len, a);
	explicit_bzero(a, len);
}

static gboolean
put_algorithms(struct nlmsghdr *nlh, const VpndSaParams *p, GError **error)
{
	const XfrmAlg *aead = alg_find(xfrm_aeads, G_N_ELEMENTS(xfrm_aeads), p->encr_id);
	const XfrmAlg *cipher, *integ;

	if (aead) {
		if (p->integ_id) {
			g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
				    "an AEAD (encryption transform %u) takes no integrity "
				    "transform (%u)",
				    p->encr_id, p->integ_id);
			return FALSE;
		}
		put_aead(nlh, p, aead);
		return TRUE;
	}
	cipher = alg_find(xfrm_ciphers, G_N_ELEMENTS(xfrm_ciphers), p->encr_id);
	integ = alg_find(xfrm_integs, G_N_ELEMENTS(xfrm_integs), p->integ_id);
	if (!cipher || !integ) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "kernel-xfrm has no kernel algorithm for encryption transform %u "
			    "with integrity transform %u",
			    p->encr_id, p->integ_id);
		return FALSE;
	}
	put_cipher(nlh, p, cipher);
	put_integ(nlh, p, integ);
	return TRUE;
}

static gboolean
put_replay(struct nlmsghdr *nlh, const VpndSaParams *p, GError **error)
{
	guint32 window = p->replay_window ? p->replay_window : XFRM_SA_REPLAY_DEFAULT;
	guint32 words = (window + 31) / 32;
	gsize len = sizeof(struct xfrm_replay_state_esn) + words * sizeof(guint32);
	g_autofree struct xfrm_replay_state_esn *r = NULL;

	if (window > XFRM_SA_REPLAY_MAX) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "replay window %u is larger than the kernel's %u packets", window,
			    XFRM_SA_REPLAY_MAX);
		return FALSE;
	}
	/* the bitmap form works with and without ESN and for any window size */
	r = g_malloc0(len);
	r->bmp_len = words;
	r->replay_window = window;
	mnl_attr_put(nlh, XFRMA_REPLAY_ESN_VAL, len, r);
	return TRUE;
}

static void
put_encap(struct nlmsghdr *nlh, guint16 sport, guint16 dport)
{
	struct xfrm_encap_tmpl encap = {
		.encap_type = UDP_ENCAP_ESPINUDP,
		.encap_sport = htons(sport),
		.encap_dport = htons(dport),
	};

	mnl_attr_put(nlh, XFRMA_ENCAP, sizeof(encap), &encap);
}

static gboolean
check_addrs(const VpndAddr *src, const VpndAddr *dst, GError **error)
{
	if ((src->family != AF_INET && src->family != AF_INET6) || src->family != dst->family) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
			    "SA endpoints need one address family (got %u and %u)", src->family,
			    dst->family);
		return FALSE;
	}
	return TRUE;
}

/* Transport mode: the SA carries the one host pair; tunnel mode: any inner family. */
static gboolean
fill_selector(struct xfrm_usersa_info *info, const VpndSaParams *p, GError **error)
{
	if (p->mode == VPND_MODE_TUNNEL) {
		info->flags |= XFRM_STATE_AF_UNSPEC;
		return TRUE;
	}
	if (p->n_local_ts != 1 || p->n_remote_ts != 1)
		return TRUE; /* sel stays "any" of the outer family */
	if (p->dir == VPND_DIR_OUT)
		return xfrm_policy_selector_from_ts(p->local_ts, p->remote_ts, &info->sel, error);
	return xfrm_policy_selector_from_ts(p->remote_ts, p->local_ts, &info->sel, error);
}

static struct nlmsghdr *
build_sa(VpndKernel *k, const VpndSaParams *p, guint16 type, void *buf, struct xfrm_mark *mark,
	 GError **error)
{
	struct nlmsghdr *nlh = xfrm_nl_put_header(k->nl, buf, type, 0);
	struct xfrm_usersa_info *info = mnl_nlmsg_put_extra_header(nlh, sizeof(*info));

	if (!check_addrs(&p->src, &p->dst, error) ||
	    !xfrm_kernel_mark(k, p->mark, p->mark_mask, mark, error))
		return NULL;
	xfrm_kernel_addr_to_xfrm(&p->dst, &info->id.daddr);
	xfrm_kernel_addr_to_xfrm(&p->src, &info->saddr);
	info->id.spi = htonl(p->spi);
	info->id.proto = p->protocol ? p->protocol : IPPROTO_ESP;
	info->family = p->dst.family;
	info->mode = p->mode == VPND_MODE_TRANSPORT ? XFRM_SA_MODE_TRANSPORT : XFRM_SA_MODE_TUNNEL;
	info->reqid = p->reqid;
	if (p->esn)
		info->flags |= XFRM_STATE_ESN;
	put_lifetime(&info->lft, &p->soft, &p->hard);
	if (!fill_selector(info, p, error) || !put_algorithms(nlh, p, error) ||
	    !put_replay(nlh, p, error))
		return NULL;
	if (p->encap)
		put_encap(nlh, p->src.port, p->dst.port);
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(*mark), mark);
	if (p->if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, p->if_id);
	return nlh;
}

static void
prefix_sa_error(GError **error, guint32 spi, const char *what)
{
	g_prefix_error(error, "cannot %s SA 0x%08x: ", what, spi);
}

/*
 * Whether the kernel has ESP at all: an SA with the null cipher, which needs no crypto
 * module, on an address no traffic uses. EPROTONOSUPPORT ("Requested type not found")
 * is the kernel saying it has no ESP type; a probe that goes in is removed at once.
 */
gboolean
xfrm_sa_kernel_lacks_esp(VpndKernel *k)
{
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	struct nlmsghdr *nlh = xfrm_nl_put_header(k->nl, buf, XFRM_MSG_NEWSA, 0);
	struct xfrm_usersa_info *info = mnl_nlmsg_put_extra_header(nlh, sizeof(*info));
	struct xfrm_algo null_cipher = { .alg_name = "ecb(cipher_null)" };
	struct xfrm_mark mark = { .m = k->owner_bit };
	VpndSaId probe = { .spi = XFRM_SA_PROBE_SPI, .protocol = IPPROTO_ESP };
	int err = 0;

	probe.dst.family = AF_INET;
	probe.dst.addr[0] = 127;
	probe.dst.addr[3] = 1;
	xfrm_kernel_addr_to_xfrm(&probe.dst, &info->id.daddr);
	info->saddr = info->id.daddr;
	info->id.spi = htonl(probe.spi);
	info->id.proto = IPPROTO_ESP;
	info->family = AF_INET;
	info->mode = XFRM_SA_MODE_TRANSPORT;
	put_lifetime(&info->lft, &(VpndLifetime){ 0 }, &(VpndLifetime){ 0 });
	mnl_attr_put(nlh, XFRMA_ALG_CRYPT, sizeof(null_cipher), &null_cipher);
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(mark), &mark);
	if (xfrm_nl_request(k->nl, nlh, NULL, NULL, &err, NULL))
		xfrm_sa_del(k, &probe, NULL);
	return err == EPROTONOSUPPORT;
}

/* The one failure an operator can fix without touching vpnd: say what to do. */
static void
explain_no_esp(GError **error, guint32 spi)
{
	g_clear_error(error);
	g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_UNSUPPORTED,
		    "cannot install SA 0x%08x: this kernel lacks ESP (XFRM knows no ESP type: "
		    "no esp4/esp6 module, CONFIG_INET_ESP/CONFIG_INET6_ESP unset); use the "
		    "kernel-tun plugin (userspace ESP) instead of kernel-xfrm",
		    spi);
	g_warning("%s", (*error)->message);
}

static void
sa_remember(VpndKernel *k, const VpndSaId *id, const struct nlmsghdr *nlh,
	    const struct xfrm_mark *mark)
{
	XfrmSaEntry *entry = g_new0(XfrmSaEntry, 1);

	entry->mark = *mark;
	entry->msg = vpnd_secret_new_from_data(nlh, nlh->nlmsg_len);
	g_hash_table_replace(k->sas, sa_key_dup(id), entry);
}

gboolean
xfrm_sa_add(VpndKernel *k, const VpndSaParams *params, GError **error)
{
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	VpndSaId id = { .spi = params->spi, .protocol = params->protocol, .dst = params->dst };
	XfrmSaKey key;
	struct xfrm_mark mark;
	struct nlmsghdr *nlh;
	gboolean larval;
	int err = 0;
	gboolean ok;

	if (!id.protocol)
		id.protocol = IPPROTO_ESP;
	xfrm_sa_key_init(&key, &id);
	/* an SPI we allocated sits in the kernel as a larval SA that this one replaces */
	larval = g_hash_table_contains(k->spis, &key);
	nlh = build_sa(k, params, larval ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA, buf, &mark, error);
	if (!nlh) {
		prefix_sa_error(error, params->spi, "install");
		explicit_bzero(buf, XFRM_NL_BUF_SIZE);
		return FALSE;
	}
	ok = xfrm_nl_request(k->nl, nlh, NULL, NULL, &err, error);
	if (ok) {
		g_hash_table_remove(k->spis, &key);
		sa_remember(k, &id, nlh, &mark);
		vpnd_debug("SA 0x%08x installed (reqid %u)", params->spi, params->reqid);
	} else if ((err == EPROTONOSUPPORT || err == ENOSYS) && id.protocol == IPPROTO_ESP &&
		   xfrm_sa_kernel_lacks_esp(k)) {
		explain_no_esp(error, params->spi);
	} else {
		prefix_sa_error(error, params->spi, "install");
	}
	explicit_bzero(buf, nlh->nlmsg_len); /* the keys; nothing was written past them */
	return ok;
}

static int
spi_answer(const struct nlmsghdr *nlh, gpointer user_data)
{
	struct xfrm_usersa_info info;
	guint32 *spi = user_data;

	if (nlh->nlmsg_type == XFRM_MSG_NEWSA && xfrm_nl_get_fixed(nlh, &info, sizeof(info)))
		*spi = ntohl(info.id.spi);
	return MNL_CB_OK;
}

gboolean
xfrm_sa_get_spi(VpndKernel *k, const VpndAddr *src, const VpndAddr *dst, guint8 protocol,
		guint32 *spi, GError **error)
{
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	struct nlmsghdr *nlh = xfrm_nl_put_header(k->nl, buf, XFRM_MSG_ALLOCSPI, 0);
	struct xfrm_userspi_info *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	struct xfrm_mark mark;
	VpndSaId id = { .protocol = protocol ? protocol : IPPROTO_ESP, .dst = *dst };

	if (!check_addrs(src, dst, error) || !xfrm_kernel_mark(k, 0, 0, &mark, error))
		return FALSE;
	xfrm_kernel_addr_to_xfrm(dst, &req->info.id.daddr);
	xfrm_kernel_addr_to_xfrm(src, &req->info.saddr);
	req->info.id.proto = id.protocol;
	req->info.family = dst->family;
	req->min = XFRM_SA_SPI_MIN;
	req->max = XFRM_SA_SPI_MAX;
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(mark), &mark);
	*spi = 0;
	if (!xfrm_nl_request(k->nl, nlh, spi_answer, spi, NULL, error)) {
		g_prefix_error(error, "cannot allocate an SPI: ");
		return FALSE;
	}
	if (!*spi) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_FAILED,
			    "cannot allocate an SPI: the kernel answered without one");
		return FALSE;
	}
	id.spi = *spi;
	g_hash_table_add(k->spis, sa_key_dup(&id));
	return TRUE;
}

/* A GETSA/DELSA request for @id, with the mark it was installed with. */
static struct nlmsghdr *
build_sa_id(VpndKernel *k, const VpndSaId *id, guint16 type, void *buf)
{
	struct nlmsghdr *nlh = xfrm_nl_put_header(k->nl, buf, type, 0);
	struct xfrm_usersa_id *sid = mnl_nlmsg_put_extra_header(nlh, sizeof(*sid));
	XfrmSaKey key;
	const XfrmSaEntry *entry;
	struct xfrm_mark mark = { .m = k->owner_bit };

	xfrm_sa_key_init(&key, id);
	entry = g_hash_table_lookup(k->sas, &key);
	if (entry)
		mark = entry->mark;
	xfrm_kernel_addr_to_xfrm(&id->dst, &sid->daddr);
	sid->spi = htonl(id->spi);
	sid->family = id->dst.family;
	sid->proto = id->protocol ? id->protocol : IPPROTO_ESP;
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(mark), &mark);
	return nlh;
}

static int
stats_answer(const struct nlmsghdr *nlh, gpointer user_data)
{
	struct xfrm_usersa_info info;
	VpndSaStats *stats = user_data;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA || !xfrm_nl_get_fixed(nlh, &info, sizeof(info)))
		return MNL_CB_OK;
	stats->bytes = info.curlft.bytes;
	stats->packets = info.curlft.packets;
	stats->last_use = info.curlft.use_time;
	stats->drops = (guint64)info.stats.replay + info.stats.integrity_failed;
	return MNL_CB_OK;
}

gboolean
xfrm_sa_query(VpndKernel *k, const VpndSaId *id, VpndSaStats *stats, GError **error)
{
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	struct nlmsghdr *nlh = build_sa_id(k, id, XFRM_MSG_GETSA, buf);

	memset(stats, 0, sizeof(*stats));
	if (!xfrm_nl_request(k->nl, nlh, stats_answer, stats, NULL, error)) {
		prefix_sa_error(error, id->spi, "query");
		return FALSE;
	}
	return TRUE;
}

gboolean
xfrm_sa_del(VpndKernel *k, const VpndSaId *id, GError **error)
{
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	struct nlmsghdr *nlh = build_sa_id(k, id, XFRM_MSG_DELSA, buf);
	g_autoptr(GError) local = NULL;
	gboolean ok = xfrm_nl_request(k->nl, nlh, NULL, NULL, NULL, &local);
	XfrmSaKey key;

	xfrm_sa_key_init(&key, id);
	if (ok || g_error_matches(local, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND)) {
		g_hash_table_remove(k->sas, &key);
		g_hash_table_remove(k->spis, &key);
	}
	if (!ok) {
		g_propagate_error(error, g_steal_pointer(&local));
		prefix_sa_error(error, id->spi, "delete");
	}
	return ok;
}

/* Rewrites the UDP ports of the XFRMA_ENCAP in @nlh; FALSE if it has none. */
static gboolean
patch_encap(struct nlmsghdr *nlh, guint16 sport, guint16 dport)
{
	struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct xfrm_usersa_info))
	{
		struct xfrm_encap_tmpl *encap = mnl_attr_get_payload(attr);

		if (mnl_attr_get_type(attr) != XFRMA_ENCAP ||
		    mnl_attr_get_payload_len(attr) < sizeof(*encap))
			continue;
		encap->encap_sport = htons(sport);
		encap->encap_dport = htons(dport);
		return TRUE;
	}
	return FALSE;
}

static gboolean
same_addr(const xfrm_address_t *a, const VpndAddr *b)
{
	xfrm_address_t x;

	xfrm_kernel_addr_to_xfrm(b, &x);
	return memcmp(a, &x, sizeof(x)) == 0;
}

/*
 * New ports only: UPDSA keeps the SA and its counters. New addresses change the
 * kernel's key, so the SA is installed again (counters restart) and the old one goes.
 */
gboolean
xfrm_sa_update(VpndKernel *k, const VpndSaId *id, const VpndAddr *new_src, const VpndAddr *new_dst,
	       GError **error)
{
	g_autofree guint8 *buf = g_malloc0(XFRM_NL_BUF_SIZE);
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct xfrm_usersa_info *info;
	XfrmSaKey key;
	XfrmSaEntry *entry;
	VpndSaId new_id = { .spi = id->spi, .protocol = id->protocol, .dst = *new_dst };
	struct xfrm_mark mark;
	gboolean moved, ok;

	xfrm_sa_key_init(&key, id);
	entry = g_hash_table_lookup(k->sas, &key);
	if (!entry) {
		g_set_error(error, VPND_KERNEL_ERROR, VPND_KERNEL_ERROR_NOT_FOUND,
			    "cannot update SA 0x%08x: not installed by kernel-xfrm", id->spi);
		return FALSE;
	}
	if (!check_addrs(new_src, new_dst, error))
		return FALSE;
	mark = entry->mark;
	memcpy(buf, entry->msg->data, entry->msg->len);
	info = mnl_nlmsg_get_payload(nlh);
	moved = info->family != new_dst->family || !same_addr(&info->saddr, new_src) ||
		!same_addr(&info->id.daddr, new_dst);
	if (!patch_encap(nlh, new_src->port, new_dst->port) && (new_src->port || new_dst->port))
		put_encap(nlh, new_src->port, new_dst->port);
	xfrm_kernel_addr_to_xfrm(new_src, &info->saddr);
	xfrm_kernel_addr_to_xfrm(new_dst, &info->id.daddr);
	info->family = new_dst->family;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_type = moved ? XFRM_MSG_NEWSA : XFRM_MSG_UPDSA;
	/*
	 * UPDSA leaves the addresses as they were; the SA is installed again, and since a
	 * new source alone does not change the kernel's key, the old one goes first
	 */
	if (moved && !xfrm_sa_del(k, id, error)) {
		explicit_bzero(buf, XFRM_NL_BUF_SIZE);
		return FALSE;
	}
	ok = xfrm_nl_request(k->nl, nlh, NULL, NULL, NULL, error);
	if (!new_id.protocol)
		new_id.protocol = IPPROTO_ESP;
	if (ok) {
		XfrmSaEntry *fresh = g_new0(XfrmSaEntry, 1);

		fresh->mark = mark;
		fresh->msg = vpnd_secret_new_from_data(nlh, nlh->nlmsg_len);
		g_hash_table_replace(k->sas, sa_key_dup(&new_id), fresh);
	} else {
		prefix_sa_error(error, id->spi, "update");
	}
	explicit_bzero(buf, XFRM_NL_BUF_SIZE);
	return ok;
}

typedef struct {
	VpndKernel *k;
	GArray *ids; /* struct xfrm_usersa_id + mark pairs */
	GArray *marks;
} XfrmSaSweep;

static int
sweep_collect(const struct nlmsghdr *nlh, gpointer user_data)
{
	XfrmSaSweep *sweep = user_data;
	struct xfrm_usersa_info info;
	const struct nlattr *attr;
	struct xfrm_usersa_id id = { 0 };

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA || !xfrm_nl_get_fixed(nlh, &info, sizeof(info)))
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(info))
	{
		const struct xfrm_mark *mark = mnl_attr_get_payload(attr);

		if (mnl_attr_get_type(attr) != XFRMA_MARK ||
		    mnl_attr_get_payload_len(attr) < sizeof(*mark) ||
		    !xfrm_kernel_mark_is_ours(sweep->k, mark))
			continue;
		id.daddr = info.id.daddr;
		id.spi = info.id.spi;
		id.family = info.family;
		id.proto = info.id.proto;
		g_array_append_val(sweep->ids, id);
		g_array_append_val(sweep->marks, *mark);
	}
	return MNL_CB_OK;
}

guint
xfrm_sa_flush_owned(VpndKernel *k)
{
	g_autofree guint8 *buf = g_malloc(XFRM_NL_BUF_SIZE);
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(struct xfrm_usersa_id));
	g_autoptr(GArray) marks = g_array_new(FALSE, FALSE, sizeof(struct xfrm_mark));
	XfrmSaSweep sweep = { k, ids, marks };
	g_autoptr(GError) error = NULL;
	struct nlmsghdr *nlh = xfrm_nl_put_header(k->nl, buf, XFRM_MSG_GETSA, NLM_F_DUMP);
	guint removed = 0;

	if (!xfrm_nl_request(k->nl, nlh, sweep_collect, &sweep, NULL, &error)) {
		g_warning("cannot list the kernel's SAs: %s", error->message);
		return 0;
	}
	for (guint i = 0; i < ids->len; i++) {
		struct xfrm_usersa_id *id;

		nlh = xfrm_nl_put_header(k->nl, buf, XFRM_MSG_DELSA, 0);
		id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
		*id = g_array_index(ids, struct xfrm_usersa_id, i);
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(struct xfrm_mark),
			     &g_array_index(marks, struct xfrm_mark, i));
		/* SPI 0: a larval SA of an ACQUIRE, which the kernel expires by itself */
		if (id->spi && xfrm_nl_request(k->nl, nlh, NULL, NULL, NULL, NULL))
			removed++;
	}
	g_hash_table_remove_all(k->sas);
	g_hash_table_remove_all(k->spis);
	return removed;
}
