import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A customer's HTTP endpoint for the bench: answers every request 204 at once and counts the distinct
 * events (webhook-id) it was sent since the last reset. `file` is a DESTINATIONS_FILE naming it, with
 * the filter `#` (every stored event).
 */
export async function startDestinationSink(): Promise<{
  file: string;
  received: () => number;
  reset: () => void;
  close: () => Promise<void>;
}> {
  let ids = new Set<string>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      ids.add(String(req.headers['webhook-id']));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'bench-destinations-'));
  const file = join(dir, 'destinations.json');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  writeFileSync(file, JSON.stringify([{ name: 'bench', url, secrets: [secret], filter: ['#'] }]));
  return {
    file,
    received: () => ids.size,
    reset: () => (ids = new Set()),
    close: () =>
      new Promise<void>((resolve) => {
        rmSync(dir, { recursive: true, force: true });
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
