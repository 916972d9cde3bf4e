# Sourced by the toolchain's wrappers: create or refresh a venv from a pinned
# requirements file. A stamp holding the requirements' sha256 makes the
# common case (nothing changed) cost one hash instead of a pip run.
# usage: toolchain_venv VENV_DIR REQUIREMENTS_FILE   (prints nothing on success)

toolchain_venv() {
  local venv="$1" req="$2" want have=""
  # Hash the file and what it includes with -r, so a change in either refreshes.
  want="$(cat "$req" $(sed -n 's/^-r[[:space:]]*//p' "$req" | sed "s|^|$(dirname "$req")/|") | sha256sum | cut -d' ' -f1)"
  [ -f "$venv/.requirements.sha256" ] && have="$(cat "$venv/.requirements.sha256")"
  if [ -x "$venv/bin/python" ] && [ "$want" = "$have" ]; then
    return 0
  fi
  echo "setting up $venv from $(basename "$req") ..." >&2
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { echo "error: python3 -m venv $venv failed" >&2; return 1; }
  fi
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >"$venv/.pip.log" 2>&1; then
    echo "error: pip install -r $req failed; see $venv/.pip.log" >&2
    tail -n 20 "$venv/.pip.log" >&2
    return 1
  fi
  echo "$want" >"$venv/.requirements.sha256"
}
