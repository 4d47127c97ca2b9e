/** The same route on plain node:http: read the raw body, answer JSON. */
import { createServer } from 'node:http';

createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/webhook') {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":1,"quarantined":0}');
    });
    return;
  }
  res.writeHead(req.url === '/ready' ? 200 : 404).end();
}).listen(Number(process.env.PORT));
