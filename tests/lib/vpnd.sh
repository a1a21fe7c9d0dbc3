# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# tests/lib/vpnd.sh: running vpnd in the namespaces of tests/lib/netns.sh (source that
# first; VPND and PLUGINS must be set). Logs go to $TMP/NAME.log.

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

# start_vpnd NAME NS: vpnd in NS, log in $TMP/NAME.log (appended), pid in pid_NAME
start_vpnd() {
	local name=$1 ns=$2
	ip netns exec "$ns" "$VPND" --config "$TMP/$name/vpnd.conf" \
		>>"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
	eval "pid_$name=$!"
}

# stop_vpnd NAME: SIGTERM, exit 0 within 5 s, no critical or sanitizer report in its log
stop_vpnd() {
	local pid rc
	eval "pid=\$pid_$1"
	kill -TERM "$pid"
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && { echo "vpnd $1 still running"; return 1; }
	wait "$pid"
	rc=$?
	echo "vpnd $1 exited with $rc"
	[ "$rc" = 0 ] && ! grep -Eq 'CRITICAL|Sanitizer|runtime error' "$TMP/$1.log"
}
