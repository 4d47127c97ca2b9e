/** The small HTML page GET /webhook serves: is the endpoint up, can it accept now, where are the docs. */
export function renderTestPage(state: { ready: boolean; reason: string | null; role: string }): string {
  const status = state.ready
    ? '<p class="ok">Ready: signed deliveries POSTed here are accepted.</p>'
    : `<p class="down">Not ready (${escapeHtml(state.reason ?? 'unknown')}): deliveries are answered 503 and Dotdigital retries them.</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Dotdigital Omnichannel webhook receiver</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
.ok{color:#0a6b2f;font-weight:600}.down{color:#a3141c;font-weight:600}
pre{background:#f3f4f6;padding:.75rem;overflow-x:auto;border-radius:4px}
</style>
</head>
<body>
<h1>Dotdigital Omnichannel webhook receiver</h1>
<p>The endpoint is up (role <code>${state.role}</code>).</p>
${status}
<p>Point the Dotdigital webhook at <code>POST /webhook</code>. Each request must carry
<code>X-Comapi-Signature</code>: the hex HMAC-SHA1 of the raw body under one of the configured secrets.</p>
<pre>body='{"eventId":"test-1","name":"message.sent","payload":{"messageId":"m-1"},"revision":1}'
sig=$(printf '%s' "$body" | openssl dgst -sha1 -hmac "$SECRET" | sed 's/^.* //')
curl -X POST -H "X-Comapi-Signature: $sig" --data-binary "$body" http://HOST/webhook</pre>
<p>API documentation: <a href="/docs">/docs</a> (OpenAPI document: <a href="/docs-json">/docs-json</a>).
Health: <a href="/health">/health</a>.</p>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
