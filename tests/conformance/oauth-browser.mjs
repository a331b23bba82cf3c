// Browser-driven OAuth test of openphone-mcp's authorization server.
// Started by oauth.sh, which runs openphone-sim and `openphone-mcp serve`
// (OAuth mode) first; see README.md.
//
// Part 1: the official MCP conformance suite's authorization-server
//   scenarios (`conformance authorization`), with headless Chromium doing
//   the consent in `authorization-code-grant`.
// Part 2: our own flow in the browser: Deny, a wrong API key, then Approve;
//   the code is exchanged at /token with PKCE and the access token used on
//   /mcp (initialize, tools/list).
// Part 3: every page a person sees — the homepage, the consent page, an
//   error page — with a Content-Security-Policy, no console error or
//   warning (a CSP violation is one), and a full-page screenshot each, kept
//   in OAUTH_WORK/screenshots (or CONFORMANCE_RESULTS_DIR/screenshots).
//
// Every check prints PASS/FAIL; the last line is `oauth: N passed, M failed`,
// and the exit code is non-zero if anything failed.
//
// Environment (set by oauth.sh):
//   OAUTH_ISSUER      http://127.0.0.1:PORT of the running openphone-mcp
//   OAUTH_API_KEY     an OpenPhone API key the simulator accepts
//   OAUTH_CHROMIUM    the Chromium executable
//   OAUTH_SUITE       dist/index.js of @modelcontextprotocol/conformance >= 0.2.0-alpha.12
//   OAUTH_WORK        a scratch directory
//   OAUTH_MCP_LOG     openphone-mcp's log file (checked for leaked secrets)
//   OAUTH_SUITE_TIMEOUT_SECS  time the suite may take (default 180)
//   CONFORMANCE_RESULTS_DIR   if set, the suite's checks.json files are kept here

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
const puppeteer = require('puppeteer-core');

function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`[oauth] error: ${name} is not set (run oauth.sh)`);
    process.exit(2);
  }
  return value;
}

const ISSUER = env('OAUTH_ISSUER');
const RESOURCE = `${ISSUER}/mcp`;
const API_KEY = env('OAUTH_API_KEY');
const CHROMIUM = env('OAUTH_CHROMIUM');
const SUITE = env('OAUTH_SUITE');
const WORK = env('OAUTH_WORK');
const MCP_LOG = env('OAUTH_MCP_LOG');
const SUITE_TIMEOUT_MS = 1000 * Number(process.env.OAUTH_SUITE_TIMEOUT_SECS || 180);
const RESULTS_DIR = process.env.CONFORMANCE_RESULTS_DIR
  ? path.resolve(process.env.CONFORMANCE_RESULTS_DIR)
  : path.join(WORK, 'suite-results');
const SUITE_SCENARIOS = ['authorization-server-metadata-endpoint', 'authorization-code-grant'];
const CSRF_COOKIE = '__Host-openphone-mcp-csrf';
const STEP_TIMEOUT_MS = 20_000;

// ---------------------------------------------------------------- checks

const results = [];
/** Values the server must never log (keys, codes, tokens). */
const secrets = new Set([API_KEY]);

function record(ok, name, detail = '') {
  results.push({ ok, name });
  const line = `${ok ? 'PASS' : 'FAIL'} ${name}${!ok && detail ? ` — ${detail}` : ''}`;
  (ok ? console.log : console.error)(line);
  return ok;
}

class CheckFailed extends Error {}

/** Records a check; throws (ending the current part) if it failed. */
function check(ok, name, detail = '') {
  if (!record(Boolean(ok), name, ok ? '' : detail)) throw new CheckFailed(name);
}

