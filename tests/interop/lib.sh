# shellcheck shell=bash
# tests/interop/lib.sh: a strongSwan peer for interop tests and benchmarks.
#
# Source it from a bash script that runs as root, then:
#
#   interop_init                      # state dir, cleanup trap (EXIT, INT, TERM)
#   interop_netns_pair A B            # two namespaces joined by a veth pair
#   interop_charon_start A CONF       # Debian's charon in A, configured by CONF
#   interop_swanctl A --initiate --child tun --timeout 20
#   interop_wait_sa A tun 20          # IKE_SA ESTABLISHED and CHILD_SA INSTALLED
#   interop_ping A 10.2.0.1           # one ping from A's inner address
#   interop_charon_stop A
#
# Addresses: A has 192.0.2.1/24 on its veth and 10.1.0.1/24 on a local device
# (its inner subnet 10.1.0.0/24); B has 192.0.2.2/24 and 10.2.0.1/24. Traffic goes
# only to these addresses, inside namespaces this library created.
#
# Each charon runs in its namespace inside a private mount namespace with its own
# tmpfs /run (charon's pid file /var/run/charon.pid is fixed), its own strongswan.conf
# (STRONGSWAN_CONF) and its own VICI socket in the state dir. The data plane is
# kernel-libipsec (this kernel has no ESP): userspace ESP on a TUN device, always in
# UDP 4500. See README.md for why each setting is there.
#
# Cleanup kills only the PIDs this library started (or was given with
# interop_track_pid) and deletes only the namespaces it created; it runs on every exit.

INTEROP_CHARON=${INTEROP_CHARON:-/usr/lib/ipsec/charon}
INTEROP_SWANCTL=${INTEROP_SWANCTL:-swanctl}
INTEROP_PSK=${INTEROP_PSK:-vpnd-interop-test-psk-not-a-secret-0123}

declare -g INTEROP_DIR=
declare -ga INTEROP_NETNS=()       # namespaces we created, deleted at cleanup
declare -ga INTEROP_PIDS=()        # processes we started, killed at cleanup
declare -ga INTEROP_CLEANUP_HOOKS=() # commands run first at cleanup
declare -gA INTEROP_CHARON_PID=()  # NS -> pid of its charon
declare -gA INTEROP_VPND_PID=()    # NS -> pid of its vpnd
declare -gA INTEROP_ADDR=()        # NS -> outer address
declare -gA INTEROP_INNER=()       # NS -> inner address
declare -gA INTEROP_SUBNET=()      # NS -> inner subnet

interop_log() { echo "# interop: $*" >&2; }

# Prints MSG, the charon logs of every namespace and exits 1 (cleanup follows).
interop_fail() {
	echo "interop: FAIL: $*" >&2
	local ns
	for ns in "${!INTEROP_VPND_PID[@]}"; do
		echo "----- vpnd log of $ns (last 40 lines) -----" >&2
		tail -n 40 "$INTEROP_DIR/$ns/vpnd.log" >&2
	done
	for ns in "${!INTEROP_CHARON_PID[@]}"; do
		[ -f "$INTEROP_DIR/$ns/charon.log" ] || continue
		echo "----- charon log of $ns (last 40 lines) -----" >&2
		tail -n 40 "$INTEROP_DIR/$ns/charon.log" >&2
		if [ -s "$INTEROP_DIR/$ns/charon.stderr" ]; then
			echo "----- charon stderr of $ns -----" >&2
			tail -n 20 "$INTEROP_DIR/$ns/charon.stderr" >&2
		fi
	done
	exit 1
}

