/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the seed corpus of tests/fuzz/fuzz-ike-responder: IKE_SA_INIT requests as the
 * engine sends them (192.0.2.1 -> 192.0.2.2), for several proposals and key exchanges
 * (one the fuzz target's responder answers with INVALID_KE_PAYLOAD), and one carrying a
 * COOKIE. Usage: ikev2-write-seeds DIR (VPND_PLUGIN_BUILDDIR set).
 */
#include <stdio.h>

#include "engine-harness.h"
#include "ike_msg.h"

static const struct {
	const char *name, *ike;
} seeds[] = {
	{ "sa-init-curve25519", "aes128gcm16-prfsha256-curve25519" },
	{ "sa-init-ecp256-cbc", "aes128-sha256-prfsha256-ecp256" },
	{ "sa-init-modp2048", "aes128-sha256-prfsha256-modp2048" },
	{ "sa-init-invalid-ke", "aes256gcm16-prfsha256-ecp256-curve25519" },
	{ "sa-init-no-proposal", "aes192-sha384-prfsha384-ecp384" },
	{ "sa-init-many", "aes128gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-"
			  "curve25519-ecp256-ecp384-modp2048-modp3072" },
};

static gboolean
swallow(gpointer data, Packet *p)
{
	return FALSE;
}

static gboolean
drop_to_a(gpointer data, Packet *p)
{
	return p->to != &((Net *)data)->a;
}

static void
write_first(Net *net, const char *dir, const char *name, gboolean with_cookie)
{
	for (guint i = 0; i < net->trace->len; i++) {
		Packet *p = g_ptr_array_index(net->trace, i);
		g_autoptr(IkeMsg) msg = NULL;
		g_autoptr(GError) error = NULL;

		if (p->to != &net->b || ike_msg_decode(p->data, &msg, NULL) != IKE_PARSE_OK ||
		    (with_cookie && !ike_msg_find_notify(msg, IKE_NOTIFY_COOKIE)))
			continue;
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (!g_file_set_contents(path, g_bytes_get_data(p->data, NULL),
					 g_bytes_get_size(p->data), &error)) {
			fprintf(stderr, "%s\n", error->message);
			exit(1);
		}
		printf("%s\n", path);
		return;
	}
	fprintf(stderr, "%s: no such message\n", name);
	exit(1);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	harness_init();
	for (gsize i = 0; i < G_N_ELEMENTS(seeds); i++) {
		Net *net = net_new(90 + (guint32)i);
		g_autoptr(ConnConfig) ca =
			net_conn(&net->a, &net->b, seeds[i].ike, "aes128gcm16", NULL, NULL);

		net->filter = swallow;
		ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
		net_flush(net);
		write_first(net, argv[1], seeds[i].name, FALSE);
		net_free(net);
	}
	/* a responder under load answers with a cookie; the retry carries it */
	IkeEngineConfig cfg = { .cookie_threshold = 1 };
	Net *net = net_new_with_config(99, &cfg);
	g_autoptr(ConnConfig) ca = net_conn(&net->a, &net->b, seeds[0].ike, "aes128gcm16", NULL, NULL);
	g_autoptr(ConnConfig) cb = net_conn(&net->b, &net->a, seeds[0].ike, "aes128gcm16", NULL, NULL);
	ike_engine_add_conn(net->b.engine, cb);
	net->filter = drop_to_a; /* the first stays half-open */
	net->filter_data = net;
	for (int i = 0; i < 2; i++) {
		ike_engine_initiate(net->a.engine, ca, NULL, net->now, NULL);
		net_flush(net);
		net->filter = NULL;
	}
	write_first(net, argv[1], "sa-init-cookie", TRUE);
	net_free(net);
	harness_fini();
	return 0;
}
