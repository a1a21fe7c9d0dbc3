#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-in-vm.sh -- run a command inside a throw-away QEMU VM that boots Debian's
# own kernel (linux-image-amd64: full XFRM/ESP/veth/netns support) and sees the
# host's root filesystem read-only through 9p (writes go to a RAM overlay and
# are discarded).  The command's stdout/stderr stream back to ours and its exit
# status becomes ours.  See tests/vm/README.md.
#
#   run-in-vm.sh [options] [--] COMMAND [ARGS...]   run argv (PATH lookup in the VM)
#   run-in-vm.sh [options] SCRIPT [ARGS...]         a host file; run with bash if not executable
#   run-in-vm.sh [options] -c 'SHELL STRING' [ARGS...]  run a bash snippet ($1.. = ARGS)
#
# Options (environment variable in brackets):
#   --accel auto|kvm|tcg  [XVM_ACCEL=auto] auto: kvm only with a hardware KVM
#                         module (kvm_intel/kvm_amd) and no kvm_pvm, else tcg
#   --machine pc|microvm  [XVM_MACHINE=pc] microvm (virtio-mmio, no PCI/BIOS)
#                         boots ~0.5 s faster but under TCG hung in early boot
#                         in 7 of 25 tries (TSC calibration): not recommended
#   --mem MiB             [XVM_MEM=1024]   guest RAM (the RAM overlay lives in it)
#   --cpus N              [XVM_CPUS=1] (2 vCPUs: same speed on an idle 2-core
#                         host, up to 2x slower when the host is busy)
#   --timeout SEC         [XVM_TIMEOUT=600] whole-VM wall-clock limit (exit 124)
#                         [XVM_BOOT_TIMEOUT=60, XVM_BOOT_TRIES=3] a boot that
#                         has not started the command in time is retried
#   --rw DIR              share host DIR read-write at the same path (repeatable)
#   --env VAR=VALUE       export into the command's environment (repeatable)
#   --kernel VMLINUZ      [XVM_KERNEL] default: newest /boot/vmlinuz-* whose
#                         /lib/modules/<version> exists on the host
#   --timing              print boot/command/total times on stderr afterwards
#   --console             copy the guest kernel log to stderr afterwards
#                         [XVM_APPEND] extra kernel command line (e.g. loglevel=7)
#   --keep                keep the temporary directory (printed on stderr)
#                         [XVM_PVH=1] boot the uncompressed kernel via PVH,
#                         cached in [XVM_CACHE=/var/tmp/vpnd-vm]; 0 = bzImage
#   -h, --help
#
# Exit status: the command's; 124 on timeout; 125 if the VM failed before
# reporting a status (the kernel log tail is then printed on stderr).
# The command runs as root, PID 1 is bash, stdin is /dev/null, cwd is ours,
# only "lo" exists (no NIC: -nic none), XVM=1 is set.  Stop us with SIGTERM or
# SIGINT (qemu is then killed); after SIGKILL qemu lives until --timeout.
#
# Needs (Debian 12): qemu-system-x86 linux-image-amd64 busybox-static
#   apt-get install -y --no-install-recommends qemu-system-x86 linux-image-amd64 busybox-static
set -euo pipefail

die() { echo "run-in-vm: $*" >&2; exit 125; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

ACCEL=${XVM_ACCEL:-auto}
MACHINE=${XVM_MACHINE:-pc}
MEM=${XVM_MEM:-1024}
CPUS=${XVM_CPUS:-1}
TIMEOUT=${XVM_TIMEOUT:-600}
KERNEL=${XVM_KERNEL:-}
CONSOLE=0
KEEP=0
TIMING=0
T_START=$EPOCHREALTIME
SNIPPET=
RW=()
ENVS=()

while [ $# -gt 0 ]; do
    case $1 in
        --accel) ACCEL=$2; shift 2 ;;
        --machine) MACHINE=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --cpus) CPUS=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --rw) RW+=("$2"); shift 2 ;;
        --env) ENVS+=("$2"); shift 2 ;;
        --kernel) KERNEL=$2; shift 2 ;;
        --console) CONSOLE=1; shift ;;
        --timing) TIMING=1; shift ;;
        --keep) KEEP=1; shift ;;
        -c) SNIPPET=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) break ;;
    esac