# Exits 77 (skip) unless root and the tools are there; not root is the only skip
# meant to happen: CI runs as root with scripts/install-deps done.
interop_require() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP interop tests need root (network namespaces)"
		exit 77
	fi
	local tool
	for tool in "$INTEROP_CHARON" ip unshare mount ping "$(command -v "$INTEROP_SWANCTL" || echo swanctl)" "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "interop: missing $tool: run scripts/install-deps" >&2
			exit 1
		fi
	done
	local p
	for p in kernel-libipsec kernel-netlink openssl vici socket-default; do
		[ -e "/usr/lib/ipsec/plugins/libstrongswan-$p.so" ] ||
			{ echo "interop: charon plugin $p missing: run scripts/install-deps" >&2; exit 1; }
	done
}

interop_init() {
	INTEROP_DIR=$(mktemp -d /tmp/vpnd-interop.XXXXXX)
	chmod 755 "$INTEROP_DIR"
	trap interop_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Registers a process started by the caller, so cleanup kills it.
interop_track_pid() { INTEROP_PIDS+=("$1"); }

# True while PID runs (a zombie, dead but not yet reaped, does not count).
interop_pid_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# kill PID and wait for it, at most about 5 s, then SIGKILL.
interop_kill_pid() {
	local pid=$1 _
	if interop_pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 1 50); do
			interop_pid_alive "$pid" || break
			sleep 0.1
		done
		if interop_pid_alive "$pid"; then
			interop_log "pid $pid ignored SIGTERM, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# Stops what this library started and deletes what it created; safe to call twice.
interop_teardown() {
	local hook pid ns
	for hook in "${INTEROP_CLEANUP_HOOKS[@]}"; do
		eval "$hook" || true
	done
	INTEROP_CLEANUP_HOOKS=()
	for ns in "${!INTEROP_CHARON_PID[@]}"; do
		interop_charon_stop "$ns"
	done
	for ns in "${!INTEROP_VPND_PID[@]}"; do
		interop_vpnd_stop "$ns"
	done
	for pid in "${INTEROP_PIDS[@]}"; do
		interop_kill_pid "$pid"
	done
	INTEROP_PIDS=()
	for ns in "${INTEROP_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	INTEROP_NETNS=()
}

# The EXIT trap: teardown, then remove the state dir (kept on failure when
# INTEROP_KEEP_ON_FAIL is set), keeping the exit status.
interop_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	interop_teardown
	if [ -n "$INTEROP_DIR" ] && [ -d "$INTEROP_DIR" ]; then
		if [ "$rc" -ne 0 ] && [ -n "${INTEROP_KEEP_ON_FAIL:-}" ]; then
			interop_log "kept $INTEROP_DIR"
		else
			rm -rf "$INTEROP_DIR"
		fi
	fi
	exit "$rc"
}

# interop_netns_pair NAME_A NAME_B: creates both namespaces, a veth pair between
# them (192.0.2.1/24 in A, 192.0.2.2/24 in B), a local device with the inner address
# (10.1.0.1/24 in A, 10.2.0.1/24 in B), lo up and IPv6 off.
interop_netns_pair() {
	local a=$1 b=$2 ns
	for ns in "$a" "$b"; do
		if ip netns list | grep -qw -- "$ns"; then
			interop_fail "network namespace $ns exists already"
		fi
		ip netns add "$ns" || interop_fail "ip netns add $ns"
		INTEROP_NETNS+=("$ns")
		mkdir -p "$INTEROP_DIR/$ns"
	done
	INTEROP_ADDR[$a]=192.0.2.1 INTEROP_INNER[$a]=10.1.0.1 INTEROP_SUBNET[$a]=10.1.0.0/24
	INTEROP_ADDR[$b]=192.0.2.2 INTEROP_INNER[$b]=10.2.0.1 INTEROP_SUBNET[$b]=10.2.0.0/24
	# created directly inside the namespaces: no name clash with the host's devices
	ip link add veth0 netns "$a" type veth peer name veth0 netns "$b" ||
		interop_fail "cannot create the veth pair"
	for ns in "$a" "$b"; do
		# IPv6 off before any device is up: no link-local address on the TUN device,
		# hence no address event that would make charon send a MOBIKE update
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 || interop_fail "sysctl in $ns"
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "${INTEROP_ADDR[$ns]}/24" dev veth0
		ip -n "$ns" link set veth0 up
		# the inner address sits on one end of a veth pair that stays inside the
		# namespace (this kernel has no dummy device)
		ip -n "$ns" link add inner0 type veth peer name inner1 ||
			interop_fail "cannot create the inner device in $ns"
		ip -n "$ns" addr add "${INTEROP_INNER[$ns]}/24" dev inner0
		ip -n "$ns" link set inner1 up
		ip -n "$ns" link set inner0 up
	done
	local _
	for _ in $(seq 1 20); do
		ip netns exec "$a" ping -c 1 -W 1 -q "${INTEROP_ADDR[$b]}" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	interop_fail "veth between $a and $b does not carry a ping"
}