/** Runs one part; an unexpected error counts as one failed check. */
async function part(title, fn) {
  console.log(`\n=== ${title} ===`);
  try {
    await fn();
  } catch (error) {
    if (!(error instanceof CheckFailed)) {
      record(false, `${title}: unexpected error`, error?.stack || String(error));
    } else {
      console.error(`[oauth] ${title}: stopped at the first failed check`);
    }
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000}s: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- helpers

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function register(name, redirectUri) {
  const response = await fetch(`${ISSUER}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: name, redirect_uris: [redirectUri] }),
  });
  const body = await response.json().catch(() => null);
  check(
    response.status === 201 && typeof body?.client_id === 'string',
    `POST /register creates the public client "${name}"`,
    `status ${response.status}, body ${JSON.stringify(body)}`,
  );
  return body.client_id;
}

function base64url(bytes) {
  return Buffer.from(bytes).toString('base64url');
}

async function launchBrowser() {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true, // Chromium's new headless mode (--headless=new)
    // As root (CI) Chromium will not start with its sandbox; the browser
    // only ever visits this test's loopback servers.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
    timeout: 60_000,
  });
}

/**
 * Opens the consent page for `authorizeUrl` in a fresh browser context and
 * checks what a user sees. Returns { context, page, scopes, posts }.
 */
async function openConsent(browser, authorizeUrl, { label, clientName, redirectHost }) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  // What the browser sends and gets for each form submission.
  const posts = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().startsWith(`${ISSUER}/authorize`)) {
      posts.push({ origin: request.headers().origin, response: null });
    }
  });
  page.on('response', (response) => {
    const request = response.request();
    if (request.method() === 'POST' && request.url().startsWith(`${ISSUER}/authorize`)) {
      const last = posts[posts.length - 1];
      if (last && !last.response) last.response = response;
    }
  });

  const response = await page.goto(authorizeUrl, { waitUntil: 'load' });
  check(
    response?.status() === 200 && page.url().startsWith(`${ISSUER}/authorize`),
    `${label}: GET /authorize shows the consent page`,
    `status ${response?.status()}, at ${page.url()}`,
  );
  const view = await page.evaluate(() => ({
    title: document.title,
    who: document.querySelector('.who')?.innerText ?? '',
    form: Boolean(document.querySelector('form[method="post"][action="/authorize"]')),
    transaction: document.querySelector('input[type=hidden][name=transaction]')?.value ?? '',
    csrf: document.querySelector('input[type=hidden][name=csrf]')?.value ?? '',
    keyType: document.querySelector('#api_key')?.type ?? null,
    scopes: [...document.querySelectorAll('input[type=checkbox][name=scope]')].map((b) => ({
      value: b.value,
      checked: b.checked,
    })),
    approve: Boolean(document.querySelector('button[name=action][value=approve]')),
    deny: Boolean(document.querySelector('button[name=action][value=deny]')),
  }));
  check(
    view.title.includes(clientName) && view.who.includes(clientName),
    `${label}: the consent page names the client "${clientName}"`,
    `title ${JSON.stringify(view.title)}, text ${JSON.stringify(view.who)}`,
  );
  check(
    view.who.includes(redirectHost),
    `${label}: the consent page shows where it will redirect (${redirectHost})`,
    `text ${JSON.stringify(view.who)}`,
  );
  check(
    view.form && view.transaction && view.csrf && view.keyType === 'password' && view.approve && view.deny,
    `${label}: the form has transaction, csrf, a password field for the key, Approve and Deny`,
    JSON.stringify({ ...view, transaction: Boolean(view.transaction), csrf: Boolean(view.csrf) }),
  );
  const cookie = (await context.cookies()).find((c) => c.name === CSRF_COOKIE);
  check(
    cookie && cookie.secure && cookie.httpOnly && cookie.path === '/' && cookie.sameSite === 'Strict' &&
      cookie.domain === '127.0.0.1',
    `${label}: Chromium keeps the ${CSRF_COOKIE} cookie on http://127.0.0.1 (Secure, HttpOnly, SameSite=Strict, Path=/)`,
    cookie
      ? JSON.stringify({ ...cookie, value: '…' })
      : 'no such cookie: Chromium refused it (is http://127.0.0.1 not a secure context?)',
  );
  return { context, page, scopes: view.scopes, posts };
}

/** Why a form submission did not lead where it should, for failure messages. */
async function describeSubmission(page, posts) {
  const last = posts[posts.length - 1];
  if (!last) return `no POST /authorize was sent; the page is at ${page.url()}`;
  let body = '';
  if (last.response) {
    body = await last.response.text().catch(() => '');
    body = body.replace(/<style>.*?<\/style>/s, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  }
  return (
    `POST /authorize (sent with Origin: ${last.origin ?? '(none)'}) answered ` +
    `${last.response ? last.response.status() : '(no response)'}: ${body.slice(0, 300)}; ` +
    `the page is at ${page.url()}`
  );
}

/** Clicks Approve or Deny and waits for the resulting navigation. */
async function submit(page, action) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }).catch(() => null),
    page.click(`button[name=action][value=${action}]`),
  ]);
}

