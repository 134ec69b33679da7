import { describe, expect, it } from 'vitest';
import { QUOTA_WINDOW_MS, SlidingWindowQuota } from '../../tools/fake-provider/quota.js';

describe('fake provider quota', () => {
  it('output tokens of a reply that finishes after a later request was admitted do not count as another request', () => {
    const quota = new SlidingWindowQuota({ rpm: 3 });
    expect(quota.admit(0, 10).allowed).toBe(true);
    expect(quota.admit(100, 10).allowed).toBe(true);
    // The first request's reply comes back after the second request arrived.
    quota.addTokens(0, 50);
    expect(quota.admit(200, 10).allowed).toBe(true);
    expect(quota.admit(300, 10).allowed).toBe(false);
  });

  it('output tokens count against the token budget from their request onwards, and leave the window with it', () => {
    const quota = new SlidingWindowQuota({ tpm: 60 });
    expect(quota.admit(0, 10).allowed).toBe(true);
    expect(quota.admit(100, 10).allowed).toBe(true);
    quota.addTokens(0, 35);
    const refused = quota.admit(200, 10);
    expect(refused.allowed).toBe(false);
    // The first request and its output tokens leave the window together.
    expect(refused.retryAfterMs).toBe(QUOTA_WINDOW_MS - 200);
    expect(quota.admit(QUOTA_WINDOW_MS, 10).allowed).toBe(true);
  });
});
