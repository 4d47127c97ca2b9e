import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { BrokerProbe } from '../support/broker';
import { ConsoleClient } from '../support/console-client';
import { Db } from '../support/db';
import { uniquePrefix } from '../support/env';
import { DestinationReceiver } from '../support/destination-receiver';
import { destinationsFile, newSecret } from '../support/destinations-setup';
import { waitFor } from '../support/poll';
import { ScratchDatabase } from '../support/scratch-database';
import { ServiceProcess } from '../support/service-process';
import { envelope, postWebhook } from '../support/signing';
import { OUTPUT, launchBrowser, type Browser } from './chromium';

const OPERATOR_KEY = 'console-operator-key-0123456789abcdef0123';
const READ_KEY = 'console-read-only-key-0123456789abcdef012';
/** `DOCS_SCREENSHOTS=1 npm test -- test/browser/console.e2e-spec.ts` also refreshes the docs' pictures. */
const IMAGES = process.env.DOCS_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'images') : null;
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * The operations console in a real browser (Debian's Chromium through playwright-core) against the
 * built service (role all) with the real PostgreSQL and RabbitMQ. Screenshots at laptop and phone
 * widths go to test/output/ (with DOCS_SCREENSHOTS=1 also to docs/images/, the docs' pictures). Port 3861.
 */
describe('in a browser: the operations console', () => {
  let scratch: ScratchDatabase;
  let service: ServiceProcess;
  let browser: Browser;
  let db: Db;
  const prefix = uniquePrefix('console');
  const orderId = `10442-${Date.now()}`;
  const messageId = `msg-console-${Date.now()}`;
  let quarantineId: string;
  let scriptEventId: string;
  let repeatDeliveryId: string;
  let receiver: DestinationReceiver;
  let destinations: ReturnType<typeof destinationsFile>;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('console_browser');
    db = await Db.connect(scratch.url);
    // One HTTP destination, answering 503 to the story's events so some wait, pending, on its page.
    receiver = await DestinationReceiver.start(() => ({ status: 503 }));
    destinations = destinationsFile([
      { name: 'crm', url: receiver.url, secrets: [newSecret().secret], filter: ['applied.message.#'] },
    ]);
    service = new ServiceProcess(3861, {
      DESTINATIONS_FILE: destinations.path,
      APP_ROLE: 'all',
      DATABASE_URL: scratch.url,
      AMQP_PREFIX: prefix,
      ADMIN_API_KEYS: OPERATOR_KEY,
      ADMIN_READ_KEYS: READ_KEY,
    });
    await service.start();
    // One message's story: sent (1), delivered (2), read (4), and a repeat of revision 2 arriving late.
    const at = (minutes: number) => new Date(Date.now() - (60 - minutes) * 60_000).toISOString();
    const story = [
      { name: 'message.sent', revision: 1, timestamp: at(0) },
      { name: 'message.delivered', revision: 2, timestamp: at(1) },
      { name: 'message.read', revision: 4, timestamp: at(7) },
      { name: 'message.delivered', revision: 2, timestamp: at(1) },
    ];
    const sent: string[] = [];
    for (const step of story) {
      const body = JSON.stringify(
        envelope({
          ...step,
          payload: { id: messageId, metadata: { orderId }, to: { phoneNumber: '+447123456723' } },
        }),
      );
      sent.push(body);
      expect((await postWebhook(service.url, body)).status).toBe(200);
    }
    const hostile = envelope({
      name: 'message.sent',
      payload: {
        id: `${messageId}-x`,
        body: '<script>window.__pwned = 1</script>',
        from: 'jane@acme.com',
      },
    });
    scriptEventId = hostile.eventId as string;
    // The bad item names the message and the order: the entity page and the search find it.
    const batch = JSON.stringify([
      hostile,
      {
        name: 'message.sent',
        note: 'no eventId',
        apiSpaceId: 'space-e2e',
        payload: { id: messageId, metadata: { orderId } },
      },
    ]);
    expect((await postWebhook(service.url, batch)).status).toBe(200);
    // Dotdigital sends the first event again: a delivery that holds only a repeat.
    const again = await postWebhook(service.url, sent[0]);
    expect(again.status).toBe(200);
    repeatDeliveryId = again.headers.get('x-delivery-id')!;
    await waitFor(async () => (await db.count(`SELECT count(*) FROM webhook_deliveries`)) === 6, {
      what: 'six deliveries recorded',
    });
    expect(await db.count(`SELECT count(*) FROM webhook_events`)).toBe(5);
    quarantineId = await waitFor(
      async () =>
        (await db.rows<{ id: string }>(`SELECT id::text AS id FROM quarantined_deliveries`))[0]?.id ?? null,
      { what: 'the bad item quarantined' },
    );
    browser = await launchBrowser();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await service?.dispose();
    await receiver?.close();
    destinations?.remove();
    const probe = await BrokerProbe.connect();
    await probe.deleteTopology(prefix);
    await probe.close();
    await db?.close();
    await scratch?.drop();
  });

  const problems: string[] = [];
  async function open(path: string): Promise<Page> {
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(`${service.url}${path}`, { waitUntil: 'load' });
    return page;
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await page.goto(`${service.url}/console`);
    expect(page.url()).toBe(`${service.url}/console/login`);
    await page.locator('#key').fill(key);
    await page.locator('#key').press('Enter');
    await page.waitForURL(`${service.url}/console`);
  }

  async function signOut(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${service.url}/console/login`);
  }

  /** Serious or critical axe-core findings on the page. */
  async function axeFindings(page: Page): Promise<string[]> {
    await page.evaluate(`${AXE};0`);
    return page.evaluate<string[]>(`axe.run(document).then((result) => result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`);
  }

  async function shoot(page: Page, name: string): Promise<void> {
    for (const [width, height, suffix] of [
      [1280, 800, 'laptop'],
      [390, 844, 'phone'],
    ] as const) {
      await page.setViewportSize({ width, height });
      const widths = await page.evaluate<{ document: number; viewport: number }>(
        `({ document: document.documentElement.scrollWidth, viewport: window.innerWidth })`,
      );
      expect([name, suffix, widths.document <= widths.viewport]).toEqual([name, suffix, true]);
      const file = `console-${name}-${suffix}.png`;
      await page.screenshot({ path: join(OUTPUT, file), fullPage: true });
      if (IMAGES) {
        mkdirSync(IMAGES, { recursive: true });
        copyFileSync(join(OUTPUT, file), join(IMAGES, file));
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  it('serves every page with a strict CSP: no unsafe-inline or unsafe-eval, never framed', async () => {
    const res = await fetch(`${service.url}/console/login`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    await res.arrayBuffer();
  });

  it('a read-only key: reads, sees masked personal data and no action, and is refused when it posts anyway', async () => {
    const page = await open('/console/login');
    await signIn(page, READ_KEY);
    await expect(page.locator('.badge.b-read').textContent()).resolves.toContain('read-only');
    expect(await axeFindings(page)).toEqual([]);
    await page.goto(`${service.url}/console/events/${encodeURIComponent(scriptEventId)}`);
    const envelopeText = (await page.locator('pre.json').textContent()) ?? '';
    expect(envelopeText).toContain('j•••@acme.com');
    expect(envelopeText).not.toContain('jane@acme.com');
    await page.goto(`${service.url}/console/quarantine/${quarantineId}`);
    await expect(page.locator('form[action$="/replay"]').count()).resolves.toBe(0);
    await page.goto(`${service.url}/console/dead-letters`);
    await expect(page.locator('button', { hasText: 'Move back' }).count()).resolves.toBe(0);
    await signOut(page);
    await page.close();

    const client = await ConsoleClient.signIn(service.url, READ_KEY);
    const res = await client.post(`/console/quarantine/${quarantineId}/replay`, {
      _csrf: await client.csrfToken(),
      reason: 'trying anyway',
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('read-only key');
    expect(await db.count(`SELECT count(*) FROM admin_audit`)).toBe(0);
  });

  it("an operator finds an order's events by a payload path, and a <script> in a payload stays text", async () => {
    const page = await open('/console/login');
    await signIn(page, OPERATOR_KEY);
    expect(await axeFindings(page)).toEqual([]);
    await shoot(page, 'overview');
    await page.goto(`${service.url}/console/events`);
    await page.locator('#search').fill(`payload.metadata.orderId=${orderId}`);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/search=/);
    await expect(page.locator('#stored-events tbody tr').count()).resolves.toBe(4);
    // The quarantined item with that order id, marked as read from its JSON bytes.
    await expect(page.locator('#kept-matches tbody tr').count()).resolves.toBe(1);
    expect(await page.locator('#kept-matches tbody tr').textContent()).toContain('quarantined · JSON');
    expect(await axeFindings(page)).toEqual([]);
    await shoot(page, 'events');

    await page.goto(`${service.url}/console/events/${encodeURIComponent(scriptEventId)}`);
    expect(await page.locator('pre.json').textContent()).toContain('<script>window.__pwned = 1</script>');
    expect(await page.evaluate<unknown>('window.__pwned')).toBeUndefined();
    expect(await page.locator('pre.json').textContent()).toContain('jane@acme.com');
    expect(await axeFindings(page)).toEqual([]);
    await shoot(page, 'event');
    await page.close();
  });

  it("reads a message's timeline with a stale event and a revision gap", async () => {
    const page = await open(`/console/entities/message/${encodeURIComponent(messageId)}`);
    await expect(page.locator('.timeline li.step').count()).resolves.toBe(4);
    await expect(page.locator('.timeline li.step.o-stale').count()).resolves.toBe(1);
    expect(await page.locator('.timeline li.gap').textContent()).toMatch(/revision 3 never arrived/);
    expect(await page.locator('#state-h + p').textContent()).toMatch(/Revision 4: message\.read/);
    // Besides its events: the delivery that repeated one, and the quarantined item naming it.
    expect(await page.locator('#rep-h + div tbody tr').count()).toBe(1);
    expect(await page.locator('#rep-h + div tbody tr').textContent()).toContain(repeatDeliveryId);
    expect(await page.locator('#kept-h + div tbody tr').textContent()).toContain(`#${quarantineId}`);
    expect(await page.locator('#kept-h + div tbody tr').textContent()).toContain('open');
    expect(await page.locator('#dl-h + p').textContent()).toContain('None of the oldest 50');
    expect(await axeFindings(page)).toEqual([]);
    await shoot(page, 'entity');
    await page.close();
  });

  it('shows a delivery that held only a repeat, and everything that came of it', async () => {
    const page = await open(`/console/deliveries/${repeatDeliveryId}`);
    expect(await page.locator('#rec-h + dl').textContent()).toContain('it held only repeats');
    expect(await page.locator('#rep-h + div tbody tr').count()).toBe(1);
    expect(await page.locator('#ev-h + p').textContent()).toBe('None.');
    expect(await axeFindings(page)).toEqual([]);
    await shoot(page, 'delivery');
    // The event page links to its delivery.
    const first = page.locator('#rep-h + div tbody tr a').first();
    await first.click();
    await page.waitForURL(/\/console\/events\//);
    await page.locator('a[href^="/console/deliveries/"]').first().click();
    await page.waitForURL(/\/console\/deliveries\//);
    expect(await page.locator('#ev-h + div tbody tr, #ev-h ~ div tbody tr').count()).toBeGreaterThan(0);
    await page.close();
  });

  it('replays still-malformed bytes only once confirmed: refused (400) without, and nothing changes', async () => {
    const client = await ConsoleClient.signIn(service.url, OPERATOR_KEY);
    const res = await client.post(`/console/quarantine/${quarantineId}/replay`, {
      _csrf: await client.csrfToken(),
      reason: 'not confirmed',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('confirm');
    expect(await db.count(`SELECT count(*) FROM quarantined_deliveries WHERE replayed_at IS NOT NULL`)).toBe(
      0,
    );
    expect(await db.count(`SELECT count(*) FROM admin_audit`)).toBe(0);
  });

  it('replays a quarantined item with a reason, by keyboard alone, and sees it in the audit trail', async () => {
    const page = await open(`/console/quarantine/${quarantineId}`);
    expect(await page.locator('.warn-text').textContent()).toContain('quarantined again');
    expect(await axeFindings(page)).toEqual([]);
    await shoot(page, 'quarantine-item');
    await page.locator('#reason-replay').focus();
    await page.keyboard.type('sender fixed; check it again');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space'); // the confirmation: these bytes will be quarantined again
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${service.url}/console/quarantine/${quarantineId}/replay`);
    expect(await page.locator('.ok').textContent()).toMatch(/published again as delivery/);
    await page.goto(`${service.url}/console/audit`);
    const row = page.locator('tbody tr').first();
    expect(await row.textContent()).toContain('sender fixed; check it again');
    expect(await row.textContent()).toContain(`quarantine/${quarantineId}`);
    expect(await axeFindings(page)).toEqual([]);
    await shoot(page, 'audit');
    for (const path of [
      '/console/quarantine',
      '/console/dead-letters',
      `/console/replay?since=${new Date(Date.now() - 3_600_000).toISOString().slice(0, 16)}`,
    ]) {
      await page.goto(`${service.url}${path}`);
      expect([path, await axeFindings(page)]).toEqual([path, []]);
    }
    await page.close();
    expect(await db.count(`SELECT count(*) FROM admin_audit WHERE action = 'quarantine.replay'`)).toBe(1);
  });

  it('marks the item its replay kept again resolved, with a reason; the list shows it by state and reason', async () => {
    const againId = await waitFor(
      async () =>
        (
          await db.rows<{ id: string }>(
            `SELECT q.id::text AS id FROM quarantined_deliveries q
               JOIN quarantined_deliveries o ON o.replay_delivery_id = q.delivery_id WHERE o.id = $1`,
            [quarantineId],
          )
        )[0]?.id ?? null,
      { what: 'the replayed bytes quarantined again' },
    );
    const page = await open(`/console/quarantine/${againId}`);
    await page.locator('#reason-resolve').fill('no eventId upstream; the order was fixed by hand');
    await page.getByRole('button', { name: `Mark item #${againId} resolved` }).click();
    await page.waitForURL(`${service.url}/console/quarantine/${againId}/resolve`);
    expect(await page.locator('.ok').textContent()).toMatch(/marked resolved/);
    await page.goto(`${service.url}/console/quarantine/${againId}`);
    await expect(page.locator('form[action$="/replay"]').count()).resolves.toBe(0);
    await page.goto(`${service.url}/console/quarantine`);
    await page.locator('#state').selectOption('resolved');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/state=resolved/);
    const rows = page.locator('tbody tr');
    await expect(rows.count()).resolves.toBe(1);
    expect(await rows.first().textContent()).toContain('no eventId upstream');
    expect(await axeFindings(page)).toEqual([]);
    await shoot(page, 'quarantine');
    await page.goto(`${service.url}/console/audit`);
    expect(await page.locator('tbody tr').first().textContent()).toContain('quarantine.resolve');
    await page.close();
    expect(
      await db.rows(`SELECT target, reason FROM admin_audit WHERE action = 'quarantine.resolve'`),
    ).toEqual([
      { target: `quarantine/${againId}`, reason: 'no eventId upstream; the order was fixed by hand' },
    ]);
  });

  it('shows the HTTP destinations at a glance, and pauses one with a reason, audited', async () => {
    const page = await open('/console/destinations');
    const row = page.locator('tbody tr', { hasText: 'crm' });
    expect(await row.textContent()).toContain('active');
    expect(await row.textContent()).toContain('applied.message.#');
    expect(await axeFindings(page)).toEqual([]);
    await shoot(page, 'destinations');
    await page.locator('#reason-crm-pause').fill('CRM maintenance window tonight');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.waitForURL(`${service.url}/console/destinations/crm/pause`);
    expect(await page.locator('.ok').textContent()).toContain('crm is paused');
    expect(await db.rows(`SELECT state FROM destination_state WHERE name = 'crm'`)).toEqual([
      { state: 'paused' },
    ]);
    expect(
      await db.rows(`SELECT action, target, reason FROM admin_audit WHERE action = 'destination.pause'`),
    ).toEqual([
      { action: 'destination.pause', target: 'destinations/crm', reason: 'CRM maintenance window tonight' },
    ]);
    await page.goto(`${service.url}/console/destinations`);
    expect(await page.locator('tbody tr', { hasText: 'crm' }).textContent()).toContain('paused');
    expect(await page.getByRole('button', { name: 'Resume' }).count()).toBe(1);
    await page.close();
  });

  it('refuses a post without the CSRF token (403), and changes nothing', async () => {
    const client = await ConsoleClient.signIn(service.url, OPERATOR_KEY);
    const before = await db.count(`SELECT count(*) FROM admin_audit`);
    const res = await client.post('/console/replay', { since: '2026-01-01T00:00Z', reason: 'no token' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('CSRF');
    expect(await db.count(`SELECT count(*) FROM admin_audit`)).toBe(before);
  });

  it('saw no script error, console error, dialog or CSP violation on any page', () => {
    expect(problems).toEqual([]);
  });
});
