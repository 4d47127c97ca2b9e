import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Where the traced deployment exports its spans: an OTLP/HTTP endpoint on loopback that takes every
 * export and answers 200 without decoding it, so the bench measures what tracing costs the service,
 * not what a collector costs the machine.
 */
export async function startOtlpSink(): Promise<{
  url: string;
  exports: () => number;
  close: () => Promise<void>;
}> {
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => exports,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
