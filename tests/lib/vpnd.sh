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

