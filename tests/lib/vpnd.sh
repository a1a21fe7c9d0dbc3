# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# tests/lib/vpnd.sh: running vpnd in the namespaces of tests/lib/netns.sh (source that
# first: it has start_vpnd, wait_log and stop_vpnd; VPND and PLUGINS must be set). Logs go to $TMP/NAME.log.

# vpnd_conf NAME [LOG_LINES]: $TMP/NAME/vpnd.conf with kernel-tun, a VICI socket of its
# own, no D-Bus, conf_dir $TMP/NAME/conf.d; LOG_LINES go into its log { } section
vpnd_conf() {
	local dir=$TMP/$1
	mkdir -p "$dir/conf.d"
	cat >"$dir/vpnd.conf" <<CONF
plugins {
	dir = $PLUGINS
	load = crypto-gnutls kernel-tun auth-psk
}
vici {
	socket = unix://$dir/vici
}
dbus {
	enable = no
}
log {
	default = info
	${2:-}
}
conf_dir = $dir/conf.d
CONF
}

# vpnd_secrets: the pre-shared key of b.example.org, for both ends
vpnd_secrets() {
	cat <<CONF
secrets {
	ike-b {
		id = b.example.org
		secret = "a throwaway test key, not a real one"
	}
}
CONF
}

# vpnd_gateway NAME [SETTINGS]: NAME as the gateway 192.0.2.2 (b.example.org) for any
# identity of 192.0.2.1: connection gw, child lan 10.2.0.0/16 <-> 10.1.0.0/16, whose
# selectors narrow to what each initiator proposes; SETTINGS go into its vpnd.conf
vpnd_gateway() {
	vpnd_conf "$1"
	{
		cat <<CONF
connections {
	gw {
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		proposals = aes256gcm16-prfsha256-curve25519
		local {
			auth = psk
			id = b.example.org
		}
		remote {
			auth = psk
			id = %any
		}
		children {
			lan {
				local_ts = 10.2.0.0/16
				remote_ts = 10.1.0.0/16
				esp_proposals = aes256gcm16
			}
		}
	}
}
CONF
		vpnd_secrets
	} >"$TMP/$1/conf.d/site.conf"
	echo "${2:-}" >>"$TMP/$1/vpnd.conf"
}
