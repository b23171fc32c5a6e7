# Pinned Python tools for the calling script, each in its own venv. Source it, then call
# `ensure_venv NAME DIR "PINS"`: it creates DIR on first use and reinstalls when the pins change,
# recording them in DIR/.pins once the install has succeeded.

ensure_venv() {
  local name=$1 dir=$2 pins=$3
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.pins" 2>/dev/null)" != "$pins" ]; then
    echo "$name: installing $pins into $dir"
    python3 -m venv "$dir"
    # shellcheck disable=SC2086 # the pins are separate words on purpose
    "$dir/bin/pip" install --quiet --disable-pip-version-check $pins
    echo "$pins" >"$dir/.pins"
  fi
}
