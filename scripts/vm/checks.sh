# Project checks, sourced by scripts/vm/init.sh: remotaird against the real kernel drivers.
run_project_checks() {
    not_built camera.capture.0 "placeholder"
}
