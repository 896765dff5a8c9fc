/**
 * A browser without a window, for sign-in tests over plain HTTP: it follows redirections by hand,
 * keeps cookies per host (honouring Max-Age/Expires deletions and Path), and submits the forms of
 * the identity provider's pages (the account picker, its logout form) as a person would.
 */
export interface Visit {
  /** Where the browser ended up. */
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

interface Cookie {
  value: string;
  path: string;
}

export class HttpBrowser {
  private readonly jar = new Map<string, Map<string, Cookie>>();
  /** Every Set-Cookie line received, in order. */
  readonly setCookies: string[] = [];
  /** Every URL requested, in order. */
  readonly visited: string[] = [];

  /**
   * Requests `url` and follows redirections (as a browser: 303 and 301/302 after a POST become a
   * GET) until an answer that is not one, or until `stopAt` says to stop before requesting a URL.
   */
  async go(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
    stopAt?: (next: URL) => boolean,
  ): Promise<Visit> {
    let target = new URL(url);
    let request = init;
    for (let hop = 0; hop < 20; hop++) {
      if (hop > 0 && stopAt?.(target)) return { url: target.toString(), status: 0, headers: new Headers(), body: '' };
      this.visited.push(target.toString());
      const headers = new Headers(request.headers);
      const cookie = this.cookieHeader(target);
      if (cookie) headers.set('cookie', cookie);
      const res = await fetch(target, {
        method: request.method ?? 'GET',
        headers,
        body: request.body,
        redirect: 'manual',
      });
      this.store(target, res.headers.getSetCookie());
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        target = new URL(location, target);
        request = {};
        continue;
      }
      return { url: target.toString(), status: res.status, headers: res.headers, body: await res.text() };
    }
    throw new Error(`too many redirections from ${url}`);
  }

  /** Submits the first form of a page (or the one with this id): its hidden inputs plus `fields`. */
  async submit(
    page: Visit,
    fields: Record<string, string>,
    opts: { formId?: string; stopAt?: (next: URL) => boolean } = {},
  ): Promise<Visit> {
    const forms = [...page.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
    const form = forms.find((f) => !opts.formId || f[1].includes(`id="${opts.formId}"`));
    if (!form) throw new Error(`no form in the page at ${page.url}: ${page.body.slice(0, 300)}`);
    const action = /action="([^"]*)"/.exec(form[1])?.[1] ?? page.url;
    const hidden = [...form[2].matchAll(/<input\b[^>]*type="hidden"[^>]*>/gi)].map((m) => m[0]);
    const body = new URLSearchParams();
    for (const input of hidden) {
      const name = /name="([^"]*)"/.exec(input)?.[1];
      if (name) body.set(name, decode(/value="([^"]*)"/.exec(input)?.[1] ?? ''));
    }
    for (const [name, value] of Object.entries(fields)) body.set(name, value);
    return this.go(
      new URL(decode(action), page.url).toString(),
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
      },
      opts.stopAt,
    );
  }

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name)?.value;
  }

  /** Forgets a cookie, as when it expires. */
  forget(host: string, name: string): void {
    this.jar.get(host)?.delete(name);
  }

  private cookieHeader(url: URL): string {
    const cookies = this.jar.get(url.host);
    if (!cookies) return '';
    return [...cookies]
      .filter(
        ([, c]) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private store(url: URL, lines: string[]): void {
    const cookies = this.jar.get(url.host) ?? new Map<string, Cookie>();
    for (const line of lines) {
      this.setCookies.push(line);
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const path = attributes.map((a) => /^\s*path=(.*)$/i.exec(a)?.[1]?.trim()).find(Boolean) ?? '/';
      const gone = /max-age=0\b|max-age=-|expires=thu, 01 jan 1970/i.test(line);
      if (gone) cookies.delete(name);
      else cookies.set(name, { value, path });
    }
    this.jar.set(url.host, cookies);
  }
}

function decode(html: string): string {
  return html
    .replaceAll('&amp;', '&')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>');
}

/** The account picker of the loopback provider, reached from our /auth/login. */
export function isLoginPage(visit: Visit): boolean {
  return visit.status === 200 && /\/interaction\/[^/]+$/.test(new URL(visit.url).pathname);
}
