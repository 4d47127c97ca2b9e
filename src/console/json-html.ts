/** JSON text as HTML: every character escaped, keys, strings, numbers and literals in spans for colour. */
const TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function highlightJson(text: string): string {
  let html = '';
  let at = 0;
  for (const match of text.matchAll(TOKEN)) {
    html += escapeHtml(text.slice(at, match.index));
    const [whole, string, colon, number, literal] = match;
    if (string !== undefined) {
      html += colon
        ? `<span class="j-key">${escapeHtml(string)}</span>${escapeHtml(colon)}`
        : `<span class="j-str">${escapeHtml(string)}</span>`;
    } else if (number !== undefined) html += `<span class="j-num">${escapeHtml(number)}</span>`;
    else html += `<span class="j-lit">${escapeHtml(literal ?? whole)}</span>`;
    at = match.index + whole.length;
  }
  return html + escapeHtml(text.slice(at));
}
