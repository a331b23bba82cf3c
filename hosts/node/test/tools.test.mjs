// Our tool components in Node (host.mjs), against the OpenPhone simulator:
// listing, a call that sends exactly one spec-valid request with the raw
// key, bad input, a read tool, redacted logs, and the hostile component
// contained (when wac is on PATH to compose it; required under CI).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHost, loadTool, redact } from '../host.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const dist = path.join(root, 'dist/node');
const KEY = 'sim-business-key-0000000000000001';
const SALES = '+12125550100';
const ALICE = '+14155550111';
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target');

let sim;
let base;

before(async () => {
  const bin = process.env.OPENPHONE_SIM ?? path.join(targetDir, 'debug/openphone-sim');
  sim = spawn(bin, ['--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise((resolve, reject) => {
    let seen = '';
    sim.stdout.on('data', (chunk) => {
      seen += chunk;
      const match = seen.match(/listening on (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
    sim.on('exit', (code) => reject(new Error(`the simulator exited (${code})`)));
  });
});

after(() => sim?.kill());

const requests = async () => (await fetch(`${base}/__sim/requests`)).json();

function host() {
  const lines = [];
  const h = createHost({ apiKey: KEY, baseUrl: base, writeLog: (line) => lines.push(line) });
  return { h, lines };
}

test('a tool lists itself and sends one spec-valid request with the raw key', async () => {
  const { h, lines } = host();
  const tool = await loadTool(path.join(dist, 'send-message'), 'send-message', h);
  const [descriptor, ...more] = tool.list();
  assert.equal(more.length, 0);
  assert.equal(descriptor.name, 'send-message');
  assert.equal(descriptor.scope, 'messages:send');
  assert.equal(JSON.parse(descriptor.inputSchema).type, 'object');

  const before = (await requests()).length;
  const output = tool.call('send-message', JSON.stringify({ from: SALES, to: ALICE, content: 'Hello from Node' }),
    { requestId: '1', idempotencyKey: undefined });
  assert.equal(output.isError, false, output.text);
  assert.equal(JSON.parse(output.structured).to, ALICE);
  const sent = (await requests()).slice(before);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].method, 'POST');
  assert.equal(sent[0].path, '/v1/messages');
  assert.equal(sent[0].apiKey, KEY, 'the raw key, attached by the host');
  const violations = await (await fetch(`${base}/__sim/violations`)).json();
  assert.deepEqual(violations, [], 'every request matches the OpenAPI spec');
  assert.ok(lines.every((line) => !line.includes(KEY)));
  h.close();
});

test('bad input is an invalid-arguments error and sends nothing', async () => {
  const { h } = host();
  const tool = await loadTool(path.join(dist, 'send-message'), 'send-message', h);
  const before = (await requests()).length;
  assert.throws(
    () => tool.call('send-message', JSON.stringify({ from: SALES, to: 'not a number', content: 'x' }), { requestId: '2' }),
    (error) => error.payload?.tag === 'invalid-arguments' && /`to`/.test(error.payload.val),
  );
  assert.throws(() => tool.call('no-such-tool', '{}', { requestId: '3' }), (error) => error.payload?.tag === 'unknown-tool');
  assert.equal((await requests()).length, before);
  h.close();
});

test('a read tool pages through the API', async () => {
  const { h } = host();
  const tool = await loadTool(path.join(dist, 'fetch-messages'), 'fetch-messages', h);
  const output = tool.call('fetch-messages', JSON.stringify({ inbox: SALES, participant: ALICE, maxResults: 5 }), { requestId: '4' });
  assert.equal(output.isError, false, output.text);
  assert.equal(JSON.parse(output.structured).messages.length, 5);
  h.close();
});

test('log lines are masked', () => {
  assert.equal(redact(`key ${KEY} to +14155550111`, [KEY]), 'key [redacted] to +1415•••0111');
});

test('the hostile component is contained by wasi-deny', async (t) => {
  const wac = process.env.WAC ?? 'wac';
  let hostileWasm = path.join(targetDir, 'wasm-guests/wasm32-wasip2/release/hostile_tool.wasm');
  const deny = path.join(targetDir, 'wasm-guests/wasm32-wasip2/release/wasi_deny.wasm');
  const dir = mkdtempSync(path.join(tmpdir(), 'hostile-'));
  try {
    execFileSync(wac, ['plug', '--plug', deny, hostileWasm, '-o', path.join(dir, 'hostile.wasm')]);
  } catch (error) {
    if (process.env.CI) throw error;
    t.skip(`wac is not available (${error.message.split('\n')[0]})`);
    return;
  }
  execFileSync(path.join(here, '../node_modules/.bin/jco'), ['transpile', path.join(dir, 'hostile.wasm'), '-o', dir,
    '--instantiation', 'async', '--name', 'hostile', '--quiet']);
  process.env.HOSTILE_ENV_SECRET = 'ENV-SECRET-node-77';
  const { h, lines } = host();
  const tool = await loadTool(dir, 'hostile', h);
  const run = (name, args = {}) => tool.call(name, JSON.stringify(args), { requestId: name }).text;
  assert.match(run('hostile-env'), /^env vars: 0; names: \[\]; args: 0/);
  const files = run('hostile-files');
  assert.ok(!files.includes('READ') && !files.includes('LISTED'), files);
  const socket = run('hostile-socket', { addr: new URL(base).host });
  assert.ok(socket.includes('denied') && !socket.includes('connected'), socket);
  assert.match(run('hostile-request', { method: 'get', path: '/../__sim/requests' }), /not sent/);
  assert.equal(run('hostile-stdout'), 'wrote to stdout and stderr');
  assert.ok(lines.every((line) => !line.includes(KEY) && !line.includes('ENV-SECRET')));
  assert.ok(existsSync(dir));
  h.close();
});
