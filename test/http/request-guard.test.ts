import { describe, expect, it } from 'vitest';
import {
  assertSafeBinding,
  createRequestGuard,
  isLoopbackHost,
  withoutToken,
} from '../../src/http/request-guard.js';

const req = (headers: Record<string, string>, url = '/') => ({ headers, url });

describe('request guard', () => {
  it('treats only localhost, 127.0.0.0/8 and ::1 as loopback', () => {
    for (const host of ['localhost', '127.0.0.1', '127.5.6.7', '::1', '[::1]'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '10.0.0.1', 'evil.localhost.example', '192.168.1.2', '::'])
      expect(isLoopbackHost(host)).toBe(false);
  });

  it('refuses a request without a Host header or with a Host that is not allowed', () => {
    const guard = createRequestGuard({ bindHost: '127.0.0.1' });
    expect(guard.check(req({}))).toMatchObject({ ok: false, status: 403 });
    expect(guard.check(req({ host: 'rebind.example:9465' }))).toMatchObject({ ok: false, status: 403 });
    expect(guard.check(req({ host: '127.0.0.1:9465' }))).toEqual({ ok: true });
  });

  it('accepts the specific address it is bound to, but not any address when bound to all', () => {
    expect(createRequestGuard({ bindHost: '10.1.2.3' }).check(req({ host: '10.1.2.3:9465' })).ok).toBe(true);
    expect(createRequestGuard({ bindHost: '0.0.0.0' }).check(req({ host: '10.1.2.3:9465' })).ok).toBe(false);
  });

  it('accepts an Origin only when it is the address the request came to', () => {
    const guard = createRequestGuard({ bindHost: '127.0.0.1' });
    const host = 'localhost:9465';
    expect(guard.check(req({ host, origin: 'http://localhost:9465' })).ok).toBe(true);
    expect(guard.check(req({ host, origin: 'http://localhost:8000' })).ok).toBe(false);
    expect(guard.check(req({ host, origin: 'null' })).ok).toBe(false);
    expect(guard.check(req({ host, origin: 'file://' })).ok).toBe(false);
  });

  it('asks for the token by bearer header, cookie or once in the query, compared in full', () => {
    const token = 'a-long-enough-ui-token';
    const guard = createRequestGuard({
      bindHost: '0.0.0.0',
      token,
      allowedHosts: ['dash.internal'],
      cookieName: 'c',
    });
    const host = 'dash.internal:9465';
    expect(guard.check(req({ host }))).toMatchObject({ ok: false, status: 401 });
    expect(guard.check(req({ host, authorization: `Bearer ${token}` }))).toEqual({ ok: true });
    expect(guard.check(req({ host, authorization: `Bearer ${token.slice(0, -1)}` })).ok).toBe(false);
    expect(guard.check(req({ host, cookie: `x=1; c=${token}` }))).toEqual({ ok: true });
    const viaQuery = guard.check(req({ host }, `/c/1?token=${token}&a=b`));
    expect(viaQuery).toMatchObject({ ok: true });
    expect(viaQuery.ok && viaQuery.setCookie).toContain('HttpOnly');
    expect(withoutToken(`/c/1?token=${token}&a=b`)).toBe('/c/1?a=b');
    // The refusal never repeats what was sent.
    const refused = guard.check(req({ host, authorization: 'Bearer wrong-token-value' }));
    expect(JSON.stringify(refused)).not.toContain('wrong-token-value');
  });

  it('refuses to listen beyond loopback without a token, naming the variable', () => {
    expect(() => assertSafeBinding('0.0.0.0', undefined, 'UI_HOST')).toThrow(/UI_HOST/);
    expect(() => assertSafeBinding('0.0.0.0', 'a-long-enough-ui-token', 'UI_HOST')).not.toThrow();
    expect(() => assertSafeBinding('127.0.0.1', undefined, 'UI_HOST')).not.toThrow();
  });
});
