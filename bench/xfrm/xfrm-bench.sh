#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ./bench/run xfrm: boots the test VM (tests/vm/run-in-vm.sh: Debian's kernel, which has
# ESP, under QEMU) and runs xfrm-bench-vm.sh inside: vpnd against charon installing and
# removing N child SAs with their policies. XFRM_BENCH_CHILDREN (1000), _RUNS (3).
#   xfrm-bench.sh BUILD_ROOT SOURCE_ROOT
set -euo pipefail
exec "$2/tests/vm/run-in-vm.sh" --timeout "${XFRM_BENCH_TIMEOUT:-3000}" --mem 2048 \
	"$2/bench/xfrm/xfrm-bench-vm.sh" "$1" "$2" "${XFRM_BENCH_CHILDREN:-1000}" \
	"${XFRM_BENCH_RUNS:-3}"
