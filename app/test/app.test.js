'use strict';
// Release gate run inside the image: the app against the real Redis and Postgres named by REDIS_URL and DATABASE_URL.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { once } = require('node:events');
const http = require('node:http');
const { createApp } = require('../server');

const READY_TIMEOUT_MS = Number(process.env.TEST_READY_TIMEOUT_MS || 15000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const app = createApp({ redisUrl: process.env.REDIS_URL, databaseUrl: process.env.DATABASE_URL, version: 'self-test' });
let port;

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let data = '';
      res.setEncoding('utf8').on('data', (chunk) => { data += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(data) }));
    });
    req.on('error', reject).end(body === undefined ? undefined : JSON.stringify(body));
  });
}

before(async () => {
  assert.ok(process.env.REDIS_URL && process.env.DATABASE_URL, 'set REDIS_URL and DATABASE_URL');
  port = await app.listen(0);
});
after(() => app.close());

test('healthz turns 200 once Redis and Postgres answer', async () => {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let res = await request('GET', '/healthz');
  while (res.status !== 200 && Date.now() < deadline) {
    await sleep(250);
    res = await request('GET', '/healthz');
  }
  assert.equal(res.status, 200, `healthz after ${READY_TIMEOUT_MS}ms: ${JSON.stringify(res.body)}`);
  assert.deepEqual(res.body, { status: 'ok' });
});

test('GET / reports version and hostname', async () => {
  const res = await request('GET', '/');
  assert.equal(res.status, 200);
  assert.equal(res.body.version, 'self-test');
  assert.equal(typeof res.body.hostname, 'string');
});

test('hits increments the Redis counter', async () => {
  const first = await request('POST', '/hits');
  const second = await request('GET', '/hits');
  assert.equal(first.status, 200);
  assert.equal(second.body.hits, first.body.hits + 1);
});

test('rows are inserted into Postgres and listed', async () => {
  const note = `self-test ${process.pid} ${Date.now()}`;
  const created = await request('POST', '/rows', { note });
  assert.equal(created.status, 201);
  assert.equal(created.body.note, note);
  const listed = await request('GET', '/rows');
  assert.equal(listed.status, 200);
  assert.ok(listed.body.rows.some((row) => row.id === created.body.id && row.note === note));
  assert.equal((await request('POST', '/rows', { note: '' })).status, 400);
});

test('an upgrade to /echo switches the connection and echoes it', async () => {
  const net = require('node:net');
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  let seen = '';
  socket.setEncoding('utf8').on('data', (chunk) => {
    seen += chunk;
    if (seen.includes('\r\n\r\n') && !seen.includes('ping')) socket.write('ping');
  });
  const deadline = Date.now() + 5000;
  while (!seen.endsWith('ping') && Date.now() < deadline) await sleep(20);
  socket.destroy();
  assert.match(seen, /^HTTP\/1\.1 101 /);
  assert.ok(seen.endsWith('ping'), seen);
});

test('/request reports the forwarded scheme and host, and reads a whole upload', async () => {
  const res = await request('GET', '/request');
  assert.deepEqual(res.body, { proto: null, host: null, forwardedFor: null });
  const upload = await request('POST', '/request', 'x'.repeat(100000));
  assert.equal(upload.body.bytes, 100002);
});

test('close() lets an in-flight request finish and closes its keep-alive socket', async () => {
  const agent = new http.Agent({ keepAlive: true });
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/rows', agent });
  const seen = once(app.server, 'request');
  req.write('{"note": "sent during shutdown'); // body unfinished: the request is in flight
  await seen;
  const closed = app.close();
  req.end('"}');
  const [res] = await once(req, 'response');
  res.resume();
  assert.equal(res.statusCode, 201);
  assert.equal(res.headers.connection, 'close');
  await closed;
  agent.destroy();
});