# The VICI URI of NS's charon.
interop_vici_uri() { echo "unix://$INTEROP_DIR/$1/charon.vici"; }

# Writes NS's strongswan.conf: a fixed plugin list (kernel-libipsec before
# kernel-netlink), DoS protection off, a file log, the VICI socket in the state dir.
interop_write_strongswan_conf() {
	local ns=$1 dir=$INTEROP_DIR/$1
	cat >"$dir/strongswan.conf" <<EOF
charon {
	load_modular = no
	load = random nonce openssl pem pkcs1 x509 pubkey kdf vici socket-default kernel-libipsec kernel-netlink
	dos_protection = no
	install_virtual_ip = no
	retransmit_tries = 3
	${INTEROP_CHARON_SETTINGS:-}
	syslog {
		daemon {
			default = -1
		}
	}
	filelog {
		main {
			path = $dir/charon.log
			time_format = %H:%M:%S
			time_add_ms = yes
			flush_line = yes
			ike_name = yes
			default = ${INTEROP_LOGLEVEL:-1}
		}
	}
	plugins {
		vici {
			socket = $(interop_vici_uri "$ns")
		}
	}
}
swanctl {
	load = pem pkcs1 x509 pubkey openssl random
}
EOF
}

# interop_charon_start NS CONF: starts charon in NS, waits for its VICI socket and
# loads CONF (swanctl.conf syntax) with swanctl --load-all.
interop_charon_start() {
	local ns=$1 conf=$2 dir=$INTEROP_DIR/$1 pid _
	[ -z "${INTEROP_CHARON_PID[$ns]:-}" ] || interop_fail "charon already runs in $ns"
	mkdir -p "$dir/swanctl"
	cp "$conf" "$dir/swanctl/swanctl.conf"
	interop_write_strongswan_conf "$ns"
	# ip netns exec, unshare and sh all exec: $! ends up being charon itself (or
	# INTEROP_CHARON_WRAP, a command line put in front of it: valgrind for benchmarks)
	# shellcheck disable=SC2016,SC2086 # "$@" is for that sh; the wrapper splits
	STRONGSWAN_CONF=$dir/strongswan.conf \
		ip netns exec "$ns" unshare --mount --propagation private -- \
		sh -c 'mount -t tmpfs -o size=4m,mode=755 vpnd-interop-run /run && exec "$@"' \
		sh ${INTEROP_CHARON_WRAP:-} "$INTEROP_CHARON" </dev/null >"$dir/charon.stderr" 2>&1 &
	pid=$!
	INTEROP_CHARON_PID[$ns]=$pid
	echo "$pid" >"$dir/charon.pid"
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || interop_fail "charon in $ns exited at start"
		if [ -S "$dir/charon.vici" ] &&
			interop_swanctl "$ns" --version --daemon >/dev/null 2>&1; then
			break
		fi
		sleep 0.1
	done
	[ -S "$dir/charon.vici" ] || interop_fail "charon in $ns: no VICI socket after 10 s"
	[ -n "${INTEROP_CHARON_WRAP:-}" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = charon ] ||
		interop_fail "pid $pid in $ns is not charon"
	interop_swanctl "$ns" --load-all --file "$dir/swanctl/swanctl.conf" \
		>"$dir/load-all.out" 2>&1 ||
		{ cat "$dir/load-all.out" >&2; interop_fail "swanctl --load-all in $ns"; }
}

