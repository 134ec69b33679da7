/**
 * The digest of the configuration that shapes the data, recorded in every record so a dataset can be
 * grouped by the settings it was made with. It is built from an allow-list of the settings that change
 * what is generated (models, conversation settings, the persona pool, temperatures, seed, resilience), so
 * secrets (API keys, passwords, credentials in URLs) and per-process values (instance id, run id, ports,
 * log settings, where Redis and Kafka are) never enter it: two runs with the same settings and different
 * keys share a hash.
 */
import type { Config } from '../config.js';
import { canonicalJson, digest } from '../provenance/hash.js';

/** A base URL without credentials, query or fragment: where the model was served, nothing secret. */
export function publicUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(unparseable)';
  }
}

/** The settings that enter the hash, as a plain value (also useful to show what a hash stands for). */
export function hashedSettings(config: Readonly<Config>): unknown {
  const providers = Object.fromEntries(
    Object.values(config.providers).map((p) => [
      p.name,
      {
        model: p.model,
        baseUrl: publicUrl(p.baseUrl),
        configured: config.configuredProviders.includes(p.name),
      },
    ]),
  );
  const { maxConcurrent: _concurrency, ...conversation } = config.conversation;
  const { runId: _run, personasFile: _file, ...dataset } = config.dataset;
  return { providers, conversation, dataset, resilience: config.resilience };
}

/** `sha256:<16 hex>` of {@link hashedSettings}. */
export function configHash(config: Readonly<Config>): string {
  return digest(canonicalJson(hashedSettings(config)));
}
