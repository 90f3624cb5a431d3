'use strict';
/*
 * http_server.js - a node http server for the interop tests and the bench:
 *
 *   node http_server.js PORT_FILE                      plain, no SDK
 *   node -r ./sdk_tracing.js http_server.js PORT_FILE  SDK auto-instrumented
 *
 * Listens on 127.0.0.1 (kernel-chosen port, written to PORT_FILE once it
 * listens, atomically by rename). Keep-alive as node does by default.
 *   GET /status/NNN   answers NNN with the body "status NNN"
 *   anything else     200 "hello from node\n"
 * Every request's traceparent header (or "-") is appended to
 * INTEROP_HEADERS_LOG (when set) as "<method> <path> <traceparent>" lines:
 * the bytes the server actually received.
 * Exits 0 on SIGTERM/SIGINT after closing the listener (and, with the SDK,
 * shutting it down so every span is written).
 */

const fs = require('fs');
const http = require('http');

const portFile = process.argv[2];
const headersLog = process.env.INTEROP_HEADERS_LOG || '';

const server = http.createServer((req, res) => {
  if (headersLog) {
    fs.appendFileSync(headersLog, `${req.method} ${req.url} ${req.headers.traceparent || '-'}\n`);
  }
  const m = /^\/status\/(\d{3})$/.exec(req.url);
  const code = m ? parseInt(m[1], 10) : 200;
  const body = m ? `status ${code}\n` : 'hello from node\n';
  req.resume();
  req.on('end', () => {
    if (code === 204 || code === 304) {
      res.writeHead(code);
      res.end();
    } else {
      res.writeHead(code, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    }
  });
});
server.keepAliveTimeout = 30000;

server.listen(0, '127.0.0.1', () => {
  const tmp = `${portFile}.tmp`;
  fs.writeFileSync(tmp, `${server.address().port}\n`);
  fs.renameSync(tmp, portFile);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  if (server.closeAllConnections) server.closeAllConnections();
  const done = global.interopShutdown ? global.interopShutdown() : Promise.resolve();
  done.then(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
