// A small Node.js host for openphone-mcp tool components, for people who
// want our tools inside their own JavaScript host.
//
// A tool (composed with `wasi-deny` by hosts/build and transpiled by jco,
// see build.mjs) imports `openphone:mcp/upstream`, `ledger` and `log`, and of
// WASI only clocks, poll and a few types. This host implements the three in
// JavaScript with the native host's rules: the key is attached here and
// never handed to the tool; requests go to `baseUrl/v1` only, spaced to 10
// per second; only reads are retried; log lines are one JSON object each,
// with the key and phone numbers masked.
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';
import { clocks, io, sockets } from '@bytecodealliance/preview2-shim';

const SPACING_MS = 100;
const READ_ATTEMPTS = 4;
const TIMEOUT_MS = 20_000;
const MAX_ITEM_BYTES = 256;
const MAX_ENTRY_BYTES = 4096;

/** The native host's rule for API paths: below /v1, no dot segments. */
function safePath(path) {
  return typeof path === 'string' && path.startsWith('/') && path.length <= 512 &&
    !path.includes('//') && /^[A-Za-z0-9/_.-]+$/.test(path) &&
    !path.split('/').some((segment) => segment === '.' || segment === '..');
}

/** `+15555550123` → `+1555•••0123`; the key → `[redacted]`. */
export function redact(text, secrets) {
  let out = String(text);
  for (const secret of secrets) if (secret && secret.length >= 8) out = out.split(secret).join('[redacted]');
  return out.replace(/\+(\d{8,15})(?!\d)/g, (_, d) => `+${d.slice(0, 4)}•••${d.slice(-4)}`);
}

/** A synchronous `fetch`, through a worker thread. */
function syncFetcher() {
  const signal = new SharedArrayBuffer(4);
  const flag = new Int32Array(signal);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./fetch-worker.mjs', import.meta.url), {
    workerData: { port: port2, signal },
    transferList: [port2],
  });
  worker.unref();
  port1.unref();
  return {
    fetch(request) {
      Atomics.store(flag, 0, 0);
      port1.postMessage({ ...request, timeoutMs: TIMEOUT_MS });
      if (Atomics.wait(flag, 0, 0, TIMEOUT_MS + 1_000) === 'timed-out') return { failure: 'timeout' };
      return receiveMessageOnPort(port1)?.message ?? { failure: 'the answer was lost' };
    },
    close: () => worker.terminate(),
  };
}

