'use strict';
// berth's sample worker: the same image as the web app, another command (`node worker.js`). It takes jobs from the
// Redis list `jobs` (pushed by POST /jobs) and records each one done, with the version and container that did it.

const os = require('node:os');
const { createClient } = require('redis');

const log = (message) => console.log(`${new Date().toISOString()} ${message}`);
const version = process.env.APP_VERSION || 'dev';

async function main() {
  const redis = createClient({ url: process.env.REDIS_URL, socket: { reconnectStrategy: (retries) => Math.min(retries * 200, 2000) } });
  redis.on('error', (err) => log(`redis: ${err.message}`));
  await redis.connect();
  log(`started: version ${version}, waiting for jobs`);

  let stopping = false;
  const stop = (signal) => {
    // The job in hand is finished first: the blocking wait below returns within a second.
    log(`stop: ${signal}, finishing the current job`);
    stopping = true;
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  while (!stopping) {
    const next = await redis.brPop('jobs', 1);
    if (!next) continue;
    const job = JSON.parse(next.element);
    await redis.multi()
      .incr('jobs:done')
      .set('jobs:last', JSON.stringify({ id: job.id, version, worker: os.hostname(), at: new Date().toISOString() }))
      .exec();
  }
  await redis.quit();
  log('stopped');
}

main().catch((err) => {
  log(`failed: ${err.message}`);
  process.exit(1);
});