# interop_swanctl NS ARGS…: swanctl against NS's charon (runs in the host's
# namespaces: the socket is a file in the state dir).
interop_swanctl() {
	local ns=$1
	shift
	STRONGSWAN_CONF=$INTEROP_DIR/$ns/strongswan.conf \
		"$INTEROP_SWANCTL" "$@" --uri "$(interop_vici_uri "$ns")"
}

# PID of NS's charon (empty when none).
interop_charon_pid() { echo "${INTEROP_CHARON_PID[$1]:-}"; }

interop_charon_stop() {
	local ns=$1 pid=${INTEROP_CHARON_PID[$1]:-}
	[ -n "$pid" ] || return 0
	interop_kill_pid "$pid"
	unset "INTEROP_CHARON_PID[$ns]"
}

# interop_wait_sa NS CHILD TIMEOUT: waits until NS lists an ESTABLISHED IKE_SA with
# CHILD INSTALLED; fails after TIMEOUT seconds.
interop_wait_sa() {
	local ns=$1 child=$2 timeout=$3 out='' deadline=$((SECONDS + $3)) _
	for _ in $(seq 1 $((timeout * 5))); do
		[ "$SECONDS" -le "$deadline" ] || break
		out=$(interop_swanctl "$ns" --list-sas 2>/dev/null) || true
		if grep -q ESTABLISHED <<<"$out" &&
			grep -Eq "^ +$child: #[0-9]+, reqid [0-9]+, INSTALLED" <<<"$out"; then
			return 0
		fi
		sleep 0.2
	done
	echo "$out" >&2
	interop_fail "$ns: CHILD_SA $child not INSTALLED after $timeout s"
}

# interop_ping NS DST [COUNT]: pings DST from NS's inner address.
interop_ping() {
	local ns=$1 dst=$2 count=${3:-3}
	ip netns exec "$ns" ping -c "$count" -i 0.2 -W 2 -q -I "${INTEROP_INNER[$ns]}" "$dst"
}

# interop_site_conf LOCAL_NS REMOTE_NS [IKE_PROPOSALS [ESP_PROPOSALS]]: prints a
# swanctl.conf for a site-to-site PSK tunnel between the inner subnets: connection
# and child both named `tun`, identities NS.vpnd.test.
interop_site_conf() {
	local l=$1 r=$2 ike=${3:-aes256gcm16-prfsha256-curve25519} esp=${4:-aes256gcm16}
	cat <<EOF
connections {
	tun {
		version = 2
		local_addrs = ${INTEROP_ADDR[$l]}
		remote_addrs = ${INTEROP_ADDR[$r]}
		proposals = $ike
		dpd_delay = 0
		local {
			auth = psk
			id = $l.vpnd.test
		}
		remote {
			auth = psk
			id = $r.vpnd.test
		}
		children {
			tun {
				local_ts = ${INTEROP_SUBNET[$l]}
				remote_ts = ${INTEROP_SUBNET[$r]}
				esp_proposals = $esp
				mode = tunnel
				start_action = none
			}
		}
	}
}
secrets {
	ike-tun {
		id-l = $l.vpnd.test
		id-r = $r.vpnd.test
		secret = "$INTEROP_PSK"
	}
}
EOF
}

# interop_normalize_sas NS_A NS_B: filters swanctl --list-sas output (stdin) to what
# stays the same from run to run: namespace names become A and B; SPIs, times and
# counters become placeholders. Scenarios keep the expected result in expected/.
interop_normalize_sas() {
	sed -E -e "s/$1/A/g" -e "s/$2/B/g" \
		-e 's/[0-9a-f]{16}_i/SPI_i/; s/[0-9a-f]{16}_r/SPI_r/' \
		-e 's/[0-9]+s ago/Ns ago/g; s/(rekeying|expires) in [0-9]+s/\1 in Ns/g' \
		-e 's/^( +(in|out) +)[0-9a-f]{8}, +[0-9]+ bytes, +[0-9]+ packets.*/\1SPI, N bytes, N packets/'
}

