import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { AppleError } from '../apple.error';

/** The OAuth 1.0a credentials of one ministry's MDM server in ABM (from its server token). */
export interface AbmCredentials {
  consumerKey: string;
  consumerSecret: string;
  accessToken: string;
  accessSecret: string;
}

/** A device as the device assignment API lists it (fetch and sync; sync adds op_type/op_date). */
export interface AbmApiDevice {
  serial_number: string;
  model?: string;
  description?: string;
  color?: string;
  os?: string;
  device_family?: string;
  profile_status?: string;
  profile_uuid?: string;
  profile_assign_time?: string;
  op_type?: 'added' | 'modified' | 'deleted';
  op_date?: string;
}

export interface AbmDevicePage {
  devices?: AbmApiDevice[];
  cursor: string;
  more_to_follow: boolean;
  fetched_until?: string;
}

/** An answer of the API other than 200: its status and its error word (INVALID_CURSOR, CONFIG_URL_INVALID…). */
export class AbmHttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
  ) {
    super(`Apple Business Manager answered ${status} ${error}`);
  }
}

const PROTOCOL_VERSION = '3';
const TIMEOUT_MS = 30_000;

/**
 * Apple's device assignment API for one ministry: `GET /session` signed with OAuth 1.0a (by the
 * `oauth-1.0a` package, HMAC-SHA1, realm ADM), then every call with the `X-ADM-Auth-Session` it
 * returned. A 401 (or a 403 FORBIDDEN) means the session ended: a new one is opened and the call
 * made once more. A session token Apple sends back in a response replaces the one held.
 */
export class AbmClient {
  private session: string | null = null;
  private readonly oauth: OAuth;

  constructor(
    private readonly baseUrl: string,
    private readonly credentials: AbmCredentials,
  ) {
    this.oauth = new OAuth({
      consumer: { key: credentials.consumerKey, secret: credentials.consumerSecret },
      signature_method: 'HMAC-SHA1',
      hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
      realm: 'ADM',
    });
  }

  private async openSession(): Promise<string> {
    const url = `${this.baseUrl}/session`;
    const authorization = this.oauth.toHeader(
      this.oauth.authorize(
        { url, method: 'GET' },
        { key: this.credentials.accessToken, secret: this.credentials.accessSecret },
      ),
    ).Authorization;
    const response = await this.send(url, {
      method: 'GET',
      headers: { Authorization: authorization, 'X-Server-Protocol-Version': PROTOCOL_VERSION },
    });
    if (response.status !== 200) {
      const error = (await response.text()).trim();
      throw new AppleError(
        'abm-refused',
        'conflict',
        response.status === 403
          ? 'Apple Business Manager refused this server token (expired, or its terms and conditions must be accepted in ABM): accept them, or download a new token and import it.'
          : `Apple Business Manager refused this server token (${response.status} ${error}): download a new one from ABM and import it.`,
      );
    }
    const body = (await response.json()) as { auth_session_token?: unknown };
    if (typeof body.auth_session_token !== 'string')
      throw new AppleError('abm-unavailable', 'unavailable', 'Apple Business Manager gave no session token.');
    return body.auth_session_token;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      throw new AppleError(
        'abm-unavailable',
        'unavailable',
        `Apple Business Manager could not be reached (${(e as Error).message}); try again later.`,
      );
    }
  }

  /** One API call with the session; a JSON answer, or AbmHttpError. */
  async call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      this.session ??= await this.openSession();
      const headers: Record<string, string> = {
        'X-ADM-Auth-Session': this.session,
        'X-Server-Protocol-Version': PROTOCOL_VERSION,
        Accept: 'application/json',
      };
      if (body !== undefined) headers['Content-Type'] = 'application/json;charset=UTF8';
      const response = await this.send(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const renewed = response.headers.get('x-adm-auth-session');
      if (renewed) this.session = renewed;
      if (response.status === 200) return (await response.json()) as T;
      const error = (await response.text()).trim().replace(/^"|"$/g, '');
      if ((response.status === 401 || (response.status === 403 && error.includes('FORBIDDEN'))) && attempt === 0) {
        this.session = null;
        continue;
      }
      if (response.status >= 500 || response.status === 429)
        throw new AppleError(
          'abm-unavailable',
          'unavailable',
          `Apple Business Manager is unavailable (${response.status}); try again later.`,
        );
      throw new AbmHttpError(response.status, error);
    }
  }
}
