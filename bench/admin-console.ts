/**
 * The console's share of `npm run bench:admin`: the extra rows its pages read (quarantined items,
 * delivery records with repeats, audit rows), a session, and one scenario per page, including a
 * payload search over the default 7-day window that matches nothing (the most the window lets it read).
 */
import type { Client } from 'pg';

/** DESIGN §12: every console page within 300 ms at p99; a 7-day payload search within 2 s. */
export const CONSOLE_PAGE_P99_MS = 300;
export const SEARCH_P99_MS = 2000;

export interface ConsoleScenario {
  label: string;
  paths: string[];
  targetMs: number;
}

/**
 * Rows beside the generated events: one delivery record per 100 events (a tenth with repeats of
 * their own first events), 1,000 quarantined items (JSON naming a generated message, every tenth
 * not JSON), 1,000 audit rows.
 */
export async function generateConsoleRows(db: Client, events: number): Promise<void> {
  await db.query(
    `INSERT INTO webhook_deliveries (delivery_id, received_at, events, repeats, quarantined, repeat_event_ids, key_id, api_space_id)
     SELECT 'dlv-' || d, now() - d * (interval '30 days' / greatest($1::int / 100, 1)), 100,
            CASE WHEN d % 10 = 0 THEN 2 ELSE 0 END,
            0,
            CASE WHEN d % 10 = 0 THEN ARRAY['evt-' || lpad((d * 100 + 1)::text, 8, '0'), 'evt-' || lpad((d * 100 + 2)::text, 8, '0')] END,
            'a1b2c3d4', NULL
       FROM generate_series(0, $1::int / 100) AS d
     ON CONFLICT DO NOTHING`,
    [events],
  );
  await db.query(
    `INSERT INTO quarantined_deliveries (received_at, reason, body, item_index, delivery_id)
     SELECT now() - g * interval '40 minutes',
            CASE WHEN g % 10 = 0 THEN 'body is not valid JSON' ELSE 'eventId is missing or not a non-empty string' END,
            CASE WHEN g % 10 = 0 THEN '\\xfffe'::bytea
                 ELSE convert_to(json_build_object('name', 'message.sent', 'apiSpaceId', 'space-a',
                                                   'payload', json_build_object('messageId', 'msg-' || (g * 37)))::text, 'UTF8') END,
            CASE WHEN g % 10 = 0 THEN NULL ELSE 0 END, 'dlv-q-' || g
       FROM generate_series(1, 1000) AS g`,
  );
  await db.query(
    `INSERT INTO admin_audit (at, key_id, action, target, reason, result)
     SELECT now() - g * interval '1 hour', 'a1b2c3d4', 'quarantine.replay', 'quarantine/' || g, 'bench', '{}'::jsonb
       FROM generate_series(1, 1000) AS g`,
  );
  await db.query('VACUUM ANALYZE webhook_deliveries, quarantined_deliveries, admin_audit');
}

/** The console's pages, with parameters taken from the generated rows. */
export async function consoleScenarios(db: Client, events: number): Promise<ConsoleScenario[]> {
  // 100 message events spread over the table.
  const { rows } = await db.query<{
    event_id: string;
    entity_id: string;
    api_space_id: string;
    delivery_id: string;
  }>(
    `SELECT event_id, entity_id, api_space_id, delivery_id FROM webhook_events
      WHERE entity_type = 'message' AND api_space_id IS NOT NULL AND event_id IN (
            SELECT 'evt-' || lpad((1 + (g * 4999) % $1::int)::text, 8, '0') FROM generate_series(1, 100) AS g)`,
    [events],
  );
  const { rows: kept } = await db.query<{ id: string }>(
    `SELECT id::text AS id FROM quarantined_deliveries ORDER BY id LIMIT 100`,
  );
  const enc = encodeURIComponent;
  const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 16);
  const page = (label: string, paths: string[]) => ({ label, paths, targetMs: CONSOLE_PAGE_P99_MS });
  return [
    page('GET /console (overview)', ['/console']),
    page('GET /console/events (last 7 days)', ['/console/events']),
    page('GET /console/events?name=message.read', ['/console/events?name=message.read']),
    page(
      `GET /console/events/<id> (${rows.length} ids)`,
      rows.map((r) => `/console/events/${enc(r.event_id)}`),
    ),
    page(
      `GET /console/entities/message/<id> (${rows.length} ids)`,
      rows.map((r) => `/console/entities/message/${enc(r.entity_id)}?apiSpaceId=${enc(r.api_space_id)}`),
    ),
    page(
      `GET /console/deliveries/<id> (${rows.length} ids)`,
      rows.map((r) => `/console/deliveries/${enc(r.delivery_id)}`),
    ),
    page('GET /console/quarantine', ['/console/quarantine']),
    page('GET /console/quarantine?state=open&reason=…', [
      `/console/quarantine?state=open&reason=${enc('eventId is missing or not a non-empty string')}`,
    ]),
    page(
      `GET /console/quarantine/<id> (${kept.length} ids)`,
      kept.map((k) => `/console/quarantine/${k.id}`),
    ),
    page('GET /console/dead-letters', ['/console/dead-letters']),
    page('GET /console/replay?since=<1 day ago> (the plan)', [`/console/replay?since=${day}`]),
    page('GET /console/audit', ['/console/audit']),
    {
      label: 'GET /console/events?search=payload.messageId=<none> (7 days, matches nothing)',
      paths: Array.from(
        { length: 50 },
        (_, i) => `/console/events?search=${enc(`payload.messageId=absent-${i}`)}`,
      ),
      targetMs: SEARCH_P99_MS,
    },
    {
      label: `GET /console/events?search=payload.messageId=<id> (7 days, ${rows.length} ids)`,
      paths: rows.map((r) => `/console/events?search=${enc(`payload.messageId=${r.entity_id}`)}`),
      targetMs: SEARCH_P99_MS,
    },
  ];
}

/** Signs in with `key`; the session cookie for the pages. */
export async function consoleSession(baseUrl: string, key: string): Promise<string> {
  const res = await fetch(`${baseUrl}/console/login`, {
    method: 'POST',
    body: new URLSearchParams({ key }).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
  });
  const cookie = res.headers.get('set-cookie')?.split(';')[0];
  await res.arrayBuffer();
  if (res.status !== 303 || !cookie) throw new Error(`console sign-in answered ${res.status}`);
  return cookie;
}
