// Runs the host's HTTP requests for `host.mjs`: a tool's `upstream.send` is
// synchronous, Node's fetch is not, so the main thread posts the request
// here and blocks (Atomics.wait) until the answer is posted back.
import { workerData } from 'node:worker_threads';

const { port, signal } = workerData;
const flag = new Int32Array(signal);

port.on('message', async ({ url, method, headers, body, timeoutMs }) => {
  let reply;
  try {
    const response = await fetch(url, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    reply = { status: response.status, body: await response.text() };
  } catch (error) {
    reply = { failure: error.name === 'TimeoutError' ? 'timeout' : String(error.cause?.code ?? error.message) };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