/** A loopback server playing the OAuth client's redirect URI. */
async function startCallbackServer() {
  const hits = [];
  const waiters = [];
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, `http://${request.headers.host}`);
    if (url.pathname !== '/callback') {
      response.writeHead(404).end('not found');
      return;
    }
    const hit = { url: url.href, params: url.searchParams, referer: request.headers.referer };
    hits.push(hit);
    response.writeHead(200, { 'content-type': 'text/plain' }).end('callback received; you can close this page');
    for (const resolve of waiters.splice(0)) resolve(hit);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    hits,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** One JSON-RPC request to /mcp; returns { status, headers, message }. */
async function mcp(token, body, session) {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-11-25',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  if (session) headers['mcp-session-id'] = session;
  const response = await fetch(RESOURCE, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await response.text();
  let message = null;
  if ((response.headers.get('content-type') || '').includes('text/event-stream')) {
    for (const line of text.split(/\r?\n/)) {
      if (!line.startsWith('data:')) continue;
      try {
        const data = JSON.parse(line.slice(5));
        if (body.id !== undefined && data.id === body.id) message = data;
      } catch {
        // not JSON: ignore
      }
    }
  } else if (text) {
    try {
      message = JSON.parse(text);
    } catch {
      message = { unparsed: text.slice(0, 300) };
    }
  }
  return { status: response.status, headers: response.headers, message };
}

// ---------------------------------------------------------------- part 1

async function suitePart(browser) {
  const port = await freePort();
  const clientName = 'MCP Conformance Suite';
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const clientId = await register(clientName, redirectUri);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const startedAt = Date.now();

  const args = [
    SUITE, 'authorization',
    '--url', ISSUER,
    '--client-id', clientId,
    '--resource', RESOURCE,
    '--port', String(port),
    '--output-dir', RESULTS_DIR,
  ];
  console.log(`[oauth] conformance authorization --url ${ISSUER} --client-id ${clientId} --resource ${RESOURCE} --port ${port}`);
  const child = spawn(process.execPath, args, { cwd: WORK, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let consent = null;
  const onLine = (line) => {
    console.log(`  | ${line}`);
    if (!consent && line.startsWith(`${ISSUER}/authorize?`)) {
      consent = browserConsentForSuite(browser, line.trim(), clientName, port);
      // Stop waiting on the suite (it waits 5 minutes for a callback) as soon
      // as the browser could not complete the consent.
      consent.catch(() => child.kill('SIGTERM'));
    }
  };
  readline.createInterface({ input: child.stdout }).on('line', onLine);
  readline.createInterface({ input: child.stderr }).on('line', onLine);

  const timer = setTimeout(() => {
    console.error(`[oauth] the suite took more than ${SUITE_TIMEOUT_MS / 1000}s: stopping it`);
    child.kill('SIGKILL');
  }, SUITE_TIMEOUT_MS);
  const { code, signal } = await exited;
  clearTimeout(timer);

  if (consent) {
    await consent.catch((error) => {
      if (!(error instanceof CheckFailed)) {
        record(false, 'suite: the browser completes the consent', error?.stack || String(error));
      }
    });
  } else {
    record(false, 'suite: authorization-code-grant printed an authorization URL for the browser');
  }

  // The suite saves one checks.json per scenario under RESULTS_DIR.
  for (const scenario of SUITE_SCENARIOS) {
    const prefix = `authorization-server-${scenario}-`;
    const dirs = existsSync(RESULTS_DIR)
      ? readdirSync(RESULTS_DIR).filter((d) => d.startsWith(prefix)).sort()
      : [];
    const dir = dirs.at(-1);
    const file = dir && path.join(RESULTS_DIR, dir, 'checks.json');
    if (!file || !existsSync(file)) {
      record(false, `suite scenario ${scenario}`, `no checks.json under ${RESULTS_DIR}`);
      continue;
    }
    const checks = JSON.parse(readFileSync(file, 'utf8'));
    for (const c of checks) {
      console.log(`  ${c.status.padEnd(7)} ${c.id}${c.errorMessage ? `: ${c.errorMessage}` : ''}`);
    }
    const failed = checks.filter((c) => c.status === 'FAILURE');
    const passed = checks.filter((c) => c.status === 'SUCCESS');
    record(
      failed.length === 0 && passed.length > 0,
      `suite scenario ${scenario} (${passed.length} checks passed, ${failed.length} failed)`,
      failed.map((c) => `${c.id}: ${c.errorMessage ?? c.description}`).join('; ') || 'no check passed',
    );
  }
  record(
    code === 0,
    `suite: conformance authorization exits 0 (took ${((Date.now() - startedAt) / 1000).toFixed(1)}s)`,
    `exit code ${code}${signal ? `, signal ${signal}` : ''}`,
  );
}

/** The user's part of `authorization-code-grant`: consent in the browser. */
async function browserConsentForSuite(browser, authorizeUrl, clientName, port) {
  const label = 'suite consent';
  const { context, page, scopes, posts } = await openConsent(browser, authorizeUrl, {
    label,
    clientName,
    redirectHost: '127.0.0.1',
  });
  try {
    check(
      scopes.length > 0 && scopes.every((s) => s.checked),
      `${label}: every requested scope is offered and ticked (${scopes.map((s) => s.value).join(' ')})`,
      JSON.stringify(scopes),
    );
    await page.type('#api_key', API_KEY);
    await submit(page, 'approve');
    const landed = new URL(page.url());
    check(
      landed.origin === `http://127.0.0.1:${port}` && landed.pathname === '/callback' &&
        landed.searchParams.get('code') && !landed.searchParams.has('error'),
      `${label}: Approve redirects the browser to the suite's callback with a code`,
      await describeSubmission(page, posts),
    );
    secrets.add(landed.searchParams.get('code'));
  } finally {
    await context.close().catch(() => {});
  }
}

// ---------------------------------------------------------------- part 2

async function ownPart(browser) {
  const callback = await startCallbackServer();
  try {
    await ownFlow(browser, callback);
  } finally {
    await callback.close();
  }
}

async function ownFlow(browser, callback) {
  const clientName = 'Browser Test Assistant';
  const clientId = await register(clientName, callback.redirectUri);
  const verifier = base64url(randomBytes(32));
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const requested = ['messages:read', 'calls:read'];
  const authorizeUrl = (state) => {
    const url = new URL(`${ISSUER}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: callback.redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      scope: requested.join(' '),
      resource: RESOURCE,
    }).toString();
    return url.href;
  };
  const ctx = { label: '', clientName, redirectHost: '127.0.0.1' };

  // Deny: the client gets access_denied, with its state and our issuer.
  {
    const state = base64url(randomBytes(16));
    const { context, page, posts } = await openConsent(browser, authorizeUrl(state), { ...ctx, label: 'deny' });
    try {
      const before = callback.hits.length;
      await submit(page, 'deny');
      const hit = callback.hits[before];
      check(
        hit && hit.params.get('error') === 'access_denied',
        'deny: Deny redirects to the client with error=access_denied',
        hit ? `callback got ${hit.url}` : await describeSubmission(page, posts),
      );
      check(
        hit.params.get('state') === state && hit.params.get('iss') === ISSUER && !hit.params.has('code'),
        'deny: the redirect carries the state and iss, and no code',
        `callback got ${hit.url}`,
      );
    } finally {
      await context.close().catch(() => {});
    }
  }

  // A wrong key, then the right one on the page that comes back.
  const state = base64url(randomBytes(16));
  const { context, page, scopes, posts } = await openConsent(browser, authorizeUrl(state), {
    ...ctx,
    label: 'approve',
  });
  let code;
  try {
    check(
      scopes.map((s) => s.value).sort().join(' ') === [...requested].sort().join(' ') && scopes.every((s) => s.checked),
      `approve: the page offers exactly the requested scopes, ticked (${requested.join(' ')})`,
      JSON.stringify(scopes),
    );
    const wrongKey = `sim-wrong-key-${randomBytes(8).toString('hex')}`;
    secrets.add(wrongKey);
    const before = callback.hits.length;
    await page.type('#api_key', wrongKey);
    await submit(page, 'approve');
    const last = posts[posts.length - 1];
    const html = await page.content();
    const alert = await page.$eval('[role=alert]', (e) => e.innerText).catch(() => null);
    check(
      last?.response?.status() === 200 && page.url().startsWith(`${ISSUER}/authorize`) && alert,
      'wrong key: the consent page comes back with an error message',
      await describeSubmission(page, posts),
    );
    console.log(`  (the page says: ${JSON.stringify(alert)})`);
    const keyField = await page.$eval('#api_key', (e) => e.value).catch(() => null);
    check(
      !html.includes(wrongKey) && keyField === '',
      'wrong key: the page does not echo the key (HTML and password field)',
      `key in HTML: ${html.includes(wrongKey)}, field value length ${keyField?.length}`,
    );
    check(callback.hits.length === before, 'wrong key: nothing is sent to the client', `callback got ${callback.hits.at(-1)?.url}`);

    await page.type('#api_key', API_KEY);
    await submit(page, 'approve');
    const hit = callback.hits[before];
    check(
      hit && hit.params.get('code') && !hit.params.has('error'),
      'approve: Approve with the right key redirects to the client with a code',
      hit ? `callback got ${hit.url}` : await describeSubmission(page, posts),
    );
    code = hit.params.get('code');
    secrets.add(code);
    check(
      hit.params.get('state') === state && hit.params.get('iss') === ISSUER,
      'approve: the redirect carries the state and iss',
      `state ok: ${hit.params.get('state') === state}, iss ${hit.params.get('iss')}`,
    );
    check(!hit.referer, 'approve: the browser sent no Referer to the client', `Referer: ${hit.referer}`);
  } finally {
    await context.close().catch(() => {});
  }

  // The code, exchanged with PKCE.
  const tokenResponse = await fetch(`${ISSUER}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: callback.redirectUri,
      client_id: clientId,
      code_verifier: verifier,
      resource: RESOURCE,
    }).toString(),
  });
  const tokens = await tokenResponse.json().catch(() => null);
  check(
    tokenResponse.status === 200 && tokens?.token_type?.toLowerCase() === 'bearer' &&
      typeof tokens.access_token === 'string' && typeof tokens.refresh_token === 'string',
    'token: POST /token exchanges the code and verifier for access and refresh tokens',
    `status ${tokenResponse.status}, error ${tokens?.error} ${tokens?.error_description ?? ''}`,
  );
  secrets.add(tokens.access_token);
  secrets.add(tokens.refresh_token);
  check(
    (tokenResponse.headers.get('cache-control') || '').includes('no-store'),
    'token: the response is Cache-Control: no-store',
    `Cache-Control: ${tokenResponse.headers.get('cache-control')}`,
  );

  // The token on /mcp.
  const anonymous = await mcp(null, { jsonrpc: '2.0', id: 1, method: 'ping' });
  check(
    anonymous.status === 401 &&
      (anonymous.headers.get('www-authenticate') || '').includes(`${ISSUER}/.well-known/oauth-protected-resource/mcp`),
    'mcp: without a token, /mcp answers 401 pointing at the resource metadata',
    `status ${anonymous.status}, WWW-Authenticate: ${anonymous.headers.get('www-authenticate')}`,
  );
  const init = await mcp(tokens.access_token, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'oauth-browser-test', version: '1' },
    },
  });
  const session = init.headers.get('mcp-session-id');
  check(
    init.status === 200 && init.message?.result?.serverInfo && session,
    'mcp: initialize with Authorization: Bearer <access token> succeeds',
    `status ${init.status}, reply ${JSON.stringify(init.message)?.slice(0, 300)}`,
  );
  const ack = await mcp(tokens.access_token, { jsonrpc: '2.0', method: 'notifications/initialized' }, session);
  check(ack.status === 202, 'mcp: notifications/initialized is accepted', `status ${ack.status}`);
  const list = await mcp(tokens.access_token, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, session);
  const names = (list.message?.result?.tools ?? []).map((t) => t.name);
  check(
    list.status === 200 && names.length > 0,
    `mcp: tools/list answers (${names.join(', ')})`,
    `status ${list.status}, reply ${JSON.stringify(list.message)?.slice(0, 300)}`,
  );
  check(
    names.includes('fetch-messages') && !names.includes('send-message'),
    'mcp: the granted scopes (messages:read calls:read) decide the tools: fetch-messages listed, send-message not',
    `tools: ${names.join(', ')}`,
  );
}