done
[ -n "$SNIPPET" ] || [ $# -gt 0 ] || die "nothing to run (see --help)"

# ---------------------------------------------------------------- prerequisites
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: apt-get install -y --no-install-recommends qemu-system-x86"
[ -x /bin/busybox ] || die "/bin/busybox missing: apt-get install -y busybox-static"
if ldd /bin/busybox >/dev/null 2>&1; then
    die "/bin/busybox is dynamically linked: apt-get install -y busybox-static"
fi
if [ -z "$KERNEL" ]; then
    for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
        [ -f "/lib/modules/${k#/boot/vmlinuz-}/modules.dep" ] && { KERNEL=$k; break; }
    done
    [ -n "$KERNEL" ] || die "no /boot/vmlinuz-* with /lib/modules/<version>: apt-get install -y --no-install-recommends linux-image-amd64"
fi
[ -r "$KERNEL" ] || die "cannot read kernel $KERNEL"
KVER=${XVM_KVER:-$(basename "$KERNEL" | sed 's/^vmlinuz-//')}
[ -f "/lib/modules/$KVER/modules.dep" ] || die "/lib/modules/$KVER/modules.dep missing (the guest loads its modules from the host's /lib/modules)"

# PVH direct boot of the uncompressed kernel (cached, extracted once from the
# bzImage) skips the in-guest decompression: ~2 s less per boot under TCG.
BOOT_KERNEL=$KERNEL
if [ "${XVM_PVH:-1}" = 1 ] && command -v xz >/dev/null &&
   grep -q '^CONFIG_PVH=y' "/boot/config-$KVER" 2>/dev/null; then
    CACHE=${XVM_CACHE:-/var/tmp/vpnd-vm}
    VMLINUX=$CACHE/vmlinux-$KVER-$(stat -Lc '%s-%Y' "$KERNEL")
    if [ ! -s "$VMLINUX" ]; then
        mkdir -p "$CACHE"
        off=$(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$KERNEL" | head -n 1 | cut -d: -f1 || true)
        if [ -n "$off" ] &&
           xz -dc --single-stream < <(tail -c +$((off + 1)) "$KERNEL") > "$VMLINUX.$$" 2>/dev/null &&
           [ "$(head -c 4 "$VMLINUX.$$" | od -An -c | tr -d ' ')" = '177ELF' ]; then
            mv -f "$VMLINUX.$$" "$VMLINUX"
        else
            rm -f "$VMLINUX.$$"
        fi
    fi
    [ -s "$VMLINUX" ] && BOOT_KERNEL=$VMLINUX
fi

if [ "$ACCEL" = auto ]; then
    ACCEL=tcg
    # /dev/kvm may be PVM (kvm_pvm: runs only PVM-enlightened guest kernels;
    # Debian's kernel hangs right after the real-mode setup code) -> TCG.
    if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] &&
       { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }; then
        ACCEL=kvm
    fi
fi
case $MACHINE in
    microvm) BUS=device; VIRTIO_MOD=virtio_mmio; MACHINE_ARGS=(-M "microvm,acpi=on") ;;
    pc) BUS=pci; VIRTIO_MOD=virtio_pci; MACHINE_ARGS=(-M pc) ;;
    *) die "--machine must be microvm or pc" ;;
esac
case $ACCEL in
    kvm) ACCEL_ARGS=(-accel kvm -cpu "host,-arch-capabilities") ;;
    tcg) ACCEL_ARGS=(-accel "tcg,thread=multi,tb-size=${XVM_TB_SIZE:-128}" -cpu max) ;;
    *) die "--accel must be auto, kvm or tcg" ;;
esac