function sleepMs(ms) {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The imports of a tool component. `apiKey` is the OpenPhone key calls act
 * as; `idempotencyKey` scopes the ledger (none: the ledger answers
 * `no-key`); `writeLog(line)` receives each redacted JSON line.
 */
export function createHost({ apiKey, baseUrl = 'https://api.openphone.com', writeLog = (line) => process.stderr.write(`${line}\n`) }) {
  const http = syncFetcher();
  const base = new URL(baseUrl);
  let lastSent = 0;
  let call = { idempotencyKey: undefined, ledger: new Map() };

  const log = (level, message) => writeLog(JSON.stringify({ level, message: redact(message, [apiKey]) }));

  function exchange(request) {
    if (!safePath(request.path)) {
      throw { tag: 'invalid-request', val: 'the path must be an OpenPhone API path below /v1 (letters, digits, - _ . and /)' };
    }
    if (request.body !== undefined) {
      try { JSON.parse(request.body); } catch (error) {
        throw { tag: 'invalid-request', val: `the body is not valid JSON: ${error.message}` };
      }
    }
    const url = new URL(`${base.pathname.replace(/\/$/, '')}/v1${request.path}`, base);
    for (const [name, value] of request.query) url.searchParams.append(name, value);
    const isRead = request.method === 'get';
    const headers = { authorization: apiKey, accept: 'application/json' };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    let last = { tag: 'unavailable', val: 'no attempt made' };
    for (let attempt = 0; attempt < (isRead ? READ_ATTEMPTS : 1); attempt += 1) {
      if (attempt > 0) sleepMs(Math.min(250 * 2 ** (attempt - 1), 8_000));
      sleepMs(lastSent + SPACING_MS - Date.now());
      lastSent = Date.now();
      const answer = http.fetch({ url: url.href, method: request.method.toUpperCase(), headers, body: request.body });
      if (answer.failure) {
        log('warn', `OpenPhone request to ${request.path} failed: ${answer.failure}`);
        last = answer.failure === 'timeout' ? { tag: 'timeout' } : { tag: 'unavailable', val: answer.failure };
        if (!isRead) break;
      } else if (answer.status === 429) {
        last = { tag: 'rate-limited' };
      } else if (answer.status >= 500 && isRead) {
        last = { tag: 'unavailable', val: `OpenPhone answered HTTP ${answer.status}` };
      } else {
        const body = answer.status >= 400 ? redact(answer.body, [apiKey]) : answer.body;
        return { status: answer.status, body };
      }
    }
    throw last;
  }

  function checkEntry(item, entry) {
    if (Buffer.byteLength(item) > MAX_ITEM_BYTES) throw { tag: 'refused', val: 'a ledger item is at most 256 bytes' };
    if (entry !== undefined) {
      if (Buffer.byteLength(entry) > MAX_ENTRY_BYTES) throw { tag: 'refused', val: 'a ledger entry is at most 4 KiB of JSON' };
      try { JSON.parse(entry); } catch { throw { tag: 'refused', val: 'a ledger entry must be JSON' }; }
    }
  }

  const ledger = {
    get(item) {
      if (call.idempotencyKey === undefined) throw { tag: 'no-key' };
      checkEntry(item);
      return call.ledger.get(item);
    },
    put(item, entry) {
      if (call.idempotencyKey === undefined) throw { tag: 'no-key' };
      checkEntry(item, entry);
      call.ledger.set(item, entry);
    },
  };

  const imports = {
    'openphone:mcp/types@0.1.0': {},
    'openphone:mcp/upstream@0.1.0': {
      send: (request) => exchange(request),
      sendRecorded(request, item, entry) {
        try { ledger.put(item, entry); } catch (error) {
          throw { tag: 'invalid-request', val: `the entry was not recorded: ${error.val ?? error.tag}` };
        }
        return exchange(request);
      },
    },
    'openphone:mcp/ledger@0.1.0': ledger,
    'openphone:mcp/log@0.1.0': {
      write: (level, message) => log(level, message),
      progress: () => {},
    },
    'wasi:clocks/monotonic-clock@0.2.6': clocks.monotonicClock,
    'wasi:clocks/wall-clock@0.2.6': clocks.wallClock,
    'wasi:io/poll@0.2.6': io.poll,
    'wasi:io/streams@0.2.6': io.streams,
    'wasi:io/error@0.2.6': io.error,
    'wasi:sockets/network@0.2.6': sockets.network,
  };

  // jco looks imports up by their name with and without the version.
  for (const [name, value] of Object.entries(imports)) imports[name.replace(/@[^@]*$/, '')] = value;

  return {
    imports,
    /** Starts a call: its ledger is per idempotency key, kept in memory. */
    beginCall(idempotencyKey) {
      if (call.idempotencyKey !== idempotencyKey) call = { idempotencyKey, ledger: new Map() };
    },
    close: () => http.close(),
  };
}

/**
 * Loads a transpiled tool (`dir/<name>.js` from build.mjs) with `host`'s
 * imports; returns its `tool` export: `list()` and `call(name, json, context)`.
 */
export async function loadTool(dir, name, host) {
  const { instantiate } = await import(new URL(`${name}.js`, `file://${dir}/`).href);
  const compile = async (path) => WebAssembly.compile(await readFile(new URL(path, `file://${dir}/`)));
  const root = await instantiate(compile, host.imports);
  return root.tool;
}