// ---------------------------------------------------------------- pages

/**
 * Opens `url` in a fresh context, checks that it has a CSP and prints
 * nothing to the console, runs `inspect(page)`, and keeps a screenshot.
 */
async function pageCheck(browser, name, url, inspect) {
  const shots = path.join(process.env.CONFORMANCE_RESULTS_DIR ? RESULTS_DIR : WORK, 'screenshots');
  mkdirSync(shots, { recursive: true });
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (['error', 'warn', 'warning', 'assert'].includes(m.type())) problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  try {
    const response = await page.goto(url, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    const csp = response.headers()['content-security-policy'] || '';
    check(csp.includes("default-src 'none'"), `${name}: served with a Content-Security-Policy`, `CSP: ${csp}`);
    await inspect(page, response);
    const file = path.join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const size = statSync(file).size;
    check(size > 8_000, `${name}: full-page screenshot ${file} (${size} bytes)`, `only ${size} bytes: a blank page?`);
    // Chromium reports an error status of the page itself as a console
    // error; an error page is meant to have one.
    const own = `Failed to load resource: the server responded with a status of ${response.status()}`;
    const printed = problems.filter((line) => !line.includes(own));
    check(printed.length === 0, `${name}: no console error or warning`, printed.join(' | '));
  } finally {
    await context.close().catch(() => {});
  }
}

async function pagesPart(browser) {
  await pageCheck(browser, 'homepage', `${ISSUER}/`, async (page, response) => {
    check(response.status() === 200, 'homepage: 200', `status ${response.status()}`);
    const endpoint = await page.$eval('#endpoint', (e) => e.textContent).catch(() => null);
    check(endpoint === RESOURCE, `homepage: names this server's endpoint ${RESOURCE}`, `shows ${endpoint}`);
    const mode = await page.$eval('#mode', (e) => e.textContent).catch(() => '');
    check(mode.includes('Sign-in mode'), 'homepage: says which mode the server runs in', mode);
    const snippets = await page.$$eval('pre', (blocks) => blocks.map((b) => b.textContent));
    const named = snippets.filter((text) => text.includes(RESOURCE)).length;
    check(named >= 4, `homepage: ${named} setup snippets carry the endpoint (Claude Desktop, Claude Code, Cursor, VS Code)`, snippets.join('\n---\n'));
  });
  const clientId = await register('Screenshot Assistant', 'http://127.0.0.1:9/callback');
  const consent = new URL(`${ISSUER}/authorize`);
  consent.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: 'http://127.0.0.1:9/callback',
    code_challenge: base64url(createHash('sha256').update('v'.repeat(43)).digest()),
    code_challenge_method: 'S256',
    state: 'screenshot',
    resource: RESOURCE,
  }).toString();
  await pageCheck(browser, 'consent-page', consent.href, async (page, response) => {
    check(response.status() === 200, 'consent page: 200', `status ${response.status()}`);
    check((await page.$('input[name=api_key]')) !== null, 'consent page: asks for the API key');
  });
  await pageCheck(browser, 'error-page', `${ISSUER}/authorize?client_id=nobody`, async (page, response) => {
    check(response.status() >= 400, 'error page: an error status', `status ${response.status()}`);
    const heading = await page.$eval('h1', (e) => e.textContent).catch(() => '');
    check(heading.length > 0, `error page: says what went wrong ("${heading}")`);
    const text = await page.$eval('main', (e) => e.innerText).catch(() => '');
    const next = (text.match(/connect again/g) || []).length;
    check(next === 1, 'error page: says once what to do next', text);
    const support = await page.$eval('a', (a) => a.href).catch(() => null);
    check(
      support === 'https://support.example.com/openphone-mcp',
      'error page: links to --support-url',
      `link: ${support}`,
    );
  });
}

