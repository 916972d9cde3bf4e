# Project checks, sourced by scripts/testing/vm/init.sh after the harness checks: remotaird's camera, sensor
# and daemon code against the real kernel drivers. Each check first confirms that the subcommand and
# configuration it needs are in this remotaird; if not it FAILS with "not built yet: <what>".
#
# Helpers from init.sh: pass, fail, not_built, first_line, has_subcommand, vmprobe; VIDEO0/VIDEO1.

CAMERAS_CONFIG=$VMTEST/remotaird-cameras.yaml   # both vivid capture nodes, 640x480
SENSORS_CONFIG=$VMTEST/remotaird-sensors.yaml   # BME280 on i2c-stub, a Sensirion chip, an absent chip
RUN_CONFIG=$VMTEST/remotaird-run.yaml           # the daemon: cameras on vivid, BME280 on i2c-stub
CAPTURE_WIDTH=640
CAPTURE_HEIGHT=480

# requires CHECK SUBCOMMAND CONFIG WHAT: succeeds when remotaird has SUBCOMMAND and accepts CONFIG.
requires() {
    local out
    if ! has_subcommand "$2"; then
        not_built "$1" "remotaird $2 ($4 not in this build)"
        return 1
    fi
    if ! out=$(remotaird check-config --config "$3" 2>&1); then
        fail "$1" "not built yet: ${3##*/} refused ($4): $(first_line "$out")"
        return 1
    fi
}

# --- cameras ------------------------------------------------------------------------------------

# capture CAMERA OUTDIR: one `remotaird capture`; leaves its output in $capture_out, its result line
# for the camera ("cam0 <path> 640x480 ..." or "cam0 error <kind>: <detail>") in $capture_line, and
# the exit status in $capture_rc. The result line is echoed to the console, indented.
capture() {
    rm -rf "$2" && mkdir -p "$2"
    capture_out=$(timeout 60 remotaird capture --config "$CAMERAS_CONFIG" --camera "$1" --out "$2" 2>&1)
    capture_rc=$?
    capture_line=$(echo "$capture_out" | grep "^$1 " | head -n 1)
    [ -n "$capture_line" ] || capture_line=$(first_line "$capture_out")
    echo "  capture $1 -> exit $capture_rc: $capture_line"
}

# jpeg_ok OUTDIR: the newest JPEG in OUTDIR has SOI, SOF with the negotiated size, and EOI.
jpeg_ok() {
    local file dims
    file=$(ls -t "$1"/*.jpg "$1"/*.jpeg 2>/dev/null | head -n 1)
    [ -n "$file" ] || { jpeg_problem="no JPEG written to $1"; return 1; }
    dims=$(vmprobe jpeg "$file" 2>&1) || { jpeg_problem="${file##*/}: $dims"; return 1; }
    [ "$dims" = "${CAPTURE_WIDTH}x${CAPTURE_HEIGHT}" ] || { jpeg_problem="${file##*/} is $dims, negotiated ${CAPTURE_WIDTH}x${CAPTURE_HEIGHT}"; return 1; }
    jpeg_detail="${file##*/} $dims, $(wc -c < "$file") bytes"
}

check_capture() {
    local n=$1 name="camera.capture.$1"
    requires "$name" capture "$CAMERAS_CONFIG" "cameras" || return
    capture "cam$n" "/tmp/cap/cam$n"
    if [ $capture_rc -ne 0 ]; then fail "$name" "exit $capture_rc: $capture_line"
    elif jpeg_ok "/tmp/cap/cam$n"; then pass "$name" "$jpeg_detail; $capture_line"
    else fail "$name" "$jpeg_problem"; fi
}

