import { Injectable } from '@nestjs/common';
import { Eta } from 'eta';
import type { Response } from 'express';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { highlightJson } from './json-html';
import { maskJson, maskValue } from './mask';
import type { SessionView } from './console-sessions';

const ASSETS = join(__dirname, 'assets');

/** The console's one stylesheet (no script: every page works without one), with a version in their URL so they cache for a year. */
export class ConsoleAssets {
  readonly files: Record<string, { body: Buffer; type: string }> = {
    'console.css': { body: readFileSync(join(ASSETS, 'console.css')), type: 'text/css; charset=utf-8' },
  };
  readonly version = createHash('sha256').update(this.files['console.css'].body).digest('hex').slice(0, 12);

  url(name: string): string {
    return `/console/assets/${name}?v=${this.version}`;
  }
}

/** What every template gets besides its own data. */
function helpers(session: SessionView | null) {
  const masked = session?.role === 'read';
  return {
    session,
    canAct: session?.role === 'operator',
    /** A value shown to people: personal data masked for read-only keys. */
    shown: (value: string | null | undefined) =>
      value === null || value === undefined ? '' : masked ? maskValue(value) : value,
    /** JSON text as highlighted, escaped HTML (masked for read-only keys). */
    json: (text: string) => highlightJson(masked ? maskJson(text) : text),
    time: (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '—'),
    ago: (ms: number | null) => (ms === null ? '—' : duration(ms)),
    query: (params: Record<string, string | number | undefined | null>) => {
      const search = new URLSearchParams();
      for (const [key, value] of Object.entries(params))
        if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
      const text = search.toString();
      return text ? `?${text}` : '';
    },
    enc: encodeURIComponent,
  };
}

export function duration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (abs < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (abs < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} days`;
}

/** Server-rendered pages: Eta templates (auto-escaped) in views/, one layout. */
@Injectable()
export class ConsoleViews {
  readonly assets = new ConsoleAssets();
  private readonly eta = new Eta({ views: join(__dirname, 'views'), autoEscape: true, cache: true });

  send(
    res: Response,
    view: string,
    data: Record<string, unknown> & { title: string },
    session: SessionView | null,
    status = 200,
  ): void {
    // Helpers last: a page's data cannot shadow them.
    const html = this.eta.render(view, { ...data, ...helpers(session), assets: this.assets });
    res.status(status).type('html').setHeader('Cache-Control', 'no-store');
    res.send(html);
  }
}
