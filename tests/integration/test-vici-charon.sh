#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# swanctl --list-sas against vpnd and against charon, for the same tunnel: the same
# keys in the same order (vici.md §4.2), values aside. charon (kernel-libipsec) runs in
# namespace A, vpnd (kernel-tun) in B (tests/interop/lib.sh). First charon initiates,
# then vpnd does (through swanctl --initiate against vpnd); each time the initiator's
# and the responder's list-sa trees are compared with the other daemon's in the same
# role, and what swanctl prints of them (names, addresses, SPIs and times aside); then
# swanctl --list-pols of a start_action = trap connection against each, and
# --install / --uninstall of a child's trap policies against each (on vpnd's side a
# packet then brings the tunnel up).
# Needs root (exit 77 otherwise).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${VPND_BUILD_ROOT:?}
# shellcheck source=tests/interop/lib.sh
. "$here/../interop/lib.sh"

export INTEROP_VPND=$build/daemon/vpnd INTEROP_VPND_PLUGINS=${VPND_PLUGIN_BUILDDIR:-$build/plugins}
interop_require
interop_init
A=vpnd-vca-$$ B=vpnd-vcb-$$
n=0 failed=0

ok() { # DESCRIPTION RESULT
	n=$((n + 1))
	if [ "$2" = 0 ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		failed=1
	fi
}

# swanctl against vpnd in B
vpnd_swanctl() {
	STRONGSWAN_CONF=$INTEROP_DIR/$A/strongswan.conf timeout -s KILL 30 \
		"$INTEROP_SWANCTL" "$@" --uri "unix://$INTEROP_DIR/$B/vpnd.vici"
}

# The keys of a list-sas --raw dump in order, one per line: values, list items, SA
# names and unique ids dropped.
keys_of() {
	sed -E -e 's/=\[[^]]*\]/=[]/g' -e 's/=[^ {}]*/=/g' \
		-e 's/([ {])[A-Za-z0-9_.-]+-[0-9]+ \{/\1CHILD {/g' |
		tr ' ' '\n' | grep -v '^$'
}

# compare WHAT CHARON_DUMP VPND_DUMP
compare() {
	local diff_out
	diff_out=$(diff <(keys_of <"$2") <(keys_of <"$3"))
	if [ -n "$diff_out" ]; then
		echo "# $1: charon (<) and vpnd (>) differ:"
		sed 's/^/#   /' <<<"$diff_out"
		echo "# charon: $(cat "$2")"
		echo "# vpnd:   $(cat "$3")"
		return 1
	fi
}

# swanctl --list-sas as printed, from the side of LOCAL_NS (the other is REMOTE_NS):
# names, addresses and subnets by role, SPIs, ids and times as placeholders
printed_by() { # LOCAL_NS REMOTE_NS LOCAL_DIGIT REMOTE_DIGIT
	sed -E -e "s/$1/LOCAL/g; s/$2/REMOTE/g" \
		-e "s/192\.0\.2\.$3/L_ADDR/g; s/192\.0\.2\.$4/R_ADDR/g" \
		-e "s/10\.$3\.0\.0/L_NET/g; s/10\.$4\.0\.0/R_NET/g" \
		-e 's/#[0-9]+/#N/g; s/reqid [0-9]+/reqid N/' \
		-e 's/[0-9a-f]{16}_i/SPI_i/; s/[0-9a-f]{16}_r/SPI_r/' \
		-e 's/[0-9]+s ago/Ns ago/g; s/(rekeying|expires) in [0-9]+s/\1 in Ns/g' \
		-e 's/^( +(in|out) +)[0-9a-f]{8},/\1SPI,/'
}

# compare_printed WHAT CHARON_TEXT VPND_TEXT (charon in A, vpnd in B)
compare_printed() {
	local diff_out
	diff_out=$(diff <(printed_by "$A" "$B" 1 2 <"$2") <(printed_by "$B" "$A" 2 1 <"$3"))
	[ -z "$diff_out" ] && return 0
	echo "# $1: charon (<) and vpnd (>) print differently:"
	sed 's/^/#   /' <<<"$diff_out"
	return 1
}

interop_netns_pair "$A" "$B"
# charon forces UDP encapsulation as vpnd does with kernel-tun: the same NAT keys
interop_site_conf "$A" "$B" | sed 's/^\t\tdpd_delay = 0$/&\n\t\tencap = yes/' >"$INTEROP_DIR/a.conf"
interop_site_conf "$B" "$A" >"$INTEROP_DIR/b.conf"
interop_charon_start "$A" "$INTEROP_DIR/a.conf"
interop_vpnd_start "$B" "$INTEROP_DIR/b.conf"

# ---- charon initiates ----
interop_swanctl "$A" --initiate --child tun --timeout 10 >"$INTEROP_DIR/init-c.out" 2>&1
ok "charon initiates to vpnd" $?
interop_vpnd_wait_log "$B" "tun: CHILD SA tun up" 5
interop_swanctl "$A" --list-sas --raw >"$INTEROP_DIR/c-init.raw" 2>&1
vpnd_swanctl --list-sas --raw >"$INTEROP_DIR/v-resp.raw" 2>&1
interop_swanctl "$A" --list-sas >"$INTEROP_DIR/c-init.txt" 2>&1
vpnd_swanctl --list-sas >"$INTEROP_DIR/v-resp.txt" 2>&1
interop_swanctl "$A" --terminate --ike tun >/dev/null 2>&1
interop_vpnd_wait_log "$B" "tun: IKE SA [0-9]+ down" 5
ok "charon deletes the IKE SA, vpnd sees it go" $?

# ---- vpnd initiates ----
vpnd_swanctl --initiate --child tun --timeout 10 >"$INTEROP_DIR/init-v.out" 2>&1
ok "vpnd initiates to charon (swanctl --initiate against vpnd)" $?
interop_wait_sa "$A" tun 5
vpnd_swanctl --list-sas --raw >"$INTEROP_DIR/v-init.raw" 2>&1
interop_swanctl "$A" --list-sas --raw >"$INTEROP_DIR/c-resp.raw" 2>&1
vpnd_swanctl --list-sas >"$INTEROP_DIR/v-init.txt" 2>&1
interop_swanctl "$A" --list-sas >"$INTEROP_DIR/c-resp.txt" 2>&1
vpnd_swanctl --terminate --ike tun >/dev/null 2>&1
ok "vpnd terminates" $?

compare "initiator" "$INTEROP_DIR/c-init.raw" "$INTEROP_DIR/v-init.raw"
ok "vpnd as initiator lists the keys charon lists as initiator" $?
compare "responder" "$INTEROP_DIR/c-resp.raw" "$INTEROP_DIR/v-resp.raw"
ok "vpnd as responder lists the keys charon lists as responder" $?
compare_printed "initiator" "$INTEROP_DIR/c-init.txt" "$INTEROP_DIR/v-init.txt"
ok "swanctl --list-sas prints the same for vpnd as for charon (initiator)" $?
compare_printed "responder" "$INTEROP_DIR/c-resp.txt" "$INTEROP_DIR/v-resp.txt"
ok "and for the responder" $?

# ---- trap policies: swanctl --list-pols ----
# each side swaps its connection for one with start_action = trap (--load-all
# unloads what the file does not name)
interop_site_conf "$A" "$B" | sed 's/start_action = none/start_action = trap/; s/\btun\b/trapped/g' \
	>"$INTEROP_DIR/trap-a.conf"
interop_site_conf "$B" "$A" | sed 's/start_action = none/start_action = trap/; s/\btun\b/trapped/g' \
	>"$INTEROP_DIR/trap-b.conf"
interop_swanctl "$A" --load-all --file "$INTEROP_DIR/trap-a.conf" >/dev/null 2>&1 &&
	vpnd_swanctl --load-all --file "$INTEROP_DIR/trap-b.conf" >/dev/null 2>&1
ok "a connection with start_action = trap loads into both" $?
interop_swanctl "$A" --list-pols >"$INTEROP_DIR/c-pols.txt" 2>&1
vpnd_swanctl --list-pols >"$INTEROP_DIR/v-pols.txt" 2>&1
grep -q '^trapped/trapped, TUNNEL$' "$INTEROP_DIR/v-pols.txt" &&
	compare_printed "list-pols" "$INTEROP_DIR/c-pols.txt" "$INTEROP_DIR/v-pols.txt"
ok "swanctl --list-pols prints the trap policy as for charon" $?

# ---- swanctl --install / --uninstall ----
# a connection without start_action (--load-all takes "trapped" and its traps away); its
# child's traps installed by hand on both sides, the same answers from both daemons,
# and on vpnd's side the first packet for the remote subnet brings the tunnel up
interop_site_conf "$A" "$B" | sed 's/^\t\tdpd_delay = 0$/&\n\t\tencap = yes/; s/\btun\b/manual/g' \
	>"$INTEROP_DIR/manual-a.conf"
interop_site_conf "$B" "$A" | sed 's/\btun\b/manual/g' >"$INTEROP_DIR/manual-b.conf"
interop_swanctl "$A" --load-all --file "$INTEROP_DIR/manual-a.conf" >/dev/null 2>&1 &&
	vpnd_swanctl --load-all --file "$INTEROP_DIR/manual-b.conf" >/dev/null 2>&1
ok "a connection without start_action loads into both" $?

# both NAME ARGS...: swanctl ARGS against charon and vpnd; NAME.c and NAME.v hold what
# each printed (stdout and stderr) and its exit status
both() {
	local out=$INTEROP_DIR/$1
	shift
	interop_swanctl "$A" "$@" >"$out.c" 2>&1
	echo "exit $?" >>"$out.c"
	vpnd_swanctl "$@" >"$out.v" 2>&1
	echo "exit $?" >>"$out.v"
}
same() { compare_printed "$1" "$INTEROP_DIR/$1.c" "$INTEROP_DIR/$1.v"; }

both pols-none --list-pols
both install --install --child manual
grep -qx 'install completed successfully' "$INTEROP_DIR/install.v" && same install
ok "swanctl --install --child: vpnd answers as charon" $?
both pols-installed --list-pols
grep -q '^manual/manual, TUNNEL$' "$INTEROP_DIR/pols-installed.v" && same pols-installed
ok "swanctl --list-pols then shows the child's trap policy as for charon" $?
interop_ping "$B" "${INTEROP_INNER[$A]}" 5 >/dev/null
interop_vpnd_wait_log "$B" "manual: CHILD SA manual up" 5
ok "the first packet for the remote subnet hits vpnd's trap and brings the tunnel up" $?
interop_wait_sa "$A" manual 5 && interop_ping "$B" "${INTEROP_INNER[$A]}" 2 >/dev/null
ok "and a ping crosses it" $?
both install-again --install --child manual --ike manual
same install-again
ok "installing it again (by connection and child) is success for both" $?
interop_swanctl "$A" --load-all --file "$INTEROP_DIR/manual-a.conf" >/dev/null 2>&1 &&
	vpnd_swanctl --load-all --file "$INTEROP_DIR/manual-b.conf" >/dev/null 2>&1
both pols-reloaded --list-pols
grep -q '^manual/manual, TUNNEL$' "$INTEROP_DIR/pols-reloaded.v" && same pols-reloaded
ok "the installed trap stays through swanctl --load-all, as on charon" $?
both uninstall --uninstall --child manual
grep -qx 'uninstall completed successfully' "$INTEROP_DIR/uninstall.v" && same uninstall
ok "swanctl --uninstall --child: vpnd answers as charon" $?
both pols-after --list-pols
same pols-after && diff -q "$INTEROP_DIR/pols-none.v" "$INTEROP_DIR/pols-after.v" >/dev/null
ok "no trap policy is listed after it" $?
both uninstall-again --uninstall --child manual
grep -q '^exit 1$' "$INTEROP_DIR/uninstall-again.v" && same uninstall-again
ok "uninstalling what is not installed fails as on charon" $?
both install-unknown --install --child nosuch
grep -q '^exit 1$' "$INTEROP_DIR/install-unknown.v" && same install-unknown
ok "installing an unknown child fails as on charon" $?

# ---- settings vpnd does not know, or cannot honour ----
# a typo: both daemons refuse the connection (vpnd names the key and the closest known
# one) and neither lists it; a setting charon has and vpnd lacks: vpnd refuses it and
# says why, where it would otherwise make another tunnel than the one configured
typo_conf() { # KEY = VALUE line for the connection, for its child
	printf 'connections {\n\ttypo {\n\t\tremote_addrs = 192.0.2.1\n%s\n' "$1"
	printf '\t\tchildren {\n\t\t\tnet {\n\t\t\t\tremote_ts = 10.1.0.0/24\n%s\n' "$2"
	printf '\t\t\t}\n\t\t}\n\t}\n}\n'
}
typo_conf $'\t\trekey_tme = 1h' '' >"$INTEROP_DIR/typo.conf"
both typo --load-conns --file "$INTEROP_DIR/typo.conf"
both typo-list --list-conns
grep -q "^loading connection 'typo' failed: .*rekey_tme: unknown setting (did you mean rekey_time?)" \
	"$INTEROP_DIR/typo.v" && grep -q "^loading connection 'typo' failed" "$INTEROP_DIR/typo.c" &&
	! grep -q '^exit 0$' "$INTEROP_DIR/typo.v" && ! grep -q '^exit 0$' "$INTEROP_DIR/typo.c" &&
	! grep -q '^typo:' "$INTEROP_DIR/typo-list.v" && ! grep -q '^typo:' "$INTEROP_DIR/typo-list.c"
ok "a misspelt setting: charon and vpnd refuse the connection, vpnd names the key" $?
grep "^loading connection" "$INTEROP_DIR/typo.c" "$INTEROP_DIR/typo.v" | sed 's/^/# /'
typo_conf '' $'\t\t\t\tipcomp = yes' >"$INTEROP_DIR/ipcomp.conf"
vpnd_swanctl --load-conns --file "$INTEROP_DIR/ipcomp.conf" >"$INTEROP_DIR/ipcomp.v" 2>&1
rc=$?
[ "$rc" != 0 ] && grep -q "^loading connection 'typo' failed: .*ipcomp: \"yes\" is not supported by vpnd yet (IPComp)" \
	"$INTEROP_DIR/ipcomp.v"
ok "a setting vpnd cannot honour (ipcomp = yes) is refused with the reason" $?
typo_conf $'\t\tunique = replace' $'\t\t\t\tipcomp = no' >"$INTEROP_DIR/ipcomp.conf"
both unique --load-conns --file "$INTEROP_DIR/ipcomp.conf"
both unique-list --list-conns --raw
grep -q '^exit 0$' "$INTEROP_DIR/unique.v" && grep -q 'unique=UNIQUE_REPLACE' "$INTEROP_DIR/unique-list.v" &&
	grep -q 'unique=UNIQUE_REPLACE' "$INTEROP_DIR/unique-list.c"
ok "the same at the value vpnd has (ipcomp = no) loads; unique = replace is listed as by charon" $?

echo "1..$n"
exit "$failed"
