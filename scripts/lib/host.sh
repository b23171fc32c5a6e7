# Starts the local host for the calling script: `feedback serve` (target/debug, build it first)
# on a free loopback port with a fresh data directory, stopped by its PID and removed when the
# script exits. Source it, then call `start_host NAME [serve options...]`; it sets HOST_URL,
# HOST_PID and HOST_DIR (data in $HOST_DIR/data, log in $HOST_DIR/serve.log) once /healthz answers.

start_host() {
  local name=$1
  shift
  HOST_DIR=$(mktemp -d -t "feedback-$name.XXXXXX")
  target/debug/feedback serve --addr 127.0.0.1:0 --data "$HOST_DIR/data" --schedule-every 1s \
    --region-file infra/regions/72-tyumen.toml "$@" >"$HOST_DIR/serve.log" 2>&1 &
  HOST_PID=$!
  trap stop_host EXIT
  HOST_URL=""
  for _ in $(seq 1 300); do
    HOST_URL=$(sed -n 's/^feedback: listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$HOST_DIR/serve.log" | head -n 1)
    if [ -n "$HOST_URL" ] && curl -fsS "$HOST_URL/healthz" >/dev/null 2>&1; then break; fi
    HOST_URL=""
    if ! kill -0 "$HOST_PID" 2>/dev/null; then
      echo "$name: feedback serve exited:" >&2
      cat "$HOST_DIR/serve.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  if [ -z "$HOST_URL" ]; then
    echo "$name: feedback serve did not start" >&2
    cat "$HOST_DIR/serve.log" >&2
    exit 1
  fi
  echo "$name: feedback serve on $HOST_URL (data $HOST_DIR/data)"
}

stop_host() {
  kill "$HOST_PID" 2>/dev/null || true
  wait "$HOST_PID" 2>/dev/null || true
  rm -rf "$HOST_DIR"
}
