#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vpnctl's help, completion and manual agree: every command `vpnctl --help` lists has
# its own --help (exit 0, a usage line naming it); the bash completion offers exactly
# those commands and, for each, exactly the long options its --help shows; vpnctl(1)
# describes every command and every option. No daemon, no bus, no root.
set -u

BUILD=${VPND_BUILD_ROOT:?}
SRC=${VPND_SOURCE_ROOT:?}
VPNCTL=$BUILD/cli/vpnctl
COMPLETION=$SRC/cli/completion/vpnctl
MAN=$SRC/docs/vpnctl.1
FAILED=0
N=0

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); echo "not ok $N - $1"; shift; for l in "$@"; do echo "#   $l"; done; FAILED=1; }

# complete WORD...: what the completion offers for the command line "vpnctl WORD..."
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=(vpnctl "$@"); COMP_CWORD=$#; _vpnctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@" | sort
}

# Everything the manual says, with roff's escaped hyphens made plain.
man_text=$(sed 's/\\-/-/g' "$MAN")

commands=$("$VPNCTL" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }')
[ -n "$commands" ] || { echo "Bail out! vpnctl --help lists no commands"; exit 1; }

offered=$(complete_words "")
if [ "$offered" = "$(sort <<<"$commands")" ]; then
	ok "the completion offers the commands vpnctl --help lists"
else
	not_ok "the completion offers the commands vpnctl --help lists" "help: $commands" "completion: $offered"
fi

for cmd in $commands; do
	help=$("$VPNCTL" "$cmd" --help 2>&1)
	rc=$?
	if [ "$rc" = 0 ] && grep -q "^  vpnctl \[OPTION…\] $cmd\b" <<<"$help"; then
		ok "vpnctl $cmd --help"
	else
		not_ok "vpnctl $cmd --help (exit $rc)" "$help"
		continue
	fi
	options=$(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u)
	offered=$(complete_words "$cmd" "--")
	if [ "$options" = "$offered" ]; then
		ok "the completion offers $cmd's options: $(echo $options)"
	else
		not_ok "the completion offers $cmd's options" "help: $(echo $options)" "completion: $(echo $offered)"
	fi
	missing=
	grep -Eq "^\.B[IR]? \"?$cmd\b" <<<"$man_text" || missing="the command"
	for opt in $options; do
		grep -q -- "$opt" <<<"$man_text" || missing="$missing $opt"
	done
	if [ -z "$missing" ]; then
		ok "vpnctl(1) describes $cmd and its options"
	else
		not_ok "vpnctl(1) describes $cmd and its options" "missing:$missing"
	fi
done

echo "1..$N"
exit "$FAILED"
