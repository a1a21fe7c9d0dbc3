/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "net_encap.h"

NetEncapKind
net_encap_classify(const guint8 *data, gsize len)
{
	if (len == 1 && data[0] == NET_KEEPALIVE_BYTE)
		return NET_ENCAP_KEEPALIVE;
	if (len < NET_NON_ESP_MARKER_LEN)
		return NET_ENCAP_MALFORMED;
	if (data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 0)
		/* a marker with nothing behind it carries no IKE message */
		return len > NET_NON_ESP_MARKER_LEN ? NET_ENCAP_IKE : NET_ENCAP_MALFORMED;
	return len >= NET_ESP_MIN_LEN ? NET_ENCAP_ESP : NET_ENCAP_MALFORMED;
}

const char *
net_encap_kind_to_string(NetEncapKind kind)
{
	switch (kind) {
	case NET_ENCAP_IKE:
		return "ike";
	case NET_ENCAP_ESP:
		return "esp";
	case NET_ENCAP_KEEPALIVE:
		return "keepalive";
	case NET_ENCAP_MALFORMED:
		return "malformed";
	}
	return "unknown";
}
