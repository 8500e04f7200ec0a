'use strict';
// berth's sample web app: a hit counter in Redis and notes in Postgres, behind plain node:http.

const http = require('node:http');
const os = require('node:os');
const { createClient } = require('redis');
const { Pool } = require('pg');

const MAX_BODY_BYTES = 64 * 1024;
const CHECK_TIMEOUT_MS = 2000;
const RETRY_MS = 1000;

const log = (message) => console.log(`${new Date().toISOString()} ${message}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms}ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function readJson(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

/** Builds the server and its clients; nothing connects until listen(). */
function createApp({ redisUrl, databaseUrl, version = 'dev' } = {}) {
  const redis = createClient({
    url: redisUrl,
    // Fail commands at once while Redis is down instead of queueing them (and the requests) until it is back.
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries) => Math.min(retries * 200, 2000) },
  });
  let redisError = null; // the outage's last error; logged once per outage, not once per retry
  redis.on('ready', () => { redisError = null; log('redis connected'); });
  redis.on('error', (err) => {
    if (!redisError) log(`redis unavailable, retrying: ${err.message}`);
    redisError = err.message;
  });

  // Without a connect timeout a request would wait forever on an unreachable host.
  const pool = new Pool({ connectionString: databaseUrl, connectionTimeoutMillis: 3000, max: 10 });
  // An idle client losing its connection (e.g. Postgres restarting) must not crash the process.
  pool.on('error', (err) => log(`postgres idle client error: ${err.message}`));

  let schema; // memoised CREATE TABLE; forgotten on failure so the next caller retries
  const ensureSchema = () => {
    schema ??= pool
      .query(`CREATE TABLE IF NOT EXISTS notes (
        id serial PRIMARY KEY,
        note text NOT NULL,
        created_at timestamptz DEFAULT now()
      )`)
      .catch((err) => { schema = undefined; throw err; });
    return schema;
  };

  async function healthz() {
    const checks = {
      redis: async () => {
        if (!redis.isReady) throw new Error(`not connected${redisError ? `: ${redisError}` : ''}`);
        await redis.ping();
      },
      postgres: async () => {
        await ensureSchema();
        await pool.query('SELECT 1');
      },
    };
    const names = Object.keys(checks);
    const results = await Promise.allSettled(names.map((name) => withTimeout(checks[name](), CHECK_TIMEOUT_MS, name)));
    const failed = {};
    results.forEach((r, i) => { if (r.status === 'rejected') failed[names[i]] = r.reason.message; });
    return Object.keys(failed).length ? [503, { status: 'unavailable', failed }] : [200, { status: 'ok' }];
  }

  async function hit() {
    return [200, { hits: await redis.incr('hits') }];
  }

  // Background jobs for the worker role (worker.js): queued here, done there.
  async function jobs() {
    const [queued, done, last] = await Promise.all([redis.lLen('jobs'), redis.get('jobs:done'), redis.get('jobs:last')]);
    return [200, { queued, done: Number(done ?? 0), last: last ? JSON.parse(last) : null }];
  }

  const routes = {
    '/': { GET: async () => [200, { version, hostname: os.hostname() }] },
    '/jobs': {
      GET: jobs,
      POST: async () => {
        const id = `${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;
        await redis.lPush('jobs', JSON.stringify({ id }));
        return [202, { queued: id }];
      },
    },
    // What the app learns of the client through a proxy: scheme, host and address as forwarded.
    '/request': {
      GET: async (req) => [200, {
        proto: req.headers['x-forwarded-proto'] ?? null,
        host: req.headers['x-forwarded-host'] ?? null,
        forwardedFor: req.headers['x-forwarded-for'] ?? null,
      }],
      // Reads (and counts) the whole body: uploads up to the proxy's limit arrive intact.
      POST: async (req) => {
        let bytes = 0;
        for await (const chunk of req) bytes += chunk.length;
        return [200, { bytes }];
      },
    },
    '/healthz': { GET: healthz },
    '/hits': { GET: hit, POST: hit },
    '/rows': {
      GET: async () => {
        await ensureSchema();
        const { rows } = await pool.query('SELECT id, note, created_at FROM notes ORDER BY id');
        return [200, { rows }];
      },
      POST: async (req) => {
        const { note } = await readJson(req);
        if (typeof note !== 'string' || note === '') throw new HttpError(400, 'body must be {"note": "<non-empty string>"}');
        await ensureSchema();
        const { rows } = await pool.query('INSERT INTO notes (note) VALUES ($1) RETURNING id, note, created_at', [note]);
        return [201, rows[0]];
      },
    },
  };

  let closing = false;

  // GET /echo with `Upgrade: websocket`: the connection is switched and echoes what it receives (a stand-in for a
  // WebSocket endpoint, enough to prove upgrades pass through a proxy).
  const upgraded = new Set();
  const acceptUpgrade = (req, socket) => {
    if (new URL(req.url, 'http://localhost').pathname !== '/echo' || closing) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    socket.on('error', () => {});
    socket.pipe(socket);
  };

  const server = http.createServer(async (req, res) => {
    let status;
    let body;
    try {
      const route = routes[new URL(req.url, 'http://localhost').pathname];
      if (!route) throw new HttpError(404, 'not found');
      const handler = route[req.method];
      if (!handler) {
        res.setHeader('Allow', Object.keys(route).join(', '));
        throw new HttpError(405, 'method not allowed');
      }
      [status, body] = await handler(req);
    } catch (err) {
      status = err.status ?? 500;
      body = { error: err.message };
      if (status === 500) log(`${req.method} ${req.url} failed: ${err.message}`);
    }
    // Checked at response time, so requests already in flight when SIGTERM came also release their keep-alive socket.
    if (closing) res.setHeader('Connection', 'close');
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  });

  server.on('upgrade', acceptUpgrade);

  async function prepareSchema() {
    for (let attempt = 1; !closing; attempt++) {
      try {
        await ensureSchema();
        log('postgres connected, table notes ready');
        return;
      } catch (err) {
        if (attempt === 1) log(`postgres unavailable, retrying: ${err.message}`);
        await sleep(RETRY_MS);
      }
    }
  }

  /** Starts serving at once; Redis and Postgres are connected in the background (healthz says 503 meanwhile). */
  function listen(port) {
    redis.connect().catch(() => {}); // retries on its own; failures arrive as 'error' events
    prepareSchema();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => resolve(server.address().port));
    });
  }

  let closed;
  /** Stops accepting connections, lets in-flight requests finish, then closes the clients. */
  function close() {
    closed ??= (async () => {
      closing = true;
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeIdleConnections(); // idle keep-alive sockets would otherwise hold close() open
        for (const socket of upgraded) socket.end(); // upgraded connections are the app's to close
      });
      await Promise.allSettled([redis.isReady ? redis.quit() : redis.disconnect(), pool.end()]);
    })();
    return closed;
  }

  return { server, listen, close };
}

module.exports = { createApp };

if (require.main === module) {
  const port = Number(process.env.PORT || 8080);
  const version = process.env.APP_VERSION || 'dev';
  const app = createApp({ redisUrl: process.env.REDIS_URL, databaseUrl: process.env.DATABASE_URL, version });

  app.listen(port).then(
    () => log(`started: version ${version} listening on :${port}`),
    (err) => { log(`failed to start: ${err.message}`); process.exit(1); },
  );

  const shutdown = (signal) => {
    const started = Date.now();
    // Stay under Docker's default 10s stop timeout, after which it would SIGKILL us mid-response.
    setTimeout(() => { log(`stop: ${signal}, requests still running after 8s, exiting 1`); process.exit(1); }, 8000).unref();
    app.close().then(() => {
      log(`stopped: ${signal}, drained in-flight requests in ${Date.now() - started}ms`);
      process.exit(0);
    });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
