# Shared set-up for scripts/demo, scripts/test and every script under scripts/: install only what is
# missing, quietly; build so that a failed build stops the script. Sourced, not run.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APT_PACKAGES=(libgpiod-dev libv4l-dev libi2c-dev libturbojpeg0-dev libsystemd-dev libstdc++-12-dev pkg-config libjpeg-turbo-progs libmosquitto-dev)

# The release flags; every release build uses them through SHIPPED_BUILD below.
# Each function, ours and every dependency's, goes in its own section: lld's --symbol-ordering-file
# (Sources/remotaird/symbol-order.txt) moves sections, and without this a Swift module's non-inline
# functions share one .text section per object, so ordering one of them drags in the rest (the
# "ordered" code was 14.6 MB for 2.5 MB of functions that run). classify's peak RSS: -0.7 to -1.2 MB.
RELEASE_BUILD=(-c release -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections)
# The build we ship (the .deb's binaries). build-deb, the demo, soak, vm-test, order-symbols and the
# benchmarks build with exactly these arguments, so every suite tests and every benchmark measures the
# packaged code, and in one run of scripts/test only the first of them compiles anything: any other set
# of arguments in the same .build/release (--static-swift-stdlib included) recompiles every object, and
# the next shipped build recompiles them again.
SHIPPED_BUILD=("${RELEASE_BUILD[@]}" --static-swift-stdlib)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# `swift build ARGS...` with its output kept out of the way; on success prints its last line ("Build
# complete! (12.3s)") to stderr; on failure prints the compiler's errors and ends the calling script, so
# nothing runs or measures a binary left over from an earlier build.
swift_build() {
    local output status=0
    output="$(mktemp)"
    swift build "$@" >"$output" 2>&1 || status=$?
    if ((status == 0)); then
        tail -n 1 "$output" >&2
        rm -f "$output"
        return 0
    fi
    # The compiler's diagnostics with their source excerpts; the tail when there is no "error:" line
    # (a dependency that failed to resolve, a linker that crashed).
    if grep -q "error:" "$output"; then
        grep -E -A 4 "error:" "$output" | head -n 80 >&2
    else
        tail -n 30 "$output" >&2
    fi
    rm -f "$output"
    die "swift build $* failed (exit status $status)"
}

# apt packages: checks dpkg first so a machine that has everything does not touch the network.
ensure_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

ensure_swift() {
    command -v swift >/dev/null || die "swift is not on PATH (Swift 6.1 or later is needed)"
}

# A Python venv at $1 with the pinned requirements file $2; rebuilt only when the file changes.
# One implementation, shared with the training toolchain's wrappers.
source "$REPO_ROOT/scripts/toolchain/venv.sh"
ensure_venv() {
    toolchain_venv "$1" "$2" || die "could not prepare the Python venv $1 from $2"
}

# qemu_kvm_works KERNEL WORKDIR: true if KVM boots KERNEL to a busybox init that answers within 20 s.
# KVM hung on this kind of machine before, so scripts/testing/vm-test and scripts/testing/system-test use it only then.
qemu_kvm_works() {
    local kernel="$1" probe="$2/probe"
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
    mkdir -p "$probe/bin" "$probe/dev"
    cp /bin/busybox "$probe/bin/busybox"
    printf '#!/bin/busybox sh\n/bin/busybox echo KVM-PROBE-OK\n/bin/busybox poweroff -f\n' > "$probe/init"
    chmod +x "$probe/init"
    (cd "$probe" && find . | cpio -o -H newc --quiet | gzip -1 > "$2/probe.initrd")
    timeout 20 qemu-system-x86_64 -nographic -no-reboot -m 256 -enable-kvm -cpu host -kernel "$kernel" \
        -initrd "$2/probe.initrd" -append "console=ttyS0 panic=-1 quiet" 2>&1 | grep -q KVM-PROBE-OK
}
