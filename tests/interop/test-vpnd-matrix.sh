#!/bin/bash
# vpnd <-> strongSwan's charon, the matrix of issue 8 (tests/interop/README.md).
# charon (kernel-libipsec) runs in namespace A for the whole run and is reconfigured
# per cell with swanctl --load-all; vpnd (kernel-tun) runs in namespace B, restarted
# per cell with the cell's conf_dir (a restart costs a few ms, and SIGTERM is how vpnd
# deletes its IKE SA). Each cell runs one direction: "v>c" vpnd initiates
# (start_action = start), "c>v" charon initiates (swanctl --initiate). An established
# cell checks what charon negotiated (swanctl --list-sas), that vpnd logs the child up,
# and that a ping crosses the tunnel both ways; every cell ends with vpnd's SIGTERM and
# checks that charon then holds no IKE SA (vpnd's Delete arrived).
# Usage: test-vpnd-matrix.sh BUILD_DIR [CELL_PATTERN]. TAP; exit 77 when not root.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: $0 BUILD_DIR [CELL_PATTERN]}
only=${2:-}
# shellcheck source=tests/interop/lib.sh
. "$here/lib.sh"

export INTEROP_VPND=$build/daemon/vpnd INTEROP_VPND_PLUGINS=$build/plugins
# charon gives up on a silent peer after about 2 s (DPD cells), and checks liveness
# only where a cell asks for it (dpd_delay)
export INTEROP_CHARON_SETTINGS='retransmit_timeout = 0.3
	retransmit_base = 1.4'
# the same for vpnd: 0.3 + 0.42 + 0.59 + 0.82 s
vpnd_settings='ike {
	retransmit_timeout = 0.3
	retransmit_base = 1.4
	retransmit_tries = 3
}'
interop_require ping
interop_init
A=vpnd-ma-$$ B=vpnd-mb-$$
t0=$SECONDS
interop_netns_pair "$A" "$B"
# a second pair of subnets for a second child SA
ip -n "$A" addr add 10.1.1.1/24 dev inner0
ip -n "$B" addr add 10.2.1.1/24 dev inner0

n=0 failed=0
results=$INTEROP_DIR/results
: >"$results"

# ---- configuration of a cell ----
# IKE ESP: proposals; ID_A ID_B: identities of A (charon) and B (vpnd); START_A START_B:
# start_action of child tun; DPD_A DPD_B: dpd_delay; TUN2: "yes" adds child tun2
# (10.x.1.0/24) with ESP2 (start_action START2_B on vpnd's side).
cell_defaults() {
	IKE=aes256gcm16-prfsha256-curve25519 IKE_A='' IKE_B='' ESP=aes256gcm16
	ID_A=a.vpnd.test ID_B=b.vpnd.test START_A=none START_B=none DPD_A=0 DPD_B=0
	TUN2=no ESP2=aes256gcm16-ecp256 START2_B=none
}

# site_conf SIDE (a or b): the swanctl.conf of that side from the cell variables
site_conf() {
	local me=$1 lid rid l r start dpd ike
	if [ "$me" = a ]; then
		lid=$ID_A rid=$ID_B l=1 r=2 start=$START_A dpd=$DPD_A ike=${IKE_A:-$IKE}
	else
		lid=$ID_B rid=$ID_A l=2 r=1 start=$START_B dpd=$DPD_B ike=${IKE_B:-$IKE}
	fi
	cat <<EOF
connections {
	tun {
		version = 2
		local_addrs = 192.0.2.$l
		remote_addrs = 192.0.2.$r
		proposals = $ike
		dpd_delay = $dpd
		local {
			auth = psk
			id = "$lid"
		}
		remote {
			auth = psk
			id = "$rid"
		}
		children {
			tun {
				local_ts = 10.$l.0.0/24
				remote_ts = 10.$r.0.0/24
				esp_proposals = $ESP
				start_action = $start
			}
EOF
	if [ "$TUN2" = yes ]; then
		cat <<EOF
			tun2 {
				local_ts = 10.$l.1.0/24
				remote_ts = 10.$r.1.0/24
				esp_proposals = $ESP2
				start_action = $([ "$me" = b ] && echo "$START2_B" || echo none)
			}
EOF
	fi
	cat <<EOF
		}
	}
}
secrets {
	ike-tun {
		id-l = "$lid"
		id-r = "$rid"
		secret = "$INTEROP_PSK"
	}
}
EOF
}