# ---------------------------------------------------------------- work dir
T=$(mktemp -d "${TMPDIR:-/tmp}/xvm.XXXXXX")
QPID=
cleanup() {
    local rc=$?
    if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then kill "$QPID" 2>/dev/null || true; fi
    if [ "$KEEP" = 1 ]; then echo "run-in-vm: kept $T" >&2; else rm -rf "$T"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$T/ctl" "$T/initrd/bin" "$T/initrd/mod"

# ---------------------------------------------------------------- initramfs
# busybox + the modules needed to reach the 9p root; everything else (esp4,
# xfrm_user, veth, gcm, ...) the guest kernel autoloads from the host's
# /lib/modules/$KVER through the host's own modprobe.
cp /bin/busybox "$T/initrd/bin/busybox"
: > "$T/initrd/mod/order"
for p in $(for m in $VIRTIO_MOD virtio_console 9pnet_virtio 9p overlay; do
               modprobe -S "$KVER" --show-depends "$m" || die "modprobe -S $KVER --show-depends $m failed"
           done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'); do
    b=$(basename "$p"); b=${b%%.ko*}.ko
    case $p in
        *.ko) cp "$p" "$T/initrd/mod/$b" ;;
        *.ko.xz) xz -dc "$p" > "$T/initrd/mod/$b" ;;
        *.ko.zst) zstd -qdc "$p" > "$T/initrd/mod/$b" ;;
        *.ko.gz) gzip -dc "$p" > "$T/initrd/mod/$b" ;;
        *) die "unexpected module file $p" ;;
    esac
    echo "$b" >> "$T/initrd/mod/order"
done
cat > "$T/initrd/init" <<'EOF'
#!/bin/busybox sh
# xfrm-vm stage 1 (initramfs): mount the host root (9p, ro) under a tmpfs
# overlay, the control share and the --rw shares, then switch_root to stage 2.
B=/bin/busybox
fail() { echo "xvm-init: FAILED: $*"; $B sleep 1; echo o > /proc/sysrq-trigger; $B sleep 5; echo b > /proc/sysrq-trigger; }
# XVM_DEBUG=1 on the kernel command line (XVM_APPEND) reaches us as env var
ts() { [ -z "$XVM_DEBUG" ] || echo "xvm-init: $($B cat /proc/uptime /newroot/proc/uptime 2>/dev/null) $*"; }
$B mkdir -p /proc /sys /dev /ctl /lower /upper /newroot
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
ts start
for m in $($B cat /mod/order); do $B insmod /mod/$m || fail "insmod $m"; done
O=trans=virtio,version=9p2000.L,msize=512000
# the 9p channels can show up a moment after the insmods: retry (<= 10 s)
mnt9p() { for i in $($B seq 100); do $B mount -t 9p -o "$1" "$2" "$3" 2>/dev/null && return 0; $B sleep 0.1; done; $B mount -t 9p -o "$1" "$2" "$3"; }
ts modules loaded
mnt9p $O,cache=mmap xvmctl /ctl || fail "mount control share"
mnt9p $O,cache=loose,ro xvmroot /lower || fail "mount host root"
ts 9p mounted
$B mount -t tmpfs -o mode=755 xvm-upper /upper
$B mkdir -p /upper/u /upper/w
$B mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w xvm-root /newroot || fail "overlay"
$B mount -t tmpfs -o mode=755,nosuid,nodev xvm-run /newroot/run
while read -r tag path; do
    [ -n "$tag" ] || continue
    $B mkdir -p "/newroot$path"
    mnt9p $O,cache=mmap "$tag" "/newroot$path" || fail "mount $path"
done < /ctl/mounts
ts overlay and shares mounted
$B mkdir -p /newroot/run/xvm /newroot/run/lock /newroot/run/netns
$B mount --move /ctl /newroot/run/xvm
$B mount --move /proc /newroot/proc
$B mount --move /sys /newroot/sys
$B mount --move /dev /newroot/dev
# everything else is done here too: busybox runs from RAM, while each exec of
# a host binary over 9p costs ~0.1-0.4 s under TCG
cd /newroot
$B mkdir -p dev/pts dev/shm
$B mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts dev/pts
$B mount -t tmpfs -o mode=1777,nosuid,nodev shm dev/shm
[ -e dev/ptmx ] || $B ln -s pts/ptmx dev/ptmx
$B ln -sfn /proc/self/fd dev/fd
$B ln -sfn /proc/self/fd/0 dev/stdin
$B ln -sfn /proc/self/fd/1 dev/stdout
$B ln -sfn /proc/self/fd/2 dev/stderr
$B mount -t cgroup2 cgroup2 sys/fs/cgroup 2>/dev/null
$B mount -t debugfs debugfs sys/kernel/debug 2>/dev/null
$B chmod 1777 tmp
$B mkfifo run/xvm-sleep
$B hostname xvm
$B ip link set lo up
cd /
ts switch_root
exec $B switch_root /newroot /bin/bash /run/xvm/stage2
EOF
chmod +x "$T/initrd/init"
(cd "$T/initrd" && find . | cpio -o -H newc --quiet > "$T/initrd.cpio")

