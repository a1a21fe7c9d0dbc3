#!/bin/bash
# The Debian package as a packager would check it: it builds from the committed tree,
# lintian finds no error, it holds what a system needs, and the packaged daemon starts
# with the packaged plugins.
set -euo pipefail
top=${VPND_SOURCE_ROOT:?}
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

"$top/scripts/build-deb"
deb=$(ls "$top"/build-deb/vpnd_*.deb)
dpkg-deb -c "$deb" | awk '{print $6}' >"$work/contents"
for f in ./usr/sbin/vpnd ./usr/bin/vpnctl ./lib/systemd/system/vpnd.service ./etc/vpnd/vpnd.conf \
	./usr/share/dbus-1/system.d/org.vpnd1.conf ./usr/share/dbus-1/system-services/org.vpnd1.service \
	./usr/share/man/man1/vpnctl.1.gz ./usr/share/bash-completion/completions/vpnctl \
	./usr/share/man/man8/vpnd.8.gz ./usr/share/man/man5/vpnd.conf.5.gz \
	./usr/share/doc/vpnd/copyright; do
	grep -qx "$f" "$work/contents" || fail "package lacks $f"
done
plugindir=$(grep -o '^\./usr/lib/[^/]*/vpnd/plugins/$' "$work/contents") ||
	fail "package has no plugin directory"
for plugin in crypto-gnutls crypto-openssl crypto-sodium; do
	grep -qx "${plugindir}$plugin.so" "$work/contents" || fail "no $plugin plugin"
done
dpkg-deb -f "$deb" Depends | grep -q adduser || fail "postinst needs adduser in Depends"
dpkg-deb -e "$deb" "$work/control"
grep -q "addgroup --system --quiet vpnd" "$work/control/postinst" || fail "postinst adds no vpnd group"

# The packaged binary with the packaged plugins, unpacked into a scratch root.
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/sbin/vpnd" --version | grep -qx "vpnd $(dpkg-deb -f "$deb" Version)" ||
	fail "vpnd --version does not match the package version"
cat >"$work/vpnd.conf" <<CONF
plugins {
	dir = $work/root/${plugindir#./}
}
vici {
	socket = unix://$work/vici
}
dbus {
	enable = no
}
CONF
"$work/root/usr/sbin/vpnd" --config "$work/vpnd.conf" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do
	grep -q "running, plugins:" "$work/log" && break
	sleep 0.1
done
grep -q "running, plugins: auth-psk crypto-gnutls crypto-openssl crypto-sodium" "$work/log" ||
	{ cat "$work/log" >&2; fail "packaged vpnd did not start with its plugins"; }
kill -TERM "$pid"
wait "$pid" || fail "vpnd exited with $? on SIGTERM"
pid=
echo "ok: $(basename "$deb") builds, passes lintian and runs"
