'use strict';
/*
 * curl_h2_server.js - a header-recording HTTP/2 server (TLS, ALPN h2 only)
 * for test_curl.sh; built-in modules only, never preloaded.
 *
 *   node curl_h2_server.js PORT_FILE LOG CERT KEY
 *
 * Listens on 127.0.0.1 (kernel-chosen port, written to PORT_FILE once it
 * listens, atomically by rename). Every request appends one JSON line to
 * LOG before it is answered:
 *   {"method", "path", "version" ("2.0"), "headers": [[name, value]...]
 *    (raw, in order, pseudo-headers included), "traceparents": [...]}
 * Every request is answered 200 "hello h2 <path>\n". Exits 0 on SIGTERM.
 */

const fs = require('fs');
const http2 = require('http2');

const [portFile, logFile, certFile, keyFile] = process.argv.slice(2);

const server = http2.createSecureServer({
  cert: fs.readFileSync(certFile),
  key: fs.readFileSync(keyFile),
  allowHTTP1: false,
});

server.on('request', (req, res) => {
  const raw = req.rawHeaders;
  const headers = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i], raw[i + 1]]);
  const tps = headers.filter(([k]) => k.toLowerCase() === 'traceparent').map(([, v]) => v);
  req.resume();
  req.on('end', () => {
    fs.appendFileSync(logFile, JSON.stringify({
      method: req.method, path: req.url, version: req.httpVersion, headers, traceparents: tps,
    }) + '\n');
    const body = `hello h2 ${req.url}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});

server.on('sessionError', () => {});
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', `${server.address().port}\n`);
  fs.renameSync(portFile + '.tmp', portFile);
});

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
