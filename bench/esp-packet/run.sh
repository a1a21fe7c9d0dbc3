#!/bin/bash
# bench/esp-packet/run.sh BINARY PLUGIN_DIR: the ESP packet path next to the bare crypto.
# First timed medians (noisy on a shared machine), then instructions per packet from
# callgrind (stable whatever the load), each as METRIC VALUE UNIT.
set -euo pipefail
bin=$1 plugins=$2
count=2000

"$bin" "$plugins"

command -v valgrind >/dev/null || { echo "# valgrind missing: no instruction counts"; exit 0; }
# Instructions inside one function (inclusive), over COUNT calls.
instructions() {
	local fn=$1
	shift
	local out
	out=$(mktemp)
	valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$fn" \
		"$bin" "$plugins" "$count" "$@" >/dev/null 2>&1
	awk '/^summary:/ { print $2 }' "$out"
	rm -f "$out"
}
# the TUN offloads per packet: cutting a TSO segment and joining the packets back
for size in 1348; do
	offload=$(instructions "offload_round*" gnutls aes128gcm16 "$size" offload)
	echo "offload_instr_tso_gro_$size $((offload / count)) instr/packet"
done
for backend in gnutls openssl; do
	for suite in aes128gcm16 aes256gcm16 chacha20poly1305 aes128-sha256; do
		for size in 64 1400; do
			esp=$(instructions seal_open "$backend" "$suite" "$size" esp)
			floor=$(instructions bare_crypto "$backend" "$suite" "$size" floor)
			echo "esp_instr_${backend}_${suite}_${size} $((esp / count)) instr/packet"
			echo "floor_instr_${backend}_${suite}_${size} $((floor / count)) instr/packet"
			awk -v e="$esp" -v f="$floor" -v n="esp_instr_vs_floor_${backend}_${suite}_${size}" \
				'BEGIN { printf "%s %.3f ratio\n", n, e / f }'
		done
	done
done