// ---------------------------------------------------------------- main

const started = Date.now();
let browser;
try {
  browser = await launchBrowser();
  console.log(`[oauth] ${await browser.version()} (${CHROMIUM}); issuer ${ISSUER}`);
} catch (error) {
  record(false, 'Chromium starts headless', error?.stack || String(error));
}
if (browser) {
  await part('official suite: authorization server scenarios', () => suitePart(browser));
  await part('our flow: deny, wrong key, approve, token, /mcp', () =>
    withTimeout(ownPart(browser), 120_000, 'our browser flow'),
  );
  await part('pages: homepage, consent, error', () =>
    withTimeout(pagesPart(browser), 60_000, 'the pages'),
  );
  await browser.close().catch(() => {});
}

await part('server log', async () => {
  const log = readFileSync(MCP_LOG, 'utf8');
  const leaked = [...secrets].filter((s) => s && log.includes(s));
  check(
    leaked.length === 0,
    `openphone-mcp logged none of the ${secrets.size} keys, codes and tokens the browser and client saw`,
    `${leaked.length} leaked (not printed here); see ${MCP_LOG}`,
  );
});

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`\n=== oauth summary (${((Date.now() - started) / 1000).toFixed(1)}s) ===`);
for (const r of results.filter((r) => !r.ok)) console.log(`FAIL ${r.name}`);
console.log(`oauth: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
