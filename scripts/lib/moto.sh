# Starts a pinned moto_server on a free loopback port for the calling script, and stops it by its
# PID when the script exits. Source it, then call `start_moto NAME` (once per server wanted); it
# sets MOTO_PORT and MOTO_PID of the last one. The venv `.venv-moto` is created on first use.

MOTO_VERSION="5.2.5"
MOTO_VENV=".venv-moto"
MOTO_PIDS=()
MOTO_LOGS=()

start_moto() {
  local name=$1
  # pip's output is captured first: `pip show | grep -q` fails under pipefail when grep exits early.
  local installed
  installed=$("$MOTO_VENV/bin/pip" show moto 2>/dev/null || true)
  if [ ! -x "$MOTO_VENV/bin/moto_server" ] || ! grep -qx "Version: $MOTO_VERSION" <<<"$installed"; then
    echo "$name: installing moto[server]==$MOTO_VERSION into $MOTO_VENV"
    python3 -m venv "$MOTO_VENV"
    "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
  MOTO_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  MOTO_LOG=$(mktemp -t moto.XXXXXX.log)
  "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  MOTO_PIDS+=("$MOTO_PID")
  MOTO_LOGS+=("$MOTO_LOG")
  trap stop_moto EXIT
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then echo "$name: moto_server exited:"; cat "$MOTO_LOG"; exit 1; fi
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null || {
    echo "$name: moto_server did not start"
    cat "$MOTO_LOG"
    exit 1
  }
  echo "$name: moto_server $MOTO_VERSION on 127.0.0.1:$MOTO_PORT (pid $MOTO_PID)"
}

# Stops every moto_server this script started.
stop_moto() {
  local pid
  for pid in "${MOTO_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -f "${MOTO_LOGS[@]}"
}
