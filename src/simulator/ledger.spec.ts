import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlannedDelivery } from './delivery.planner';
import type { SimEnvelope } from './envelope.types';
import { Ledger } from './ledger';

let counter = 0;
function event(name: string, entity: string | null, revision?: number, apiSpaceId = 'space'): SimEnvelope {
  counter += 1;
  const envelope: SimEnvelope = {
    eventId: `e-${counter}`,
    accountId: 1,
    apiSpaceId,
    name,
    payload: entity === null ? {} : { messageId: entity },
    etag: '"x"',
    timestamp: '2026-11-20T09:26:14.801Z',
  };
  if (revision !== undefined) envelope.revision = revision;
  return envelope;
}

function delivery(index: number, events: SimEnvelope[], batch = true): PlannedDelivery {
  return { index, apiSpaceId: 'space', batch, events, repeats: 0 };
}

const ok = (accepted: number) => ({
  kind: 'answer' as const,
  status: 200,
  body: JSON.stringify({ accepted, quarantined: 0 }),
  deliveryId: `d-${accepted}`,
});

describe('Ledger', () => {
  const sent = event('message.sent', 'm-1', 1);
  const delivered = event('message.delivered', 'm-1', 2);
  const read = event('message.read', 'm-1', 3);
  const click = event('interaction.click', 'm-1');
  const otherSpace = event('message.sent', 'm-1', 1, 'space-2');

  function ledgerOf(...deliveries: PlannedDelivery[]) {
    return new Ledger(deliveries);
  }

  it('owes the highest acknowledged revision per entity, ignoring unacknowledged and untracked events', () => {
    const ledger = ledgerOf(
      delivery(0, [delivered, click]),
      delivery(1, [read]),
      delivery(2, [sent, otherSpace]),
    );
    ledger.acknowledge(0, ok(2));
    ledger.settle(1, 'refused');
    ledger.acknowledge(2, ok(2));

    expect([...ledger.expectedEntities().values()]).toEqual([
      { key: { apiSpaceId: 'space', entityType: 'message', entityId: 'm-1' }, revision: 2 },
      { key: { apiSpaceId: 'space-2', entityType: 'message', entityId: 'm-1' }, revision: 1 },
    ]);
    expect([...ledger.acknowledgedEvents().keys()].sort()).toEqual(
      [delivered, click, sent, otherSpace].map((e) => e.eventId).sort(),
    );
  });

  it('counts an event as acknowledged when any delivery carrying it was, and lists the rest as lost', () => {
    const ledger = ledgerOf(delivery(0, [sent, delivered]), delivery(1, [sent], false), delivery(2, [read]));
    ledger.settle(0, 'dropped');
    ledger.acknowledge(1, ok(1));
    ledger.recordAttempt(2, { kind: 'answer', status: 401, body: '' });
    ledger.settle(2, 'refused');

    expect(ledger.isAcknowledged(sent.eventId)).toBe(true);
    expect(ledger.lostEvents()).toEqual([
      { eventId: delivered.eventId, reasons: ['dropped (never sent)'] },
      { eventId: read.eventId, reasons: ['refused (401)'] },
    ]);
  });

  it('counts answers by label, retries, and keeps the delivery ids the service gave', () => {
    const ledger = ledgerOf(delivery(0, [sent]));
    ledger.recordAttempt(0, { kind: 'answer', status: 503, body: '', deliveryId: 'd-a' });
    ledger.recordRetry();
    ledger.recordAttempt(0, { kind: 'timeout' });
    ledger.recordRetry();
    ledger.recordAttempt(0, ok(1));
    ledger.acknowledge(0, ok(1));

    expect(ledger.answerCounts()).toEqual({ '200': 1, '503': 1, timeout: 1 });
    expect(ledger.retries).toBe(2);
    expect(ledger.deliveries[0]).toMatchObject({
      attempts: ['503', 'timeout', '200'],
      deliveryIds: ['d-a', 'd-1'],
    });
  });

  it('flags a 2xx whose counts differ from what was sent, but does not judge other bodies', () => {
    const ledger = ledgerOf(delivery(0, [sent, read]), delivery(1, [delivered]), delivery(2, [click]));
    ledger.acknowledge(0, ok(1));
    ledger.acknowledge(1, { kind: 'answer', status: 204, body: '' });
    ledger.acknowledge(2, { kind: 'answer', status: 200, body: '{"accepted":1,"quarantined":1}' });
    expect(ledger.deliveries.map((d) => d.answerMismatch)).toEqual([
      'sent 2, answered accepted 1, quarantined 0',
      undefined,
      'sent 1, answered accepted 1, quarantined 1',
    ]);
  });

  it('writes every delivery, event and expected entity to a JSON file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-ledger-'));
    try {
      const ledger = ledgerOf(delivery(0, [sent, click]), delivery(1, [read]));
      ledger.recordAttempt(0, ok(2));
      ledger.acknowledge(0, ok(2));
      ledger.settle(1, 'dropped');
      await ledger.writeTo(join(dir, 'ledger.json'));
      const file = JSON.parse(readFileSync(join(dir, 'ledger.json'), 'utf8'));
      expect(file.answers).toEqual({ '200': 1 });
      expect(file.deliveries.map((d: { outcome: string }) => d.outcome)).toEqual(['acknowledged', 'dropped']);
      expect(file.events).toEqual([
        { eventId: sent.eventId, acknowledged: true, envelope: sent },
        { eventId: click.eventId, acknowledged: true, envelope: click },
        { eventId: read.eventId, acknowledged: false, envelope: read },
      ]);
      expect(file.entities).toEqual([
        { apiSpaceId: 'space', entityType: 'message', entityId: 'm-1', revision: 1 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
