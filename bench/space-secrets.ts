/**
 * `npm run bench:spaces`: the cost of verifying one delivery's signature (SecretRing.verify: the
 * apiSpaceId scan of the raw bytes, then HMAC-SHA1 per secret tried) with 1, 20 and 200 API spaces of
 * 2 secrets each, plus one `*` secret, for typical 1 kB and 100 kB bodies:
 *   - space: a delivery of one space signed with that space's second secret (after a rotation);
 *   - star: a delivery signed with the `*` secret;
 *   - forgery: a signature no secret makes (every secret is tried before the 401).
 * In-process, no HTTP: the verification alone, in CPU time. BENCH_SPACES_MS (default 400) per
 * measurement, 5 rounds, the median of them.
 *
 *   node -r ts-node/register/transpile-only bench/space-secrets.ts
 */
import { cpus, loadavg } from 'node:os';
import { SecretRing } from '../src/signature/secret-ring';
import { sign } from '../src/signature/signature.verifier';

const MEASURE_MS = Number(process.env.BENCH_SPACES_MS ?? 400);
const ROUNDS = 5;
const SPACE_COUNTS = [1, 20, 200];
const STAR = 'star-secret-bench-0000000000001';

const secretOf = (space: number, n: number) => `bench-space-${space}-secret-${n}-0000000000`;

function ringOf(spaces: number): SecretRing {
  const bySpace = new Map<string, string[]>();
  for (let i = 0; i < spaces; i++) bySpace.set(`space-${i}`, [secretOf(i, 1), secretOf(i, 2)]);
  return SecretRing.of([], { anySpace: [STAR], bySpace });
}

/** A Dotdigital-like batch of about `bytes` bytes, every envelope naming `space`, apiSpaceId early. */
function bodyOf(space: string, bytes: number): Buffer {
  const items: string[] = [];
  for (let size = 2, i = 0; size < bytes; i++) {
    const item = JSON.stringify({
      eventId: `evt-${i.toString().padStart(8, '0')}-4c7e-9a61-0b3f7e2d4c10`,
      accountId: 40213,
      apiSpaceId: space,
      name: 'message.delivered',
      payload: { id: `8b1f0c52-6a3d-4e9b-b7f2-${i.toString().padStart(12, '0')}`, channel: 'sms' },
      revision: 2,
      etag: '"2c-OdiDKCvykC/7/M2nPxRHa1rAI7g"',
      timestamp: '2026-11-20T09:26:19.112Z',
    });
    items.push(item);
    size += item.length + 1;
  }
  return Buffer.from(`[${items.join(',')}]`);
}

/**
 * CPU microseconds (user + system of this process) per verification: the median of ROUNDS loops of
 * MEASURE_MS each. CPU time, not wall time, so other work on a shared machine inflates it less.
 */
function measure(ring: SecretRing, body: Buffer, header: string, expectOk: boolean): number {
  if (ring.verify(body, header).ok !== expectOk) throw new Error('the benchmark case verifies wrongly');
  // Warm-up, so the first case measured is not also the one the JIT compiles during.
  for (const end = performance.now() + MEASURE_MS / 2; performance.now() < end;) ring.verify(body, header);
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let count = 0;
    const deadline = performance.now() + MEASURE_MS;
    const before = process.cpuUsage();
    while (performance.now() < deadline) {
      for (let i = 0; i < 8; i++) ring.verify(body, header);
      count += 8;
    }
    const used = process.cpuUsage(before);
    rounds.push((used.user + used.system) / count);
  }
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

const format = (us: number) => (us < 100 ? us.toFixed(1) : us.toFixed(0));

function main(): void {
  const rows: string[][] = [];
  for (const bytes of [1024, 100 * 1024]) {
    for (const spaces of SPACE_COUNTS) {
      const ring = ringOf(spaces);
      const space = Math.floor(spaces / 2);
      const body = bodyOf(`space-${space}`, bytes);
      rows.push([
        `${Math.round(body.length / 1024)} kB`,
        String(spaces),
        String(ring.size),
        format(measure(ring, body, sign(body, secretOf(space, 2)), true)),
        format(measure(ring, body, sign(body, STAR), true)),
        format(measure(ring, body, 'f'.repeat(40), false)),
      ]);
    }
  }
  const header = ['body', 'spaces', 'secrets', 'space secret (µs)', '`*` secret (µs)', 'forgery (µs)'];
  const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
  const load = loadavg().map((value) => value.toFixed(1));
  console.log(
    `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, load ${load.join(' ')}`,
  );
  console.log(`CPU time per verification, median of ${ROUNDS} × ${MEASURE_MS} ms\n`);
  console.log(lines.join('\n'));
}

main();
