# Starts and stops the S3 peer for the uplink suites: moto_server with authentication on (an IAM user and key made
# through its API), one bucket, and a TCP relay in front of it for staged outages. Sourced after lib.sh.
# After start_s3_peer: S3_ENDPOINT (through the relay), S3_MOTO_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET,
# S3_RELAY_PID, S3_PYTHON. stop_s3_peer ends only the processes it started.

S3_PEER_PIDS=()

free_port() {
    "$S3_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {
    local port="$1" tries=100
    while ((tries-- > 0)); do
        "$S3_PYTHON" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$port" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

start_s3_peer() {
    local logdir="$1"
    ensure_venv "$REPO_ROOT/.venv-test" "$REPO_ROOT/scripts/testing/requirements-test.txt"
    S3_PYTHON="$REPO_ROOT/.venv-test/bin/python"
    S3_BUCKET="remotair-test"
    local moto_port relay_port
    moto_port="$(free_port)"
    INITIAL_NO_AUTH_ACTION_COUNT=3 "$REPO_ROOT/.venv-test/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$logdir/moto.log" 2>&1 &
    S3_PEER_PIDS+=($!)
    wait_for_port "$moto_port" || { cat "$logdir/moto.log" >&2; die "moto_server did not start on port $moto_port"; }
    S3_MOTO_ENDPOINT="http://127.0.0.1:$moto_port"
    local assignments
    assignments="$("$S3_PYTHON" "$REPO_ROOT/scripts/testing/s3peer/moto_setup.py" "$S3_MOTO_ENDPOINT" "$S3_BUCKET")" || die "moto set-up failed"
    eval "$assignments"
    relay_port="$(free_port)"
    "$S3_PYTHON" "$REPO_ROOT/scripts/testing/s3peer/tcp_relay.py" "$relay_port" "$moto_port" >"$logdir/relay.log" 2>&1 &
    S3_RELAY_PID=$!
    S3_PEER_PIDS+=($S3_RELAY_PID)
    wait_for_port "$relay_port" || die "tcp relay did not start on port $relay_port"
    S3_ENDPOINT="http://127.0.0.1:$relay_port"
    log "S3 peer: moto_server on $S3_MOTO_ENDPOINT (auth on, key $S3_ACCESS_KEY), relay $S3_ENDPOINT, bucket $S3_BUCKET"
}

stop_s3_peer() {
    local pid
    for pid in "${S3_PEER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    S3_PEER_PIDS=()
}