# ---------------------------------------------------------------- control share
cat > "$T/ctl/stage2" <<'EOF'
# xfrm-vm stage 2: PID 1 (the host's bash) in the guest.
read -r up _ < /proc/uptime; [ -z "$XVM_DEBUG" ] || echo "xvm-stage2: $up start" > /dev/console
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb XVM=1
# (mounts etc. were done by stage 1; only bash builtins here until the command)
OUT=/dev/null ERR=/dev/null
for p in /sys/class/virtio-ports/*; do
    read -r n < "$p/name"
    case $n in
        xvm.out) OUT=/dev/${p##*/} ;;
        xvm.err) ERR=/dev/${p##*/} ;;
    esac
done
read -r up _ < /proc/uptime; echo "command_start_uptime=$up" > /run/xvm/timing
. /run/xvm/env
cd "$XVM_CWD" 2>/dev/null || cd /
bash /run/xvm/cmd < /dev/null > "$OUT" 2> "$ERR"
echo $? > /run/xvm/rc
read -r up _ < /proc/uptime; echo "command_end_uptime=$up" >> /run/xvm/timing
[ -s /run/xvm/mounts ] && sync   # --rw shares use cache=mmap
echo o > /proc/sysrq-trigger   # ACPI power off -> qemu exits
read -r -t 5 _ <> /run/xvm-sleep   # builtin sleep: PID 1 must not exit meanwhile
echo b > /proc/sysrq-trigger   # fallback: reboot (-no-reboot -> qemu exits)
read -r -t 5 _ <> /run/xvm-sleep
EOF

{
    printf 'export XVM_CWD=%q\n' "$PWD"
    for e in ${ENVS[@]+"${ENVS[@]}"}; do
        [[ $e == *=* ]] || die "--env wants VAR=VALUE, got '$e'"
        printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
    done
} > "$T/ctl/env"

if [ -n "$SNIPPET" ]; then
    # remaining arguments become $1, $2, ... of the snippet
    { printf 'set --'; [ $# -eq 0 ] || printf ' %q' "$@"; printf '\n%s\n' "$SNIPPET"; } > "$T/ctl/cmd"
else
    if [ -f "$1" ] && [ ! -x "$1" ]; then set -- bash "$@"; fi
    { printf 'exec'; printf ' %q' "$@"; printf '\n'; } > "$T/ctl/cmd"
fi

VIRTFS=(-fsdev "local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap"
        -device "virtio-9p-$BUS,fsdev=fsroot,mount_tag=xvmroot"
        -fsdev "local,id=fsctl,path=$T/ctl,security_model=none"
        -device "virtio-9p-$BUS,fsdev=fsctl,mount_tag=xvmctl")
: > "$T/ctl/mounts"
i=0
for d in ${RW[@]+"${RW[@]}"}; do
    d=$(realpath -e "$d") || die "--rw $d: no such directory"
    [ -d "$d" ] || die "--rw $d: not a directory"
    case $d in *$'\n'*|*,*) die "--rw $d: commas/newlines not supported" ;; esac
    VIRTFS+=(-fsdev "local,id=fsrw$i,path=$d,security_model=none,multidevs=remap"
             -device "virtio-9p-$BUS,fsdev=fsrw$i,mount_tag=xvmrw$i")
    printf 'xvmrw%d %s\n' "$i" "$d" >> "$T/ctl/mounts"
    i=$((i + 1))
done

# ---------------------------------------------------------------- boot
# A boot that has not reached the command after $BOOT_TIMEOUT s is killed and
# retried (seen: early-boot hangs of TCG guests on a heavily loaded host,
# mostly with -M microvm whose TSC calibration has no HPET/PM-timer fallback).
BOOT_TIMEOUT=${XVM_BOOT_TIMEOUT:-60}
BOOT_TRIES=${XVM_BOOT_TRIES:-3}
QRC=0
for try in $(seq 1 "$BOOT_TRIES"); do
    : > "$T/out"; : > "$T/err"; rm -f "$T/ctl/timing" "$T/ctl/rc"
    timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
        "${MACHINE_ARGS[@]}" "${ACCEL_ARGS[@]}" -smp "$CPUS" -m "$MEM" \
        -nodefaults -no-user-config -nic none -display none -no-reboot \
        -kernel "$BOOT_KERNEL" -initrd "$T/initrd.cpio" \
        -append "console=ttyS0 quiet panic=-1 mitigations=off tsc=reliable ${XVM_APPEND:-}" \
        -serial "file:$T/console.log" \
        -device "virtio-serial-$BUS" \
        -chardev "file,id=xvmout,path=$T/out" -device virtserialport,chardev=xvmout,name=xvm.out \
        -chardev "file,id=xvmerr,path=$T/err" -device virtserialport,chardev=xvmerr,name=xvm.err \
        "${VIRTFS[@]}" ${XVM_QEMU_ARGS:-} \
        < /dev/null > "$T/qemu.log" 2>&1 &
    QPID=$!
    started=$SECONDS booted=0
    while kill -0 "$QPID" 2>/dev/null; do
        if [ -e "$T/ctl/timing" ]; then booted=1; break; fi
        if [ $((SECONDS - started)) -ge "$BOOT_TIMEOUT" ]; then break; fi
        sleep 0.1
    done
    [ -e "$T/ctl/timing" ] && booted=1
    if [ "$booted" = 0 ] && kill -0 "$QPID" 2>/dev/null; then
        kill "$QPID" 2>/dev/null || true
        wait "$QPID" 2>/dev/null || true
        QPID=
        cp "$T/console.log" "$T/console.try$try.log" 2>/dev/null || true
        echo "run-in-vm: guest did not reach the command within ${BOOT_TIMEOUT}s (try $try/$BOOT_TRIES)" >&2
        QRC=124
        continue
    fi
    # the command runs (or the VM already ended): stream its output
    tail -s 0.1 -n +1 -f --pid="$QPID" "$T/out" &
    TOUT=$!
    tail -s 0.1 -n +1 -f --pid="$QPID" "$T/err" >&2 &
    TERR=$!
    QRC=0
    wait "$QPID" || QRC=$?
    QPID=
    wait "$TOUT" "$TERR" 2>/dev/null || true
    break
done

if [ "$CONSOLE" = 1 ]; then
    echo "----- guest kernel log ($ACCEL) -----" >&2; cat "$T/console.log" >&2
    echo "----- qemu -----" >&2; cat "$T/qemu.log" >&2
    cat "$T/ctl/timing" >&2 2>/dev/null || true
fi
if [ "$TIMING" = 1 ] && [ -s "$T/ctl/timing" ]; then
    (. "$T/ctl/timing"
     awk -v s="${command_start_uptime:-0}" -v e="${command_end_uptime:-0}" \
         -v t0="$T_START" -v t1="$EPOCHREALTIME" -v a="$ACCEL/$MACHINE" -v try="$try" \
         'BEGIN { printf "run-in-vm: %s: boot-to-command %.2f s (guest uptime), command %.2f s, total wall %.2f s, boot tries %d\n", a, s, e - s, t1 - t0, try }' >&2)
fi
if [ -s "$T/ctl/rc" ]; then
    exit "$(cat "$T/ctl/rc")"
fi
if [ "$booted" = 0 ]; then
    echo "run-in-vm: the guest did not reach the command in $BOOT_TRIES tries of ${BOOT_TIMEOUT}s ($ACCEL, $MACHINE)" >&2
    QRC=125
elif [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
    echo "run-in-vm: timed out after ${TIMEOUT}s ($ACCEL)" >&2
    QRC=124
else
    echo "run-in-vm: VM ended without a command status (qemu rc=$QRC, accel=$ACCEL)" >&2
    QRC=125
fi
if [ "$CONSOLE" = 0 ]; then
    echo "----- last lines of the guest kernel log -----" >&2; tail -n 30 "$T/console.log" >&2
    echo "----- qemu -----" >&2; tail -n 10 "$T/qemu.log" >&2
fi
exit "$QRC"
