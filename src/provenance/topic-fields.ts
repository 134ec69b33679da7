/**
 * The checks on a topic message's `id`, `source` and `url`. They travel into records, events, logs, the
 * dataset and the pages, so they are bounded and refuse characters that hide or reorder text, as the title
 * does (src/prompts/topic-title.ts). Messages say what is wrong, never what was sent.
 */
import { z } from 'zod';

/** Letters and digits of ASCII and the punctuation ids are built with (URNs, paths, hashes). */
const ID = /^[A-Za-z0-9._:/@#+=~-]{1,200}$/;

/**
 * Controls (tab and newline included), line separators, bidi controls, invisible characters, tag
 * characters and unpaired surrogates: the same classes the title refuses.
 */
const UNSAFE =
  /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B\u2060-\u2064\uFEFF\u180E\u00AD\uFFF9-\uFFFB\u{E0000}-\u{E007F}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;

export const topicIdSchema = z
  .string()
  .regex(ID, { error: 'expected 1-200 characters of ASCII letters, digits and . _ : / @ # + = ~ -' });

export const topicSourceSchema = z
  .string()
  .min(1, { error: 'expected 1-200 characters' })
  .max(200, { error: 'expected 1-200 characters' })
  .refine((value) => !UNSAFE.test(value), {
    error: 'contains a control, line-break, bidirectional or invisible character',
  });

export const topicUrlSchema = z
  .string()
  .max(2000, { error: 'expected at most 2000 characters' })
  .refine((value) => /^https?:\/\/\S+$/i.test(value) && !UNSAFE.test(value) && URL.canParse(value), {
    error: 'expected an http:// or https:// URL without spaces, control or invisible characters',
  });