# A buffer vivid marks V4L2_BUF_FLAG_ERROR is rejected and requeued; the capture still succeeds.
check_buffer_error() {
    local name=camera.error.buffer-flag
    requires "$name" capture "$CAMERAS_CONFIG" "cameras" || return
    vmprobe set "$VIDEO0" "Inject V4L2_BUF_FLAG_ERROR" 1 || { fail "$name" "cannot set the vivid control"; return; }
    capture cam0 /tmp/cap/flag
    if [ $capture_rc -ne 0 ]; then fail "$name" "capture failed after one flagged buffer: $capture_line"
    elif echo "$capture_line" | grep -q 'corrupt=0'; then fail "$name" "the flagged buffer was not counted as corrupt: $capture_line"
    elif jpeg_ok /tmp/cap/flag; then pass "$name" "flagged buffer rejected: $capture_line"
    else fail "$name" "$jpeg_problem"; fi
}

# With half the buffers dropped the capture still succeeds; with all dropped it fails with a named error.
check_dropped_buffers() {
    local name=camera.error.dropped-buffers
    requires "$name" capture "$CAMERAS_CONFIG" "cameras" || return
    vmprobe set "$VIDEO0" "Percentage of Dropped Buffers" 50 || { fail "$name" "cannot set the vivid control"; return; }
    capture cam0 /tmp/cap/drop50
    local rc50=$capture_rc out50=$capture_line
    jpeg_ok /tmp/cap/drop50
    local ok50=$?
    vmprobe set "$VIDEO0" "Percentage of Dropped Buffers" 100
    capture cam0 /tmp/cap/drop100
    vmprobe set "$VIDEO0" "Percentage of Dropped Buffers" 0
    if [ $rc50 -ne 0 ] || [ $ok50 -ne 0 ]; then fail "$name" "50% dropped: exit $rc50: $out50 $jpeg_problem"
    elif [ $capture_rc -eq 0 ]; then fail "$name" "100% dropped: capture claimed success: $capture_line"
    else pass "$name" "50% dropped: JPEG; 100% dropped: $capture_line"; fi
}

# The next VIDIOC_STREAMON fails: the capture retries and succeeds, or fails naming STREAMON.
check_streamon_error() {
    local name=camera.error.streamon
    requires "$name" capture "$CAMERAS_CONFIG" "cameras" || return
    vmprobe set "$VIDEO0" "Inject VIDIOC_STREAMON Error" 1 || { fail "$name" "cannot set the vivid control"; return; }
    capture cam0 /tmp/cap/streamon
    if [ $capture_rc -eq 0 ]; then
        if jpeg_ok /tmp/cap/streamon; then pass "$name" "retried after the STREAMON error: $jpeg_detail"
        else fail "$name" "exit 0 but $jpeg_problem"; fi
    elif echo "$capture_line" | grep -q STREAMON; then pass "$name" "failed with: $capture_line"
    else fail "$name" "error does not name VIDIOC_STREAMON: $capture_line"; fi
}

# vb2_queue_error() mid-stream (DQBUF then returns EIO): the capture fails naming the error, or restarts
# streaming and succeeds. The button only acts while streaming, so it is pressed repeatedly.
check_fatal_streaming_error() {
    local name=camera.error.fatal-streaming
    requires "$name" capture "$CAMERAS_CONFIG" "cameras" || return
    rm -rf /tmp/cap/fatal && mkdir -p /tmp/cap/fatal
    timeout 60 remotaird capture --config "$CAMERAS_CONFIG" --camera cam0 --out /tmp/cap/fatal > /tmp/cap/fatal.log 2>&1 &
    local pid=$! presses=0
    while kill -0 $pid 2>/dev/null && [ $presses -lt 100 ]; do
        vmprobe set "$VIDEO0" "Inject Fatal Streaming Error" 1 2>/dev/null
        presses=$((presses + 1))
        sleep 0.1
    done
    wait $pid
    local rc=$?
    local line
    line=$(grep "^cam0 " /tmp/cap/fatal.log | head -n 1)
    [ -n "$line" ] || line=$(first_line "$(cat /tmp/cap/fatal.log)")
    echo "  capture cam0 with the fatal error pressed $presses times -> exit $rc: $line"
    if [ $rc -eq 0 ]; then
        if jpeg_ok /tmp/cap/fatal; then pass "$name" "recovered: $line"
        else fail "$name" "exit 0 but $jpeg_problem"; fi
    elif echo "$line" | grep -qE 'EIO|DQBUF|streaming error'; then pass "$name" "failed with: $line"
    else fail "$name" "exit $rc without naming the queue error: $line"; fi
}

