/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the IKEv2 decoder (daemon/ike/ike_msg_parse.c).
 *
 * Each input is a datagram as net/ hands it to the engine. It is decoded; the SK (or
 * SKF) data is then parsed as if it were the decrypted plaintext, the rule tables are
 * checked, and what decodes is built again: a build must decode, and building that
 * again must give the same bytes. The input is also fed to ike_payloads_parse() as a
 * plaintext whose first byte names the first payload. See README.md.
 */
#include "ike/ike_msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
check_rebuild(IkeMsg *msg)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GByteArray) again = g_byte_array_new();
	g_autoptr(IkeMsg) decoded = NULL;

	if (!ike_msg_build(msg, out))
		return;
	if (ike_msg_decode_data(out->data, out->len, &decoded, NULL) != IKE_PARSE_OK)
		abort(); /* we built something we cannot read */
	if (!ike_msg_build(decoded, again) || again->len != out->len ||
	    memcmp(again->data, out->data, out->len) != 0)
		abort(); /* build(decode(build(x))) != build(x) */
}

static void
fuzz_datagram(const uint8_t *data, size_t size)
{
	g_autoptr(IkeMsg) msg = NULL;
	IkeParseDetail detail;
	IkePayload *sk;
	guint16 notify;

	if (ike_msg_decode_data(data, size, &msg, &detail) != IKE_PARSE_OK)
		return;
	sk = ike_msg_find(msg, IKE_PAYLOAD_SK);
	if (!sk)
		sk = ike_msg_find(msg, IKE_PAYLOAD_SKF);
	if (sk) {
		gsize len;
		const guint8 *plain = ike_payload_get_data(sk, &len);

		ike_payloads_parse(sk->sk.first_type, plain, len, msg, NULL);
	}
	ike_msg_check_rules(msg, &notify, NULL);
	check_rebuild(msg);
}

static void
fuzz_plaintext(const uint8_t *data, size_t size)
{
	static const IkeHeader header = {.major_version = 2,
	                                 .exchange = IKE_EXCHANGE_INFORMATIONAL};
	g_autoptr(IkeMsg) msg = ike_msg_new(&header);
	g_autoptr(GByteArray) out = g_byte_array_new();
	guint8 first;

	if (size < 1)
		return;
	if (ike_payloads_parse(data[0], data + 1, size - 1, msg, NULL) != IKE_PARSE_OK)
		return;
	ike_msg_build_inner(msg, out, &first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((visibility("default"))) int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_datagram(data, size);
	fuzz_plaintext(data, size);
	return 0;
}
