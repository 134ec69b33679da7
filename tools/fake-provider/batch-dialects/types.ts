import type { BatchStore } from '../batches.js';
import type { Dialect } from '../behaviours.js';
import type { WireResponse } from '../wire.js';

/** One request to a batch API, with what a handler needs to answer it. */
export interface BatchHttpRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  raw: Buffer;
  /** The server's base URL as the client reached it (for URLs the answer hands out). */
  baseUrl: string;
  now: number;
  store: BatchStore;
}

/** A dialect's batch API: which requests are its, and the answer to each. */
export interface BatchRoutes {
  readonly dialect: Dialect;
  /** Whether the request is one of this dialect's batch (or batch file) routes. */
  matches(method: string, path: string, headers: Record<string, string>): boolean;
  handle(request: BatchHttpRequest): Promise<WireResponse>;
}
