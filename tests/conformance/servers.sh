# Shared by run.sh and oauth.sh: the checks before a run (binaries, Node
# packages), a work directory, the simulator and server processes they start,
# and cleanup on exit. The sourcing script defines `log`, `die`, HERE and
# BIN_DIR, and sets WORK_NAME (the temp dir's prefix).
# shellcheck shell=bash

# Refuses to go on without the two binaries and curl.
require_binaries() {
  local bin
  for bin in openphone-mcp openphone-sim; do
    [[ -x "$BIN_DIR/$bin" ]] ||
      die "$BIN_DIR/$bin not found (cargo build -p openphone-mcp -p openphone-sim, or set OPENPHONE_MCP_BIN_DIR)"
  done
  command -v curl >/dev/null || die "curl is needed"
}

# Runs `npm ci` when one of the files given (paths inside node_modules) is
# missing or node_modules is older than the lock file (npm ci writes
# node_modules/.package-lock.json); then checks they exist.
install_node_packages() {
  local file stale=""
  for file in "$@"; do
    [[ -f "$file" ]] || stale=1
  done
  [[ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]] && stale=1
  if [[ -n "$stale" ]]; then
    log "installing Node packages (npm ci)"
    (cd "$HERE" && npm ci --no-audit --no-fund)
  fi
  for file in "$@"; do
    [[ -f "$file" ]] || die "$file missing after npm ci"
  done
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/openphone-${WORK_NAME}.XXXXXX")"
SIM_PID=""
MCP_PID=""
cleanup() {
  local rc=$?
  for pid in "$MCP_PID" "$SIM_PID"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
    fi
  done
  for pid in "$MCP_PID" "$SIM_PID"; do
    [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
  done
  if ((rc != 0)) && [[ -f "$WORK/mcp.log" ]]; then
    log "openphone-mcp log (last 40 lines):"
    tail -n 40 "$WORK/mcp.log" >&2 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until the process wrote its http://127.0.0.1:PORT address into its log
# (both binaries print it once bound), after the text $4 if given; prints
# that base URL.
wait_for_address() {
  local name="$1" pid="$2" logfile="$3" before="${4:-}" deadline=$((SECONDS + 60)) url
  while ((SECONDS < deadline)); do
    url="$(grep -oE "${before}http://127\.0\.0\.1:[0-9]+" "$logfile" 2>/dev/null | head -n 1 || true)"
    url="${url#"$before"}"
    if [[ -n "$url" ]]; then
      printf '%s\n' "$url"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$logfile" >&2; die "$name exited before listening"; }
    sleep 0.2
  done
  cat "$logfile" >&2
  die "$name did not report its address within 60s"
}

# Starts openphone-sim on a free loopback port (it binds port 0 and logs
# which); sets SIM_PID and SIM_URL once it answers HTTP (it has no /health).
start_sim() {
  "$BIN_DIR/openphone-sim" --listen 127.0.0.1:0 >"$WORK/sim.log" 2>&1 &
  SIM_PID=$!
  SIM_URL="$(wait_for_address openphone-sim "$SIM_PID" "$WORK/sim.log")"
  local deadline=$((SECONDS + 30))
  until curl -s -o /dev/null --max-time 2 "$SIM_URL/"; do
    ((SECONDS < deadline)) || die "openphone-sim at $SIM_URL does not answer"
    sleep 0.2
  done
  log "openphone-sim at $SIM_URL"
}