charon_mark=0
# Loads the cell's configuration into charon (starting it if it is not running) and
# starts vpnd with its own.
cell_setup() {
	site_conf a >"$INTEROP_DIR/a.conf"
	site_conf b >"$INTEROP_DIR/b.conf"
	if [ -z "$(interop_charon_pid "$A")" ]; then
		interop_charon_start "$A" "$INTEROP_DIR/a.conf"
	else
		interop_swanctl "$A" --load-all --clear --file "$INTEROP_DIR/a.conf" \
			>"$INTEROP_DIR/load-all.out" 2>&1 ||
			{ cat "$INTEROP_DIR/load-all.out" >&2; interop_fail "swanctl --load-all"; }
	fi
	charon_mark=$(wc -l <"$INTEROP_DIR/$A/charon.log")
	interop_vpnd_start "$B" "$INTEROP_DIR/b.conf" "$vpnd_settings"
}

sas() { interop_swanctl "$A" --list-sas 2>/dev/null; }
charon_log() { tail -n +$((charon_mark + 1)) "$INTEROP_DIR/$A/charon.log"; }
# charon_logged REGEX SECONDS: charon logged a line matching REGEX (grep -E) this cell
charon_logged() {
	local _
	for _ in $(seq 1 $(($2 * 10))); do
		charon_log | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

# wait_charon_child CHILD SECONDS: charon lists an ESTABLISHED IKE SA with CHILD INSTALLED
wait_charon_child() {
	local out _
	for _ in $(seq 1 $(($2 * 10))); do
		out=$(sas)
		grep -q ESTABLISHED <<<"$out" &&
			grep -Eq "^ +$1: #[0-9]+, reqid [0-9]+, INSTALLED" <<<"$out" && return 0
		sleep 0.1
	done
	return 1
}

# wait_charon_empty SECONDS: charon holds no IKE SA
wait_charon_empty() {
	local _
	for _ in $(seq 1 $(($1 * 10))); do
		sas | grep -q 'IKEv2' || return 0
		sleep 0.1
	done
	return 1
}

# ping_pair SRC_NS SRC DST: two pings from SRC to DST
ping_pair() {
	ip netns exec "$1" ping -c 2 -i 0.2 -W 2 -q -I "$2" "$3" >/dev/null 2>&1
}

# The checks a cell runs; on failure $why says what went wrong.
why=''
check() { # WHAT COMMAND…
	local what=$1
	shift
	"$@" || { why=$what; return 1; }
}
charon_has() { # REGEX (grep -E) in charon's --list-sas
	sas | grep -Eq -- "$1"
}
one_ike_sa() { [ "$(sas | grep -c ESTABLISHED)" = 1 ]; }
no_child() { ! sas | grep -q "^  *$1:"; }
vpnd_logged() { # REGEX SECONDS
	interop_vpnd_wait_log "$B" "$1" "${2:-5}"
}

# up CHILD: the SA is up on both sides and carries pings both ways
up() {
	local child=${1:-tun} sub=0
	[ "$child" = tun2 ] && sub=1
	check "charon: $child not INSTALLED" wait_charon_child "$child" 10 &&
		check "vpnd: no 'CHILD SA $child up'" vpnd_logged "CHILD SA $child up" 5 &&
		check "ping 10.1.$sub.1 -> 10.2.$sub.1 (charon -> vpnd)" \
			ping_pair "$A" "10.1.$sub.1" "10.2.$sub.1" &&
		check "ping 10.2.$sub.1 -> 10.1.$sub.1 (vpnd -> charon)" \
			ping_pair "$B" "10.2.$sub.1" "10.1.$sub.1"
}

# initiate DIR: who starts the tunnel (v>c: vpnd did at its start)
initiate() {
	[ "$1" = "c>v" ] || return 0
	check "swanctl --initiate failed" \
		interop_swanctl "$A" --initiate --child tun --timeout 10 >/dev/null 2>&1
}

# vpnd's SIGTERM deletes the IKE SA at charon too
vpnd_delete() {
	interop_vpnd_stop "$B"
	check "charon still holds an IKE SA after vpnd's SIGTERM (Delete)" wait_charon_empty 3
}

# Puts both sides back to nothing after a failed cell.
cell_reset() {
	interop_vpnd_stop "$B"
	interop_swanctl "$A" --terminate --ike tun --force --timeout 1 >/dev/null 2>&1 || true
	wait_charon_empty 3 || { interop_charon_stop "$A"; }
}

# run_cell ROW DIR FUNCTION: one matrix cell, one TAP line
run_cell() {
	local row=$1 dir=$2 fn=$3 t=$SECONDS
	if [ -n "$only" ] && ! grep -Eq -- "$only" <<<"$row $dir"; then
		return 0
	fi
	n=$((n + 1))
	why=''
	cell_defaults
	if "$fn" "$dir"; then
		echo "ok $n - $row: $dir ($((SECONDS - t)) s)"
		echo "pass|$row|$dir" >>"$results"
	else
		echo "not ok $n - $row: $dir: $why"
		echo "FAIL|$row|$dir|$why" >>"$results"
		failed=$((failed + 1))
		sas | sed 's/^/#   charon: /'
		charon_log | tail -n 25 | sed 's/^/#   charon log: /'
		tail -n 25 "$INTEROP_DIR/$B/vpnd.log" | sed 's/^/#   vpnd log: /'
		cell_reset
	fi
}

# ---- cells ----

# proposals: IKE $IKE, ESP $ESP; charon must list WANT_IKE and WANT_ESP
proposal_cell() {
	[ "$1" = "v>c" ] && START_B=start
	cell_setup
	initiate "$1" && up &&
		check "charon lists no $WANT_IKE" charon_has "$WANT_IKE" &&
		check "charon lists no $WANT_ESP" charon_has "INSTALLED, TUNNEL-in-UDP, $WANT_ESP" &&
		vpnd_delete
}
p_gcm_x25519() {
	IKE=aes256gcm16-prfsha256-curve25519 ESP=aes256gcm16
	WANT_IKE='AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519$' WANT_ESP='ESP:AES_GCM_16-256$'
	proposal_cell "$1"
}
p_cbc_ecp256() {
	IKE=aes128-sha256-ecp256 ESP=aes128-sha256
	WANT_IKE='AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256$'
	WANT_ESP='ESP:AES_CBC-128/HMAC_SHA2_256_128$'
	proposal_cell "$1"
}
p_cbc_modp3072() {
	IKE=aes256-sha384-modp3072 ESP=aes256gcm16
	WANT_IKE='AES_CBC-256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/MODP_3072$'
	WANT_ESP='ESP:AES_GCM_16-256$'
	proposal_cell "$1"
}
p_chacha() {
	IKE=chacha20poly1305-prfsha256-curve25519 ESP=chacha20poly1305
	WANT_IKE='CHACHA20_POLY1305(-256)?/PRF_HMAC_SHA2_256/CURVE_25519$'
	WANT_ESP='ESP:CHACHA20_POLY1305(-256)?$'
	proposal_cell "$1"
}

# INVALID_KE_PAYLOAD: the initiator's first guess is ECP-256, the responder only takes
# Curve25519 and says so; the retry with Curve25519 succeeds.
invalid_ke() {
	if [ "$1" = "v>c" ]; then
		START_B=start IKE_B=aes256gcm16-prfsha256-ecp256-curve25519
		IKE_A=aes256gcm16-prfsha256-curve25519
	else
		IKE_A=aes256gcm16-prfsha256-ecp256-curve25519
		IKE_B=aes256gcm16-prfsha256-curve25519
	fi
	cell_setup
	initiate "$1" && up &&
		check "charon lists no CURVE_25519 IKE SA" charon_has 'PRF_HMAC_SHA2_256/CURVE_25519$' &&
		if [ "$1" = "v>c" ]; then
			check "charon did not ask for CURVE_25519" \
				charon_logged "DH group ECP_256 unacceptable, requesting CURVE_25519" 1
		else
			check "charon was not asked for CURVE_25519" \
				charon_logged "peer didn.t accept DH group ECP_256, it requested CURVE_25519" 1
		fi && vpnd_delete
}

# A second CHILD_SA on the same IKE SA, created with PFS (ESP aes256gcm16-ecp256: a KE
# in CREATE_CHILD_SA), then charon deletes it and the first child still carries
# traffic; then the IKE SA is deleted by charon (c>v) or by vpnd (v>c).
second_child() {
	TUN2=yes
	[ "$1" = "v>c" ] && START_B=start START2_B=start
	cell_setup
	initiate "$1" && up tun || return 1
	if [ "$1" = "c>v" ]; then
		check "swanctl --initiate --child tun2 failed" \
			interop_swanctl "$A" --initiate --child tun2 --timeout 10 >/dev/null 2>&1 || return 1
	fi
	up tun2 &&
		check "not exactly one IKE SA at charon" one_ike_sa &&
		check "tun2 not ESP:AES_GCM_16-256/ECP_256 (PFS)" \
			charon_has 'INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256/ECP_256$' &&
		check "swanctl --terminate --child tun2 failed" \
			interop_swanctl "$A" --terminate --child tun2 --timeout 5 >/dev/null 2>&1 &&
		check "vpnd: tun2 not deleted by peer" vpnd_logged "CHILD SA tun2 down: deleted by peer" 3 &&
		check "charon still lists tun2" no_child tun2 &&
		check "tun stopped carrying pings after tun2 went" ping_pair "$B" 10.2.0.1 10.1.0.1 || return 1
	if [ "$1" = "c>v" ]; then
		check "swanctl --terminate --ike failed" \
			interop_swanctl "$A" --terminate --ike tun --timeout 5 >/dev/null 2>&1 &&
			check "vpnd: IKE SA not deleted by peer" vpnd_logged "IKE SA [0-9]+ down: deleted by peer" 3 &&
			check "vpnd: tun not down" vpnd_logged "CHILD SA tun down" 1 &&
			interop_vpnd_stop "$B"
	else
		vpnd_delete
	fi
}

# Dead peer detection. v>c: vpnd checks liveness every second (charon answers), then
# charon is killed (no Delete) and vpnd gives up on it. c>v: charon checks liveness
# (vpnd answers), then vpnd is frozen with SIGSTOP and charon gives up on it.
dpd() {
	local pid
	if [ "$1" = "v>c" ]; then
		START_B=start DPD_B=1s
	else
		DPD_A=1s
	fi
	cell_setup
	initiate "$1" && up || return 1
	if [ "$1" = "v>c" ]; then
		check "charon saw no DPD (empty INFORMATIONAL) from vpnd" \
			charon_logged "parsed INFORMATIONAL request [0-9]+ \[ \]" 5 || return 1
		pid=$(interop_charon_pid "$A")
		kill -KILL "$pid"
		interop_charon_stop "$A"
		check "vpnd did not declare charon dead" \
			vpnd_logged "IKE SA [0-9]+ down: peer not responding" 10 &&
			check "vpnd: tun not down" vpnd_logged "CHILD SA tun down" 1 &&
			interop_vpnd_stop "$B"
	else
		check "vpnd answered no DPD" \
			charon_logged "parsed INFORMATIONAL response [0-9]+ \[ \]" 5 || return 1
		pid=$(interop_vpnd_pid "$B")
		kill -STOP "$pid"
		check "charon did not give up on the frozen vpnd" wait_charon_empty 10 &&
			check "charon log lacks giving up" charon_logged "giving up after 3 retransmits" 1
		interop_vpnd_stop "$B"
	fi
}

# Identities of the given type on both sides (PSK), checked in charon's --list-sas.
identity_cell() {
	[ "$1" = "v>c" ] && START_B=start
	cell_setup
	initiate "$1" && up &&
		check "charon: local id is not '$ID_A'" charon_has "^  local  '$ID_A' @ 192.0.2.1" &&
		check "charon: remote id is not '$ID_B'" charon_has "^  remote '$ID_B' @ 192.0.2.2" &&
		vpnd_delete
}
id_fqdn() { ID_A=a.vpnd.test ID_B=b.vpnd.test identity_cell "$1"; }
id_ip() { ID_A=192.0.2.1 ID_B=192.0.2.2 identity_cell "$1"; }
id_email() { ID_A=a@vpnd.test ID_B=b@vpnd.test identity_cell "$1"; }
id_dn() { ID_A='C=CH, O=vpnd, CN=a' ID_B='C=CH, O=vpnd, CN=b' identity_cell "$1"; }

for dir in 'v>c' 'c>v'; do
	run_cell "IKE aes256gcm16-prfsha256-curve25519, ESP aes256gcm16" "$dir" p_gcm_x25519
	run_cell "IKE aes128-sha256-ecp256, ESP aes128-sha256" "$dir" p_cbc_ecp256
	run_cell "IKE aes256-sha384-modp3072, ESP aes256gcm16" "$dir" p_cbc_modp3072
	run_cell "IKE chacha20poly1305-prfsha256-curve25519, ESP chacha20poly1305" "$dir" p_chacha
	run_cell "INVALID_KE_PAYLOAD (ECP-256 guessed, Curve25519 wanted), retry" "$dir" invalid_ke
	run_cell "second CHILD_SA with PFS (aes256gcm16-ecp256), deletes" "$dir" second_child
	run_cell "identity FQDN" "$dir" id_fqdn
	run_cell "identity IP address" "$dir" id_ip
	run_cell "identity email (RFC 822)" "$dir" id_email
	run_cell "identity DN" "$dir" id_dn
	run_cell "DPD (v>c: charon killed; c>v: vpnd SIGSTOPped)" "$dir" dpd
done

echo "# matrix: $((n - failed)) of $n cells pass in $((SECONDS - t0)) s"
sed 's/^/# /' "$results"
echo "1..$n"
[ "$failed" = 0 ]
