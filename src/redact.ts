/**
 * Secret scrubbing shared by the logger, error reporting and anything written to events or snapshots.
 * Three layers: keys that name a secret, string patterns that look like one (keys in URLs, bearer tokens,
 * passwords in connection strings, provider key formats), and the exact values of the secrets this
 * process was configured with (registered at start-up), wherever they appear.
 */

export const REDACTED = '[REDACTED]';

/**
 * Field names that hold a secret, matched on the name with case and separators removed, anywhere in it:
 * `apiKey`, `ANTHROPIC_API_KEY`, `x-goog-api-key`, `redisPassword`, `saslPassword`, `clientSecret`,
 * `accessToken`. A bare `token` is a secret too; other `...Token` names (a lease's `fencingToken`) and
 * token counts (`inputTokens`) are not.
 */
const SECRET_NAME =
  /apikey|password|passwd|passphrase|secret|authorization|cookie|credential|privatekey|(?:access|refresh|auth|bearer|session|id|api|ui)token$|^token$/;

/** Whether a field named `key` holds a secret (see {@link SECRET_NAME}). */
export function isSecretKey(key: string): boolean {
  return SECRET_NAME.test(key.toLowerCase().replace(/[^a-z0-9]/g, ''));
}

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  // key=... in query strings (Gemini's REST API takes the key this way)
  [/([?&](?:key|api_key|apikey|access_token|token)=)[^&\s"'#]+/gi, `$1${REDACTED}`],
  // Authorization: Bearer ...
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/g, `$1 ${REDACTED}`],
  // scheme://user:password@host; greedy to the last @ before the host, so a password with a raw @ goes whole
  [/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^\s/]*@/gi, `$1${REDACTED}@`],
  // Provider key formats
  [/\bsk-ant-[A-Za-z0-9_-]{8,}/g, REDACTED],
  [/\bsk-[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\bAIza[0-9A-Za-z_-]{20,}/g, REDACTED],
  // header-like "x-api-key: value" inside messages
  [
    /((?:x-api-key|x-goog-api-key|api[-_]?key|password)["']?\s*[:=]\s*["']?)[^\s"',;}]{4,}/gi,
    `$1${REDACTED}`,
  ],
];

const registered = new Set<string>();
/** `registered`, longest first, so a secret containing another registered one is replaced whole. */
let ordered: string[] = [];

/**
 * Registers exact secret values (API keys, passwords) to scrub wherever they appear, each as given and in
 * the forms it takes inside URLs (percent-encoded, and decoded when given encoded).
 */
export function registerSecrets(values: Iterable<string | undefined>): void {
  for (const value of values) {
    if (!value) continue;
    for (const form of new Set([value, encodeURIComponent(value), decoded(value)])) {
      // Very short values would scrub ordinary words; real keys and passwords are longer.
      if (form && form.length >= 6) registered.add(form);
    }
  }
  ordered = [...registered].sort((a, b) => b.length - a.length);
}

function decoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined; // not percent-encoded text
  }
}

/** For tests: forget registered secrets. */
export function clearRegisteredSecrets(): void {
  registered.clear();
  ordered = [];
}

export function scrubString(input: string): string {
  let out = input;
  for (const secret of ordered) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * A deep copy of `value` with secrets removed. Errors become plain objects (type, message, code, stack,
 * cause), since their own fields are not enumerable and would otherwise escape scrubbing.
 */
export function scrub(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 12) return '[too deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (value instanceof Error) {
    const plain: Record<string, unknown> = { type: value.name, message: value.message, stack: value.stack };
    for (const [k, v] of Object.entries(value)) plain[k] = v;
    if (value.cause !== undefined) plain.cause = value.cause;
    return scrub(plain, depth + 1, seen);
  }
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1, seen));
  if (value instanceof Map) return scrub(Object.fromEntries(value), depth + 1, seen);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return scrub((value as { toJSON: () => unknown }).toJSON(), depth + 1, seen);
  }
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSecretKey(key) && inner != null && inner !== '' ? REDACTED : scrub(inner, depth + 1, seen);
  }
  return out;
}