# ---- vpnd as the peer ----
#
# INTEROP_VPND (the vpnd program) and INTEROP_VPND_PLUGINS (its plugin folder) must be
# set. vpnd needs no mount namespace: every path it uses comes from its vpnd.conf.

# interop_vpnd_start NS CONF [SETTINGS]: starts vpnd in NS with CONF (swanctl.conf
# syntax) as the only file of its conf_dir and SETTINGS (vpnd.conf lines) appended to
# its vpnd.conf; waits (<= 5 s) until it runs. Its log: STATE/NS/vpnd.log (appended).
interop_vpnd_start() {
	local ns=$1 conf=$2 extra=${3:-} dir=$INTEROP_DIR/$1 pid _
	[ -z "${INTEROP_VPND_PID[$ns]:-}" ] || interop_fail "vpnd already runs in $ns"
	[ -x "${INTEROP_VPND:-}" ] || interop_fail "INTEROP_VPND (${INTEROP_VPND:-unset}) is no program"
	rm -rf "$dir/conf.d"
	mkdir -p "$dir/conf.d"
	cp "$conf" "$dir/conf.d/site.conf"
	cat >"$dir/vpnd.conf" <<VPNDCONF
plugins {
	dir = ${INTEROP_VPND_PLUGINS:?}
	load = ${INTEROP_VPND_LOAD:-crypto-gnutls kernel-tun auth-psk}
}
vici {
	socket = unix://$dir/vpnd.vici
}
dbus {
	enable = no
}
log {
	default = ${INTEROP_VPND_LOGLEVEL:-info}
}
conf_dir = $dir/conf.d
$extra
VPNDCONF
	: >"$dir/vpnd.log"
	# shellcheck disable=SC2086 # INTEROP_VPND_WRAP: a command line (valgrind for benchmarks)
	ip netns exec "$ns" ${INTEROP_VPND_WRAP:-} "$INTEROP_VPND" --config "$dir/vpnd.conf" \
		</dev/null >"$dir/vpnd.log" 2>&1 &
	pid=$!
	INTEROP_VPND_PID[$ns]=$pid
	for _ in $(seq 1 100); do
		interop_pid_alive "$pid" || interop_fail "vpnd in $ns exited at start"
		if grep -q "vpnd .* running" "$dir/vpnd.log"; then
			# a plugin asked for and refused would make the run test something else
			! grep -m1 'plugin ".*" refused' "$dir/vpnd.log" >&2 ||
				interop_fail "vpnd in $ns refused a plugin of: ${INTEROP_VPND_LOAD:-the default list}"
			return 0
		fi
		sleep 0.05
	done
	interop_fail "vpnd in $ns: not running after 5 s"
}

interop_vpnd_pid() { echo "${INTEROP_VPND_PID[$1]:-}"; }

# interop_vpnd_stop NS: SIGCONT (in case it was frozen), SIGTERM (vpnd sends a Delete
# for each IKE SA), and waits for it to exit.
interop_vpnd_stop() {
	local ns=$1 pid=${INTEROP_VPND_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -CONT "$pid" 2>/dev/null || true
	interop_kill_pid "$pid"
	unset "INTEROP_VPND_PID[$ns]"
}

# interop_vpnd_wait_log NS PATTERN SECONDS: waits until vpnd's log in NS has a line
# matching PATTERN (grep -E); 1 when none after SECONDS.
interop_vpnd_wait_log() {
	local ns=$1 pattern=$2 _
	for _ in $(seq 1 $(($3 * 20))); do
		grep -Eq -- "$pattern" "$INTEROP_DIR/$ns/vpnd.log" && return 0
		sleep 0.05
	done
	return 1
}
