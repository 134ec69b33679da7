/**
 * Who may read the pages that show conversation text: the inspector (`run --inspect`), the dashboard
 * (`run --ui`) and the dataset viewer (`view`). One rule for all three, checked on every HTTP request and
 * every WebSocket or server-sent-events connection:
 *
 * - **Host**: the `Host` header must name this machine's loopback (`localhost`, `127.0.0.0/8`, `::1`), the
 *   address the server is bound to when that is a specific one, or a host the operator listed
 *   (`UI_ALLOWED_HOSTS` / `--allow-host`). A DNS-rebinding page reaches the server under its own name and
 *   is refused here.
 * - **Origin**: a request that carries `Origin` (browsers send it on every WebSocket and every cross-origin
 *   request) must come from the server's own origin, i.e. the scheme-less `host:port` it was reached at.
 *   Clients that send no `Origin` (curl, a WebSocket client library, a same-origin `EventSource`) pass.
 * - **Token**: when a token is configured (required to listen beyond loopback) the request carries it as
 *   `Authorization: Bearer ...`, as the cookie the server sets, or once as `?token=` in a link (the server
 *   then sets the cookie and drops it from the address, so it never stays in a page or history).
 *
 * Refusals are 403 (host, origin) or 401 (token) with a short reason that never repeats what was sent.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';
import { registerSecrets } from '../redact.js';

export interface RequestGuardOptions {
  /** The interface the server listens on; a specific address is accepted as a Host name as well. */
  bindHost: string;
  /** Host names (without port) accepted besides loopback, e.g. a reverse proxy's name. @default [] */
  allowedHosts?: readonly string[];
  /** When set, every request must carry this token. @default none (loopback only) */
  token?: string;
  /** Name of the cookie that carries the token, unique per port since cookies ignore ports. */
  cookieName?: string;
}

export type GuardVerdict =
  | {
      ok: true;
      /** The token came as `?token=`: set this cookie and, for a page, redirect to the same URL without it. */
      setCookie?: string;
    }
  | { ok: false; status: 401 | 403; reason: string };

export interface RequestGuard {
  check(request: Pick<IncomingMessage, 'headers' | 'url'>): GuardVerdict;
}

const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '']);

/** True for names and addresses that only ever mean this machine. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (name === 'localhost') return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || name === '0:0:0:0:0:0:0:1' || name === '::ffff:127.0.0.1';
  return false;
}

/**
 * A server that shows conversation text may listen beyond loopback only behind a token.
 * @throws {ConfigError} naming `variable` when `host` is not loopback and no token is set.
 */
export function assertSafeBinding(host: string, token: string | undefined, variable: string): void {
  if (isLoopbackHost(host) || (token !== undefined && token !== '')) return;
  throw new ConfigError(
    variable,
    `listening on ${host} shows conversation text beyond this machine: set UI_TOKEN (at least 16 characters) or listen on 127.0.0.1`,
  );
}

/** `host[:port]` of a Host header, lower-cased, or undefined when it is not one. */
function parseHost(header: string | undefined): { host: string; hostname: string } | undefined {
  if (!header || header.length > 300) return undefined;
  try {
    const url = new URL(`http://${header}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    return { host: url.host, hostname: url.hostname.replace(/^\[|\]$/g, '') };
  } catch {
    return undefined;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function sameSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export function createRequestGuard(options: RequestGuardOptions): RequestGuard {
  // Scrubbed wherever it might surface (an error message, a logged URL), like every other secret.
  registerSecrets([options.token]);
  const allowed = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase().replace(/^\[|\]$/g, '')));
  const bind = options.bindHost.toLowerCase().replace(/^\[|\]$/g, '');
  if (!WILDCARD_BINDS.has(bind)) allowed.add(bind);
  const expected = options.token ? digest(options.token) : undefined;
  const cookieName = options.cookieName ?? 'chimera_ui_token';

  function hostAllowed(hostname: string): boolean {
    return isLoopbackHost(hostname) || allowed.has(hostname);
  }

  return {
    check(request) {
      const host = parseHost(request.headers.host);
      if (!host || !hostAllowed(host.hostname)) {
        return { ok: false, status: 403, reason: 'host not allowed (see UI_ALLOWED_HOSTS)' };
      }
      const origin = request.headers.origin;
      if (origin !== undefined) {
        let originHost: string | undefined;
        try {
          const url = new URL(origin);
          if (url.protocol === 'http:' || url.protocol === 'https:') originHost = url.host;
        } catch {
          originHost = undefined;
        }
        if (originHost !== host.host)
          return { ok: false, status: 403, reason: 'cross-origin request refused' };
      }
      if (!expected) return { ok: true };

      const authorization = request.headers.authorization;
      const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
      if (bearer !== undefined && sameSecret(bearer, expected)) return { ok: true };
      const cookie = cookieValue(request.headers.cookie, cookieName);
      if (cookie !== undefined && sameSecret(cookie, expected)) return { ok: true };
      const query = new URL(request.url ?? '/', 'http://x').searchParams.get('token');
      if (query !== null && sameSecret(query, expected)) {
        return {
          ok: true,
          setCookie: `${cookieName}=${encodeURIComponent(query)}; HttpOnly; SameSite=Strict; Path=/`,
        };
      }
      return { ok: false, status: 401, reason: 'token required (UI_TOKEN)' };
    },
  };
}

/** The request's URL without its `token` parameter: where a page that brought the token redirects to. */
export function withoutToken(url: string | undefined): string {
  const parsed = new URL(url ?? '/', 'http://x');
  parsed.searchParams.delete('token');
  return `${parsed.pathname}${parsed.search}`;
}
