import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page, Request } from 'playwright-core';
import { BrokerProbe } from '../support/broker';
import { Db } from '../support/db';
import { TEST_SECRET, runDatabaseUrl, uniquePrefix } from '../support/env';
import { waitFor } from '../support/poll';
import { ServiceProcess } from '../support/service-process';
import { INSECURE_HOST, OUTPUT, launchBrowser, type Browser } from './chromium';

/**
 * The test page and the Swagger UI in a real browser (Debian's Chromium, headless, driven by
 * playwright-core) against the built service (`node dist/main.js`, APP_ROLE=all) with the real
 * PostgreSQL and RabbitMQ. Screenshots go to test/output/. Ports 3850-3859.
 */
describe('in a browser: the test page and /docs', () => {
  let service: ServiceProcess;
  let browser: Browser;
  let db: Db;
  const prefix = uniquePrefix('browser');
  /** How much output the start-up wrote (its readiness polls answered 503 until the broker connected). */
  let startOutput = 0;

  beforeAll(async () => {
    db = await Db.connect();
    service = new ServiceProcess(3850, {
      APP_ROLE: 'all',
      DATABASE_URL: runDatabaseUrl(),
      AMQP_PREFIX: prefix,
      LOG_LEVEL: 'info',
    });
    await service.start();
    startOutput = service.output.length;
    browser = await launchBrowser();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await service?.dispose();
    const probe = await BrokerProbe.connect();
    await probe.deleteTopology(prefix);
    await probe.close();
    await db?.close();
  });

  /** A page whose script errors, console errors and CSP violations are collected. */
  async function open(path: string): Promise<{ page: Page; problems: string[]; requests: Request[] }> {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    const requests: Request[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('request', (request) => requests.push(request));
    await page.goto(`${service.url}${path}`, { waitUntil: 'load' });
    return { page, problems, requests };
  }

  const stored = (eventId: string) =>
    db.count(`SELECT count(*) FROM webhook_events WHERE event_id = $1`, [eventId]);

  const bodyOf = (page: Page) => page.locator('#body').inputValue();
  const eventIdOf = async (page: Page) => (JSON.parse(await bodyOf(page)) as { eventId: string }).eventId;

  it('renders the test page at 1280×800 without horizontal scrolling, script errors or CSP violations', async () => {
    const { page, problems } = await open('/webhook');
    expect(page.viewportSize()).toEqual({ width: 1280, height: 800 });
    await expect(page.locator('#ready').textContent()).resolves.toMatch(/^Ready: signed deliveries/);
    await expect(page.locator('#storage').textContent()).resolves.toMatch(/PostgreSQL\): connected/);
    await expect(page.locator('#backlog').textContent()).resolves.toMatch(
      new RegExp(`\\d+ deliver(y waits|ies wait) in ${prefix.replace(/\./g, '\\.')}\\.deliveries`),
    );
    // The script ran (it fills the curl body line from the form) and Web Crypto is there (127.0.0.1).
    await expect(page.locator('#no-crypto').isHidden()).resolves.toBe(true);
    const curl = await page.locator('#curl').textContent();
    expect(curl).toContain(`'${service.url}/webhook'`);
    expect(curl).toContain("SECRET='...'");
    expect(curl).toContain(`"eventId": "${await eventIdOf(page)}"`);
    // Evaluated in the page (a string: this project's types have no DOM).
    const widths = await page.evaluate<{ document: number; viewport: number; widest: number }>(`({
      document: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
      widest: Math.max(...Array.from(document.querySelectorAll('pre, textarea'), (el) => el.scrollWidth - el.clientWidth)),
    })`);
    expect(widths.document).toBeLessThanOrEqual(widths.viewport);
    expect(widths.widest).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(OUTPUT, 'test-page.png'), fullPage: true });
    expect(problems).toEqual([]);

    // The curl line works as copied, once the secret is filled in.
    const script = curl!.replace("SECRET='...'", `SECRET='${TEST_SECRET}'`);
    const answer = execFileSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(answer).toContain('{"accepted":1,"quarantined":0}');
    await waitFor(async () => (await stored(await eventIdOf(page))) === 1, {
      what: "the curl line's event stored",
    });
    await page.close();
  });

  it('"Sign and send" with the right secret gets 200 and the event is stored; the secret never leaves the page', async () => {
    const { page, problems, requests } = await open('/webhook');
    const eventId = await eventIdOf(page);
    await page.locator('#secret').fill(TEST_SECRET);
    await page.locator('#send').click();
    await waitFor(async () => (await page.locator('#status').getAttribute('data-status')) !== null, {
      what: 'an answer on the page',
    });
    expect(await page.locator('#status').getAttribute('data-status')).toBe('200');
    expect(JSON.parse((await page.locator('#answer').textContent()) ?? '')).toEqual({
      accepted: 1,
      quarantined: 0,
    });
    await waitFor(async () => (await stored(eventId)) === 1, { what: `event ${eventId} stored` });

    const posts = requests.filter((request) => request.method() === 'POST');
    expect(posts).toHaveLength(1);
    const [post] = posts;
    const headers = await post.allHeaders();
    expect(headers['x-comapi-signature']).toMatch(/^[0-9a-f]{40}$/);
    expect(JSON.stringify(headers)).not.toContain(TEST_SECRET);
    expect(post.postData()).not.toContain(TEST_SECRET);
    expect(requests.map((request) => request.url()).every((url) => url.startsWith(service.url))).toBe(true);
    expect(await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]')).toEqual([
      0,
      0,
      '',
    ]);
    await page.screenshot({ path: join(OUTPUT, 'test-page-sent.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('"Sign and send" with a wrong secret gets 401 and nothing is stored', async () => {
    const { page, problems } = await open('/webhook');
    await page.locator('#fresh').click();
    const eventId = await eventIdOf(page);
    await page.locator('#secret').fill('not-the-configured-secret-0000');
    await page.locator('#send').click();
    await waitFor(async () => (await page.locator('#status').getAttribute('data-status')) !== null, {
      what: 'an answer on the page',
    });
    expect(await page.locator('#status').getAttribute('data-status')).toBe('401');
    expect(await page.locator('#answer').textContent()).toContain(
      'X-Comapi-Signature does not match the body',
    );
    expect(await stored(eventId)).toBe(0);
    // Console errors from the 401 fetch itself are the browser's own network notice, not a problem of the page.
    expect(problems.filter((problem) => !/status of 401/.test(problem))).toEqual([]);
    await page.close();
  });

  it('says so when the page is no secure context (no Web Crypto), and its curl line names the host it was asked as', async () => {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    const url = `http://${INSECURE_HOST}:${service.port}/webhook`;
    await page.goto(url, { waitUntil: 'load' });
    expect(await page.evaluate('window.isSecureContext')).toBe(false);
    await expect(page.locator('#no-crypto').isVisible()).resolves.toBe(true);
    expect(await page.locator('#no-crypto').textContent()).toMatch(/secure\s+context/);
    await expect(page.locator('#send').isDisabled()).resolves.toBe(true);
    await expect(page.locator('#sign').isDisabled()).resolves.toBe(true);
    expect(await page.locator('#curl').textContent()).toContain(`'${url}'`);
    await page.screenshot({ path: join(OUTPUT, 'test-page-insecure.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Swagger UI at /docs: "Try it out" on POST /webhook with a body and signature made on the test page gets 200', async () => {
    // The body and its signature, made by the test page's "Sign" (in the browser).
    const signer = await open('/webhook');
    await signer.page.locator('#fresh').click();
    const body = await bodyOf(signer.page);
    const eventId = await eventIdOf(signer.page);
    await signer.page.locator('#secret').fill(TEST_SECRET);
    await signer.page.locator('#sign').click();
    const signature = await waitFor(
      async () =>
        ((await signer.page.locator('#signature').textContent()) ?? '').match(/^[0-9a-f]{40}$/)?.[0],
      { what: 'a signature on the test page' },
    );
    await signer.page.close();

    const { page, problems } = await open('/docs');
    // The signature is the operation's security scheme: given once under "Authorize".
    await page.locator('.auth-wrapper .authorize').click();
    const scheme = page.locator('.modal-ux .auth-container', { hasText: 'comapiSignature' });
    await scheme.locator('input').fill(signature);
    await scheme.locator('button.authorize').click();
    await scheme.locator('button.btn-done').click();
    const operation = page.locator('#operations-webhook-WebhookController_receive');
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await operation.locator('textarea.body-param__text').fill(body);
    await operation.getByRole('button', { name: 'Execute' }).click();
    const status = operation.locator('.live-responses-table .response .response-col_status');
    await status.first().waitFor({ timeout: 15000 });
    expect((await status.first().textContent())?.trim()).toBe('200');
    await waitFor(async () => (await stored(eventId)) === 1, { what: `event ${eventId} stored` });
    await page.screenshot({ path: join(OUTPUT, 'swagger.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('logged no warning for the pages, their assets or /favicon.ico', () => {
    const warnings = service.output
      .slice(startOutput)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(
        (line) =>
          JSON.parse(line) as { level: number; req?: { url?: string }; res?: { statusCode?: number } },
      )
      .filter((line) => line.level >= 40 && !(line.req?.url === '/webhook' && line.res?.statusCode === 401));
    expect(warnings).toEqual([]);
  });
});
