// Numbers and money for people.

export function count(n) {
  return n === undefined || n === null ? '—' : Number(n).toLocaleString('en-US');
}

export function fixed(n, digits = 2) {
  return n === undefined || n === null ? '—' : Number(n).toFixed(digits);
}

export function ms(n) {
  if (n === undefined || n === null) return '—';
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
}

/** Integer micro-units as money: exact digits from integers, no float arithmetic on the amount. */
export function money(micros, currency = 'USD') {
  if (micros === undefined || micros === null) return '—';
  const negative = micros < 0;
  const abs = Math.round(Math.abs(micros));
  const whole = Math.floor(abs / 1_000_000);
  const fraction = String(abs % 1_000_000)
    .padStart(6, '0')
    .slice(0, 4);
  const symbol = currency === 'USD' ? '$' : `${currency} `;
  return `${negative ? '-' : ''}${symbol}${whole.toLocaleString('en-US')}.${fraction}`;
}

export function time(epochMs) {
  if (!epochMs) return '—';
  return new Date(epochMs).toLocaleTimeString('en-GB', { hour12: false });
}

export function ago(epochMs, now = Date.now()) {
  if (!epochMs) return '—';
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

export const REASON_LABELS = {
  max_turns: 'max turns',
  natural_end: 'natural end',
  repetition: 'repetition',
  refusal: 'refusal',
  timeout: 'timeout',
  provider_failed: 'provider failed',
  cancelled: 'cancelled',
};

export function reason(r) {
  return REASON_LABELS[r] ?? r ?? '—';
}
