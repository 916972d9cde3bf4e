#!/bin/busybox sh
# /init of the VM test initramfs (see scripts/testing/vm-test). Runs as PID 1 under the Debian 12 kernel:
# loads vivid and i2c-stub, preloads a BME280 register image, runs every check and prints
#   CHECK <name>: PASS [detail]     or     CHECK <name>: FAIL <reason>
# then one "VMTEST RESULT: N passed, M failed" line, and powers the VM off. A check whose project code
# has not been built yet fails with "not built yet: <what>"; nothing is skipped silently.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mkdir -p /root
# Kernel messages would interleave with the result lines; they are dumped after the summary instead.
echo 1 > /proc/sys/kernel/printk

VMTEST=/etc/vmtest
. "$VMTEST/env"                      # KERNEL_RELEASE, VIVID_PARAMS, I2C_STUB_PARAMS, written by scripts/testing/vm-test
CONFIG=$VMTEST/remotaird.yaml
passed=0
failed=0

# Seconds since boot, appended to each result so slow checks stand out.
uptime_s() { cut -d' ' -f1 /proc/uptime; }
pass() { echo "CHECK $1: PASS${2:+ ($2)} [t=$(uptime_s)s]"; passed=$((passed + 1)); }
fail() { echo "CHECK $1: FAIL $2 [t=$(uptime_s)s]"; failed=$((failed + 1)); }
not_built() { fail "$1" "not built yet: $2"; }
# One line of a command's output, for a FAIL reason.
first_line() { echo "$1" | grep -v '^[[:space:]]*$' | head -n 1; }

finish() {
    echo "VMTEST RESULT: $passed passed, $failed failed"
    echo "--- dmesg (warnings and errors) ---"
    dmesg | grep -iE 'vivid|i2c|warn|error|bug|oops|call trace' | tail -n 40
    echo "--- end of dmesg ---"
    sync
    poweroff -f
}

# ---------------------------------------------------------------------------------------------
# Harness checks: kernel, modules, device nodes, the BME280 register image. No project code.
# ---------------------------------------------------------------------------------------------

module_params() {
    case "$1" in
        vivid.ko) echo "$VIVID_PARAMS" ;;
        i2c-stub.ko) echo "$I2C_STUB_PARAMS" ;;
    esac
}

# Loads the modules listed in load order (dependencies first, as resolved from modules.dep).
load_modules() {
    local list="$1" module errors=""
    for module in $(cat "$list"); do
        # shellcheck disable=SC2046 # parameters are separate words on purpose
        out=$(insmod "/lib/modules/$module" $(module_params "$module") 2>&1) || errors="$errors $module: $(first_line "$out");"
    done
    echo "$errors"
}

check_modules() {
    local errors
    errors=$(load_modules "$VMTEST/modules.video")
    if [ -z "$errors" ]; then pass modules.vivid "$(wc -l < "$VMTEST/modules.video") modules, $VIVID_PARAMS"
    else fail modules.vivid "$errors"; fi
    errors=$(load_modules "$VMTEST/modules.i2c")
    if [ -z "$errors" ]; then pass modules.i2c-stub "$(wc -l < "$VMTEST/modules.i2c") modules, $I2C_STUB_PARAMS"
    else fail modules.i2c-stub "$errors"; fi
}

# Waits up to $2 tenths of a second for a path to exist (devtmpfs creates nodes asynchronously).
wait_for() {
    local i=0
    while [ ! -e "$1" ] && [ $i -lt "$2" ]; do sleep 0.1; i=$((i + 1)); done
    [ -e "$1" ]
}

# vivid names its capture node "vivid-XXX-vid-cap" after the instance number.
capture_node() {
    local sysdir
    for sysdir in /sys/class/video4linux/video*; do
        [ "$(cat "$sysdir/name" 2>/dev/null)" = "vivid-00$1-vid-cap" ] && { echo "/dev/${sysdir##*/}"; return 0; }
    done
    return 1
}

check_video_nodes() {
    local n node names
    for n in 0 1; do
        wait_for "/dev/video$n" 30
        node=$(capture_node $n)
        if [ -n "$node" ] && [ -c "$node" ]; then pass "vivid.capture-node.$n" "$node is vivid-00$n-vid-cap"
        else
            names=$(for f in /sys/class/video4linux/*/name; do printf '%s=%s ' "${f%/name}" "$(cat "$f")"; done)
            fail "vivid.capture-node.$n" "no capture node for instance $n (nodes: ${names:-none})"
        fi
    done
    eval "VIDEO0=$(capture_node 0)" "VIDEO1=$(capture_node 1)"
}

# The vivid error-injection controls the camera checks use must exist under these exact names.
check_vivid_controls() {
    local missing="" name controls
    controls=$(vmprobe controls "${VIDEO0:-/dev/video0}" 2>&1)
    for name in "Inject V4L2_BUF_FLAG_ERROR" "Percentage of Dropped Buffers" "Inject VIDIOC_STREAMON Error" \
        "Inject Fatal Streaming Error" "Disconnect"; do
        echo "$controls" | grep -q " $name\$" || missing="$missing \"$name\""
    done
    if [ -z "$missing" ]; then pass vivid.error-controls "$(echo "$controls" | grep -cE 'Inject|Dropped|Disconnect') error-injection controls"
    else fail vivid.error-controls "missing:$missing"; fi
}

# compare_facts CHECK FACTS EXPECTED-FILE: every "NAME VALUE" line of the file against "FACT NAME=VALUE".
compare_facts() {
    local name want got mismatches="" count=0
    echo "$2" | sed 's/^/  /'
    while read -r name want; do
        case "$name" in ''|'#'*) continue ;; esac
        got=$(echo "$2" | sed -n "s/^FACT $name=//p")
        [ "$got" = "$want" ] || mismatches="$mismatches $name=${got:-missing} (want $want);"
        count=$((count + 1))
    done < "$3"
    if [ -z "$mismatches" ]; then pass "$1" "$count kernel answers as recorded in ${3##*/}"
    else fail "$1" "$mismatches"; fi
}

