import { createHash } from 'node:crypto';
import type { Backlog } from './test-page-storage';
import { TEST_PAGE_SCRIPT, TEST_PAGE_STYLE } from './test-page.script';

/** What the roles with PostgreSQL (all) add to the page: is storage healthy, how far behind it is. */
export interface StorageState {
  database: { up: boolean; state: string };
  consumer: { up: boolean; state: string } | null;
  backlog: Backlog;
}

export interface TestPageState {
  ready: boolean;
  /** Why not ready (the probe's state, e.g. the broker connection's last error); null when ready. */
  reason: string | null;
  role: string;
  version: string;
  /** `http(s)://<Host header>/webhook`, for the curl line. */
  endpoint: string;
  /** The body the form starts with: a fresh envelope, as text (signed exactly as shown). */
  body: string;
  /** Null in roles without PostgreSQL (api). */
  storage: StorageState | null;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page's policy: only its own inline script and style (by hash), requests to this origin only,
 * nothing framed, no form posts anywhere.
 */
export const TEST_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(TEST_PAGE_SCRIPT)}`,
  `style-src ${sha256(TEST_PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The HTML page GET /webhook serves: is the endpoint up, can it accept now (and why not), in the
 * roles that store, whether storage is healthy and how many deliveries wait; a form that signs a
 * body in the browser and sends it; the same as a curl line for this host.
 */
export function renderTestPage(state: TestPageState): string {
  const status = state.ready
    ? '<p class="ok" id="ready">Ready: signed deliveries POSTed here are accepted.</p>'
    : `<p class="down" id="ready">Not ready (${escapeHtml(state.reason ?? 'unknown')}): deliveries are answered 503 and Dotdigital retries them.</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dotdigital Omnichannel webhook receiver</title>
<style>${TEST_PAGE_STYLE}</style>
</head>
<body>
<main>
<h1>Dotdigital Omnichannel webhook receiver</h1>
<p>The endpoint is up (role <code>${escapeHtml(state.role)}</code>, version <code>${escapeHtml(state.version)}</code>).</p>
${status}
${renderStorage(state)}
<p>Point the Dotdigital webhook at <code>POST /webhook</code>. Each request must carry
<code>X-Comapi-Signature</code>: the hex HMAC-SHA1 of the raw body under one of the configured secrets
(<code>WEBHOOK_SECRETS</code>). A repeated <code>eventId</code> is answered 200 and stored once.</p>

<h2 id="sign-and-send">Sign and send</h2>
<p class="note">The signature is computed here, in your browser (Web Crypto, HMAC SHA-1). The secret is
never stored and never sent: only the <code>X-Comapi-Signature</code> header travels with the body.
"Sign" only shows the signature, e.g. for <a href="/docs">/docs</a>' "Try it out" (paste the same body there).</p>
<p class="down" id="no-crypto" hidden>This browser offers no Web Crypto on this page: it needs a secure
context, i.e. https, or http on <code>localhost</code> / <code>127.0.0.1</code>. Open the page that way,
or use the curl line below.</p>
<form id="signer" method="dialog" data-endpoint="/webhook">
<label for="body">Body (exactly these bytes are signed and sent)</label>
<textarea id="body" rows="16" spellcheck="false">${escapeHtml(state.body)}</textarea>
<label for="secret">Secret (one of WEBHOOK_SECRETS; stays in this page)</label>
<input id="secret" type="password" autocomplete="off" spellcheck="false">
<div class="buttons">
<button type="button" id="fresh">New ids</button>
<button type="button" id="sign">Sign</button>
<button type="submit" id="send">Sign and send</button>
</div>
<p>X-Comapi-Signature: <output id="signature"></output></p>
<p>Answer: <output id="status"></output></p>
<pre id="answer"></pre>
</form>

<h2 id="curl-title">The same with curl</h2>
<p class="note">Fill in the secret; the body line follows the form above.</p>
<pre id="curl">SECRET='...'   # one of WEBHOOK_SECRETS
<span id="curl-body">body=${escapeHtml(shellQuote(state.body))}</span>
sig=$(printf '%s' "$body" | openssl dgst -sha1 -hmac "$SECRET" | sed 's/^.* //')
curl -i -X POST ${escapeHtml(shellQuote(state.endpoint))} -H "X-Comapi-Signature: $sig" -H 'Content-Type: application/json' --data-binary "$body"</pre>
<div class="buttons"><button type="button" id="copy">Copy</button><output id="copied"></output></div>

<p>API documentation: <a href="/docs">/docs</a> (OpenAPI document: <a href="/docs-json">/docs-json</a>).
Health: <a href="/health">/health</a>, <a href="/health/ready">/health/ready</a>. Metrics: <a href="/metrics">/metrics</a>.</p>
</main>
<script>${TEST_PAGE_SCRIPT}</script>
</body>
</html>
`;
}

function renderStorage(state: TestPageState): string {
  const { storage } = state;
  if (storage === null)
    return `<p class="note" id="storage">This role (<code>${escapeHtml(state.role)}</code>) only receives: a worker stores the events in PostgreSQL.</p>`;
  const database = storage.database.up
    ? '<li class="ok" id="storage">Storage (PostgreSQL): connected.</li>'
    : `<li class="down" id="storage">Storage (PostgreSQL): down (${escapeHtml(storage.database.state)}); deliveries wait in RabbitMQ.</li>`;
  const consumer =
    storage.consumer === null || storage.consumer.up
      ? ''
      : `<li class="down" id="consumer">Consumer: not connected to RabbitMQ (${escapeHtml(storage.consumer.state)}).</li>`;
  const { backlog } = storage;
  const waiting = backlog.known
    ? `<li class="${backlog.waiting === 0 ? 'ok' : 'note'}" id="backlog">Consumer backlog: ${backlog.waiting} ${
        backlog.waiting === 1 ? 'delivery waits' : 'deliveries wait'
      } in <code>${escapeHtml(backlog.queue)}</code> (${backlog.consumers} ${
        backlog.consumers === 1 ? 'consumer' : 'consumers'
      }; deliveries being stored are not counted).</li>`
    : `<li class="down" id="backlog">Consumer backlog: unknown (${escapeHtml(backlog.why)}).</li>`;
  return `<ul class="state">${database}${consumer}${waiting}</ul>`;
}

/** Single-quoted for sh: what is inside is taken literally. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
