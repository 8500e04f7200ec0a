'use strict';
// Docker HEALTHCHECK probe: the image has no curl, so node asks /healthz itself.

const http = require('node:http');

const req = http.get({ host: '127.0.0.1', port: process.env.PORT || 8080, path: '/healthz', timeout: 3000 }, (res) => {
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', () => process.exit(1));