# Walks the capture ioctls on vivid instance 0 (vmprobe.c v4l2-facts) and compares the kernel's answers
# with v4l2-facts.expected, the behaviour our V4L2 fake must match. The walk ends by disconnecting
# instance 0 and unloading vivid, so vivid is reloaded afterwards.
check_v4l2_facts() {
    compare_facts kernel.v4l2-behaviour "$(vmprobe v4l2-facts "${VIDEO0:-/dev/video0}" 2>&1)" "$VMTEST/v4l2-facts.expected"
}

# The same for i2c-dev on i2c-stub (after the BME280 image is loaded): i2c-facts.expected.
check_i2c_facts() {
    compare_facts kernel.i2c-behaviour "$(vmprobe i2c-facts /dev/i2c-0 2>&1)" "$VMTEST/i2c-facts.expected"
}

# Unload (if still loaded) and load vivid again: the nodes must come back under the same names.
check_vivid_reload() {
    local out
    grep -q '^vivid ' /proc/modules && rmmod vivid
    out=$(insmod /lib/modules/vivid.ko $VIVID_PARAMS 2>&1) || { fail vivid.reload "insmod: $(first_line "$out")"; return; }
    if wait_for /dev/video1 30 && [ "$(capture_node 0)" = /dev/video0 ] && [ "$(capture_node 1)" = /dev/video1 ]; then
        pass vivid.reload "unloaded and loaded again; /dev/video0 and /dev/video1 back"
    else fail vivid.reload "capture nodes did not come back: $(ls /dev/video* 2>&1 | tr '\n' ' ')"; fi
}

check_i2c_node() {
    wait_for /dev/i2c-0 30
    local name
    name=$(cat /sys/class/i2c-dev/i2c-0/name 2>/dev/null)
    if [ -c /dev/i2c-0 ] && [ "$name" = "SMBus stub driver" ]; then pass i2c.node "/dev/i2c-0 is $name"
    else fail i2c.node "/dev/i2c-0 missing or not i2c-stub (name '${name:-none}')"; fi
}

# Preloads the BME280 register image (chip id, calibration, raw data) into i2c-stub at 0x76 with
# SMBus byte writes, then reads every register back with SMBus byte reads.
check_bme280_image() {
    local reg value got errors="" count=0
    while read -r reg value; do
        i2cset -y 0 0x76 "$reg" "$value" b 2>/dev/null || errors="$errors write $reg;"
    done < "$VMTEST/bme280.regs"
    while read -r reg value; do
        got=$(i2cget -y 0 0x76 "$reg" b 2>&1)
        [ "$got" = "$value" ] || errors="$errors $reg=$got (want $value);"
        count=$((count + 1))
    done < "$VMTEST/bme280.regs"
    if [ -z "$errors" ]; then pass i2c.bme280-register-image "$count registers written and read back over SMBus"
    else fail i2c.bme280-register-image "$errors"; fi
}

check_binary() {
    local out
    if out=$(remotaird --help 2>&1) && echo "$out" | grep -q "SUBCOMMANDS"; then
        pass remotaird.help "runs in the VM; subcommands: $(subcommands | tr '\n' ' ' | sed 's/ $//')"
    else
        fail remotaird.help "remotaird --help failed: $(first_line "$out")"
    fi
    if out=$(remotaird check-config --config "$CONFIG" 2>&1); then pass remotaird.check-config "$out"
    else fail remotaird.check-config "$(first_line "$out")"; fi
}

# ---------------------------------------------------------------------------------------------
# Project checks: remotaird against the real drivers. Each names what is missing if the
# subcommand or configuration section it needs is not in the binary yet.
# ---------------------------------------------------------------------------------------------

# Subcommand names from `remotaird --help` (the lines indented by exactly two spaces under SUBCOMMANDS).
subcommands() { remotaird --help 2>&1 | sed -n '/^SUBCOMMANDS:/,/^$/p' | awk '/^  [a-z]/ { print $1 }'; }
has_subcommand() { subcommands | grep -qx "$1"; }

. "$VMTEST/checks.sh"

# ---------------------------------------------------------------------------------------------

echo "VMTEST START kernel $(uname -r)"
check_modules
check_video_nodes
check_vivid_controls
check_v4l2_facts
check_vivid_reload
check_i2c_node
check_bme280_image
check_i2c_facts
check_binary
run_project_checks
finish
