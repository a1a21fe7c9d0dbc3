# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/vm/lib.sh: what the VM suite scripts share (sourced, runs inside the VM).

# vm_netns_pair A B: namespaces A and B joined by a veth pair (va in A, vb in B).
# Side N (A: 1, B: 2) has 192.0.2.N/24, 192.0.2.1N/24 and 2001:db8::N/64 on its veth,
# a dummy dA/dB with 10.N.0.1/24 and fd00:N::1/64, and routes to the other side's inner
# subnets through the veth, sourced from its own inner addresses. (one ip -batch per
# namespace: every exec costs 50-100 ms under TCG)
vm_netns_pair() {
	ip -batch - <<-EOF || return 1
		netns add $1
		netns add $2
		link add va netns $1 type veth peer name vb netns $2
	EOF
	vm_side 1 2 a A | ip -n "$1" -batch - || return 1
	vm_side 2 1 b B | ip -n "$2" -batch - || return 1
}

# vm_side N M V D: the ip -batch lines of side N (peer M, veth vV, dummy dD)
vm_side() {
	cat <<-EOF
		addr add 192.0.2.$1/24 dev v$3
		addr add 192.0.2.1$1/24 dev v$3
		addr add 2001:db8::$1/64 dev v$3 nodad
		link add d$4 type dummy
		addr add 10.$1.0.1/24 dev d$4
		addr add fd00:$1::1/64 dev d$4 nodad
		link set lo up
		link set v$3 up
		link set d$4 up
		route add 10.$2.0.0/24 via 192.0.2.$2 src 10.$1.0.1
		route add fd00:$2::/64 via 2001:db8::$2 src fd00:$1::1
	EOF
}

# nap SECONDS: sleep without an exec (needs the FIFO $R/nap)
nap() { read -rt "$1" _ <> "$R/nap" || :; }

# lines_matching FILE REGEX: how many lines of FILE match
lines_matching() {
	local line n=0
	while IFS= read -r line; do [[ $line =~ $2 ]] && n=$((n + 1)); done < "$1"
	echo $n
}

# vm_strongswan_conf DIR: DIR/strongswan.conf for a charon with the kernel-netlink
# backend, its log in DIR/charon.log (ms timestamps) and its VICI socket at DIR/vici;
# swanctl with STRONGSWAN_CONF pointing there loads only the plugins it needs.
vm_strongswan_conf() {
	mkdir -p "$1"
	cat > "$1/strongswan.conf" <<-EOF
		charon {
			load_modular = no
			load = random nonce openssl pem pkcs1 x509 pubkey kdf vici socket-default kernel-netlink
			dos_protection = no
			install_routes = no
			retransmit_tries = 3
			syslog {
				daemon {
					default = -1
				}
			}
			filelog {
				main {
					path = $1/charon.log
					time_format = %H:%M:%S
					time_add_ms = yes
					flush_line = yes
					default = 0
					ike = 1
				}
			}
			plugins {
				vici {
					socket = unix://$1/vici
				}
			}
		}
		swanctl {
			load = pem pkcs1 x509 pubkey openssl random
		}
	EOF
}