# The classifier on a frame from vivid (the test pattern): the model loads in the VM and labels it.
check_classify() {
    local name=camera.classify out file
    requires "$name" classify "$CAMERAS_CONFIG" "classifier" || return
    file=$(ls /tmp/cap/cam0/*.jpg 2>/dev/null | head -n 1)
    [ -n "$file" ] || { fail "$name" "no capture from camera.capture.0 to classify"; return; }
    out=$(timeout 60 remotaird classify --config "$CAMERAS_CONFIG" --json "$file" 2>&1)
    local rc=$?
    echo "  $(first_line "$out")"
    if [ $rc -eq 0 ] && echo "$out" | grep -qE '"label": *"[a-z_]+"'; then pass "$name" "$(echo "$out" | grep -oE '"label": *"[a-z_]+".*' | head -n 1)"
    else fail "$name" "exit $rc: $(first_line "$out")"; fi
}

# --- sensors ------------------------------------------------------------------------------------

# reading SENSOR METRIC: the value from `remotaird sensors --json` output in $sensors_out, one JSON
# object per reading: {"sensor":"duct-climate","type":"bme280","metric":"pressure","value":1006.533,...}.
reading() {
    echo "$sensors_out" | grep "\"sensor\":\"$1\"" | grep "\"metric\":\"$2\"" | head -n 1 \
        | sed -nE 's/.*"value":(-?[0-9.eE+-]+).*/\1/p'
}

# near VALUE WANT TOLERANCE
near() { awk -v v="$1" -v w="$2" -v t="$3" 'BEGIN { d = v - w; if (d < 0) d = -d; exit !(v != "" && d <= t) }'; }

# The BME280 driver over real SMBus ioctls against the preloaded register image; the expected values
# come from Bosch's integer formulas (scripts/testing/vm/bme280_vectors.py). remotaird prints 3 decimals.
check_bme280() {
    local name=sensors.bme280
    requires "$name" sensors "$SENSORS_CONFIG" "sensors" || return
    . "$VMTEST/bme280.expected"
    sensors_out=$(sensors_json)
    local t p h hpa problems=""
    t=$(reading duct-climate temperature)
    p=$(reading duct-climate pressure)
    h=$(reading duct-climate humidity)
    hpa=$(awk -v p="$pressure_pa" 'BEGIN { printf "%.4f", p / 100 }')
    near "$t" "$temperature_c" 0.0051 || problems="$problems temperature ${t:-missing} (want $temperature_c degC);"
    near "$p" "$hpa" 0.0011 || problems="$problems pressure ${p:-missing} (want $hpa hPa);"
    near "$h" "$humidity_percent" 0.0011 || problems="$problems humidity ${h:-missing} (want $humidity_percent %RH);"
    if [ -z "$problems" ]; then pass "$name" "$t degC, $p hPa, $h %RH as the Bosch integer formulas give"
    else fail "$name" "$problems $(first_line "$(cat /tmp/sensors.err)")"; fi
}

# `remotaird sensors --json` on SENSORS_CONFIG, run once and shared by the sensor checks (echoed to the
# console the first time). A sensor without a value gets one line with its state and error.
sensors_json() {
    if [ ! -f /tmp/sensors.json ]; then
        timeout 60 remotaird sensors --config "$SENSORS_CONFIG" --json --timeout 5 > /tmp/sensors.json 2>/tmp/sensors.err
        sed 's/^/  /' /tmp/sensors.json > /dev/console
    fi
    cat /tmp/sensors.json
}

# i2c-stub has no plain I2C: the Sensirion driver's transfer gets EOPNOTSUPP, and the bus layer must
# say the adapter does not support plain I2C transfers.
check_sensirion_unsupported() {
    local name=sensors.plain-i2c-unsupported out
    requires "$name" sensors "$SENSORS_CONFIG" "sensors" || return
    out=$(sensors_json | grep '"sensor":"rh-probe"')
    if echo "$out" | grep -qiE 'plain I2C|not support'; then
        pass "$name" "$(echo "$out" | sed -E 's/.*"error":"([^"]*)".*/\1/')"
    else fail "$name" "no 'adapter does not support plain I2C' report for the SHT4x: $(first_line "$out")"; fi
}

# A BME280 configured at 0x77, where i2c-stub has no chip (ENXIO), is reported absent.
check_absent_sensor() {
    local name=sensors.absent out
    requires "$name" sensors "$SENSORS_CONFIG" "sensors" || return
    out=$(sensors_json | grep '"sensor":"absent-climate"')
    if echo "$out" | grep -q '"state":"absent"'; then
        pass "$name" "state absent: $(echo "$out" | sed -E 's/.*"error":"([^"]*)".*/\1/')"
    else fail "$name" "the BME280 at 0x77 is not reported absent: $(first_line "$out")"; fi
}

# --- the daemon ---------------------------------------------------------------------------------

# log_count REGEX: matching lines in the daemon log so far (0 before the log exists: an empty answer
# would make every `[ ... -lt N ]` below fail with "bad number" instead of waiting).
log_count() { local n; n=$(grep -ciE "$1" /tmp/run.log 2>/dev/null); echo "${n:-0}"; }
wait_log() { # REGEX MIN-COUNT SECONDS
    local i=0
    while [ "$(log_count "$1")" -lt "$2" ] && [ $i -lt $(($3 * 5)) ]; do sleep 0.2; i=$((i + 1)); done
    [ "$(log_count "$1")" -ge "$2" ]
}

# remotaird run for a few capture cycles on vivid + i2c-stub; mid-run vivid is "unplugged" (its
# Disconnect control, then rmmod, which only succeeds once remotaird has closed and unmapped the device)
# and "replugged" (insmod); then SIGTERM. While the run configuration is refused (cameras or sensors not
# built yet), the clean shutdown is still checked with the base configuration.
check_run() {
    local config=$RUN_CONFIG full=yes
    if ! requires run.capture-cycles run "$RUN_CONFIG" "cameras and sensors configuration"; then
        fail run.captures-classified "not built yet: depends on run.capture-cycles"
        fail run.absent-sensors "not built yet: depends on run.capture-cycles"
        fail run.unplug-replug "not built yet: depends on run.capture-cycles"
        config=$CONFIG
        full=no
    fi
    mkdir -p /tmp/state /tmp/run
    # The log exists before the daemon starts: the background job's redirect may open it only after the
    # first wait_log has looked (seen under a loaded CI machine, where TCG runs slowly).
    : > /tmp/run.log
    remotaird run --config "$config" > /tmp/run.log 2>&1 &
    local pid=$!
    if [ $full = yes ]; then
        run_cycles_and_unplug
    else
        sleep 3
    fi
    kill -TERM $pid
    local i=0
    while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    echo "  daemon log (last 25 lines):"
    tail -n 25 /tmp/run.log | sed 's/^/    /'
    if kill -0 $pid 2>/dev/null; then
        kill -KILL $pid
        fail run.clean-shutdown "still running 10 s after SIGTERM: $(tail -n 2 /tmp/run.log | tr '\n' ' ')"
        return
    fi
    wait $pid
    local rc=$?
    if [ $rc -eq 0 ]; then pass run.clean-shutdown "exit 0 within $((i / 10)).$((i % 10)) s of SIGTERM (${config##*/})"
    else fail run.clean-shutdown "exit $rc after SIGTERM: $(tail -n 2 /tmp/run.log | tr '\n' ' ')"; fi
}

absent_sensors_check() {
    if [ "$(log_count 'sensor absent')" -gt 0 ]; then pass run.absent-sensors "$(grep -iE 'sensor absent' /tmp/run.log | head -n 1 | sed 's/.*sensors: //')"
    else fail run.absent-sensors "the BME280 at 0x77 was not reported absent: $(tail -n 3 /tmp/run.log | tr '\n' ' ')"; fi
}

# The daemon logs one line per capture cycle: "monitoring: capture capture=<id> ... result="cam0=clean cam1=clean"",
# where each camera's result is its classifier label, or "failed" / "unusable".
run_cycles_and_unplug() {
    if wait_log ': capture capture=' 2 25; then
        pass run.capture-cycles "$(log_count ': capture capture=') capture cycles: $(grep -E ': capture capture=' /tmp/run.log | tail -n 1 | sed 's/.*: capture //')"
        local verdicts
        verdicts=$(grep -E ': capture capture=' /tmp/run.log | grep -oE 'cam[01]=[a-z_?]+' | sort | uniq -c | tr '\n' ' ')
        if grep -E ': capture capture=' /tmp/run.log | grep -oE 'cam[01]=[a-z_?]+' | grep -vqE '=(failed|unusable)$'; then
            pass run.captures-classified "verdicts over all cycles: $verdicts"
        else fail run.captures-classified "no camera classified (verdicts: ${verdicts:-none}): $(grep -E ': capture capture=' /tmp/run.log | tail -n 1)"; fi
    elif [ "$(log_count 'camera ok')" -ge 2 ]; then
        not_built run.capture-cycles "no capture cycle in 25 s although both cameras are ok: remotaird run does not start the capture loop (Monitoring) in this build"
        not_built run.captures-classified "depends on run.capture-cycles"
        absent_sensors_check
        # The supervisor notices a lost camera on its next capture; with no capture loop nothing touches
        # the device, so the unplug cannot be observed (and the open device keeps vivid from unloading).
        not_built run.unplug-replug "depends on run.capture-cycles (a lost camera is noticed on the next capture)"
        return
    else
        fail run.capture-cycles "fewer than 2 capture cycles in 25 s: $(tail -n 3 /tmp/run.log | tr '\n' ' ')"
        fail run.captures-classified "depends on run.capture-cycles"
    fi
    absent_sensors_check

    # Unplug: vivid's Disconnect control (ioctls answer ENODEV), then rmmod, which the kernel refuses while
    # remotaird still has the device open or a buffer mapped; replug: insmod.
    vmprobe set "$VIDEO0" Disconnect 1 2>/dev/null
    vmprobe set "$VIDEO1" Disconnect 1 2>/dev/null
    local i=0 unloaded=no offline_ok=no
    while [ $i -lt 50 ]; do
        if rmmod vivid 2>/dev/null; then unloaded=yes; break; fi
        sleep 0.2
        i=$((i + 1))
    done
    echo "  vivid unloaded after $((i / 5)).$((i % 5 * 2)) s: $unloaded"
    # Both cameras reported offline before the replug: a node back within the supervisor's next look (it checks
    # on the shared wake-up grid) is reopened without an offline event, and only one camera would recover.
    wait_log 'camera_offline' 2 15 && offline_ok=yes
    insmod /lib/modules/vivid.ko $VIVID_PARAMS
    if [ $unloaded = no ]; then fail run.unplug-replug "rmmod vivid refused for 10 s: remotaird kept the device open or mapped"
    elif [ $offline_ok = no ]; then fail run.unplug-replug "not both cameras offline within 15 s of the disconnect: $(grep -E 'camera_' /tmp/run.log | tail -n 3 | tr '\n' ' ')"
    elif wait_log 'camera_recovered' 2 30; then
        pass run.unplug-replug "$(grep -E 'camera_offline' /tmp/run.log | head -n 1 | sed 's/.*vision: //') ... $(grep -E 'camera_recovered' /tmp/run.log | tail -n 1 | sed 's/.*vision: //')"
    else fail run.unplug-replug "not both cameras recovered within 30 s of the reload: $(grep -E 'camera_' /tmp/run.log | tail -n 3 | tr '\n' ' ')"; fi
}

run_project_checks() {
    check_capture 0
    check_capture 1
    check_buffer_error
    check_dropped_buffers
    check_streamon_error
    check_fatal_streaming_error
    check_classify
    check_bme280
    check_sensirion_unsupported
    check_absent_sensor
    check_run
}
