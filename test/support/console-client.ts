/** A console client without a browser: signs in with a key, keeps the cookie, reads the CSRF token. */
export class ConsoleClient {
  private constructor(
    readonly baseUrl: string,
    readonly cookie: string,
  ) {}

  /** Signs in; throws unless the service answered with a session cookie. */
  static async signIn(baseUrl: string, key: string): Promise<ConsoleClient> {
    const res = await fetch(`${baseUrl}/console/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key }).toString(),
      redirect: 'manual',
    });
    const cookie = res.headers.get('set-cookie')?.split(';')[0];
    if (res.status !== 303 || !cookie) throw new Error(`sign-in answered ${res.status} without a session`);
    return new ConsoleClient(baseUrl, cookie);
  }

  get(path: string, baseUrl = this.baseUrl): Promise<Response> {
    return fetch(`${baseUrl}${path}`, { headers: { Cookie: this.cookie }, redirect: 'manual' });
  }

  post(path: string, fields: Record<string, string>, baseUrl = this.baseUrl): Promise<Response> {
    return fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { Cookie: this.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
  }

  /** The session's CSRF token, as every page's sign-out form carries it. */
  async csrfToken(baseUrl = this.baseUrl): Promise<string> {
    const html = await (await this.get('/console', baseUrl)).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!token) throw new Error('no CSRF token on the overview');
    return token;
  }
}
