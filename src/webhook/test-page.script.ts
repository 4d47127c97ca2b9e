/**
 * The test page's own script and styles, inline and allowed by their hashes in the page's
 * Content-Security-Policy (test-page.ts): nothing else runs, nothing is loaded from elsewhere.
 *
 * The script signs the textarea's exact text with Web Crypto (HMAC SHA-1 under the secret typed in
 * the password field) and POSTs it to /webhook with only the signature header: the secret stays in
 * the page, is never stored and never sent. Web Crypto exists only in a secure context (https, or
 * http on localhost / 127.0.0.1); elsewhere the page says so and offers the curl line.
 */
export const TEST_PAGE_SCRIPT = `
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const form = $('signer');
  const body = $('body');
  const secret = $('secret');
  const signature = $('signature');
  const status = $('status');
  const answer = $('answer');
  const curlBody = $('curl-body');
  const subtle = window.isSecureContext && window.crypto && window.crypto.subtle;
  const encoder = new TextEncoder();
  const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
  const uuid = () => {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const h = hex(b);
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
  };
  const shellQuote = (text) => "'" + text.replace(/'/g, "'\\\\''") + "'";
  const showCurl = () => { curlBody.textContent = 'body=' + shellQuote(body.value); };

  if (!subtle) {
    $('no-crypto').hidden = false;
    $('sign').disabled = true;
    $('send').disabled = true;
  }

  async function sign() {
    if (secret.value.length === 0) throw new Error('type the secret first (one of WEBHOOK_SECRETS)');
    const key = await subtle.importKey('raw', encoder.encode(secret.value), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
    return hex(await subtle.sign('HMAC', key, encoder.encode(body.value)));
  }

  function fresh() {
    let previous = {};
    try { previous = JSON.parse(body.value); } catch (err) { previous = {}; }
    const base = previous && typeof previous === 'object' && !Array.isArray(previous) ? previous : {};
    // A new message id in payload.id (as Dotdigital documents it); an envelope without payload (presence.*) keeps none.
    const ids = base.payload && typeof base.payload === 'object' ? { payload: { ...base.payload, id: uuid() } } : {};
    body.value = JSON.stringify({ ...base, eventId: uuid(), ...ids, timestamp: new Date().toISOString() }, null, 2);
    signature.value = '';
    showCurl();
  }

  body.addEventListener('input', () => { signature.value = ''; showCurl(); });
  $('fresh').addEventListener('click', fresh);
  $('sign').addEventListener('click', async () => {
    try { signature.value = await sign(); } catch (err) { signature.value = ''; status.value = err.message; }
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.value = 'sending…';
    answer.textContent = '';
    try {
      const signed = await sign();
      signature.value = signed;
      const res = await fetch(form.dataset.endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Comapi-Signature': signed },
        body: body.value,
        credentials: 'omit',
        cache: 'no-store',
      });
      const id = res.headers.get('X-Delivery-Id');
      status.value = res.status + ' ' + res.statusText + (id ? ' (X-Delivery-Id ' + id + ')' : '');
      status.dataset.status = String(res.status);
      answer.textContent = await res.text();
    } catch (err) {
      status.value = err.message;
      status.dataset.status = 'error';
    }
  });
  $('copy').addEventListener('click', async () => {
    const text = $('curl').textContent;
    try {
      await navigator.clipboard.writeText(text);
      $('copied').value = 'copied';
    } catch (err) {
      const range = document.createRange();
      range.selectNodeContents($('curl'));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      $('copied').value = 'selected: press Ctrl+C';
    }
  });
  showCurl();
})();
`;

export const TEST_PAGE_STYLE = `
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#fff}
main{max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .5rem}h2{font-size:1.2rem;margin:1.75rem 0 .5rem}
.ok{color:#0a6b2f;font-weight:600}.down{color:#a3141c;font-weight:600}.note{color:#4b5563}
ul.state{padding-left:1.2rem}
code,pre,textarea,output{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9rem}
pre{background:#f3f4f6;padding:.75rem;border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere;margin:.5rem 0}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
textarea,input{width:100%;padding:.5rem;border:1px solid #9ca3af;border-radius:4px}
.buttons{margin:.75rem 0;display:flex;gap:.5rem;flex-wrap:wrap}
button{font:inherit;padding:.35rem .9rem;border-radius:4px;border:1px solid #374151;background:#f9fafb;cursor:pointer}
button[type=submit]{background:#1d4ed8;color:#fff;border-color:#1d4ed8}
button:disabled{opacity:.5;cursor:not-allowed}
output{overflow-wrap:anywhere}
`;
