'use strict';
/*
 * sdk_client.js - an HTTP client instrumented by the OpenTelemetry JS SDK:
 *
 *   node -r ./sdk_tracing.js sdk_client.js URL [COUNT]
 *
 * Makes COUNT (default 1) sequential GET requests to URL on one keep-alive
 * agent; the http instrumentation makes one CLIENT span per request and
 * injects its traceparent. Prints "status <code> <body>" per response, then
 * shuts the SDK down (spans written) and exits 0; exits 1 on an error.
 */

const http = require('http');

const url = process.argv[2];
const count = parseInt(process.argv[3] || '1', 10);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function once() {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        console.log(`status ${res.statusCode} ${body.trim()}`);
        resolve();
      });
    });
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

(async () => {
  try {
    for (let i = 0; i < count; i++) await once();
    agent.destroy();
    await global.interopShutdown();
    process.exit(0);
  } catch (e) {
    console.error(`sdk_client: ${e.message}`);
    process.exit(1);
  }
})();
