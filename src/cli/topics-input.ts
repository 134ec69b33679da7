/**
 * Topics given on the command line or in a file, checked with the same rules the daemon's intake applies
 * (the message's size, `topicMessageSchema`, then `validateTopicTitle`), so a topic the CLI accepts is never dead-lettered
 * later, and a bad one is refused with its line number before anything runs.
 *
 * A file holds either one title per line, or JSONL topic messages (`{"title": ..., "source": ...,
 * "url": ..., "id": ...}`): it is JSONL when its first non-blank line is a JSON object. Blank lines are
 * skipped. `-` reads stdin.
 */
import { readFile } from 'node:fs/promises';
import { deriveTopicId, type TopicMessage, topicMessageSchema } from '../events.js';
import { describeIssues } from '../intake/event-codec.js';
import { oversizeReason, type TopicLimits } from '../intake/parse-topic.js';
import { validateTopicTitle } from '../prompts/topic-title.js';
import { usageError } from './errors.js';
import { fsReason } from './output.js';

/** A checked topic message and the id its conversation is derived from. */
export interface CheckedTopic {
  id: string;
  message: TopicMessage;
}

/**
 * Checks one topic message; `where` prefixes the reason (`topics.txt line 3`).
 * @throws {ConfigError} naming `flag` with the reason.
 */
export function checkTopic(
  message: unknown,
  limits: TopicLimits,
  flag: string,
  where?: string,
): CheckedTopic {
  const prefix = where ? `${where}: ` : '';
  const oversize = oversizeReason(Buffer.byteLength(JSON.stringify(message) ?? 'null'), limits);
  if (oversize) throw usageError(flag, `${prefix}${oversize}`);
  const parsed = topicMessageSchema.safeParse(message);
  if (!parsed.success)
    throw usageError(flag, `${prefix}not a topic message (${describeIssues(parsed.error)})`);
  const title = validateTopicTitle(parsed.data.title, limits.topicMaxLength);
  if (!title.ok) throw usageError(flag, `${prefix}${title.reason}`);
  // The id derives from the message as sent, as the intake derives it.
  return { id: parsed.data.id ?? deriveTopicId(parsed.data), message: parsed.data };
}

function looksLikeJsonObject(line: string): boolean {
  if (!line.trimStart().startsWith('{')) return false;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    // Not JSON: a title that happens to start with a brace.
    return false;
  }
}

/**
 * Parses the text of a topics file.
 * @throws {ConfigError} naming `flag`, the file and the line of the first bad topic, or saying it is empty.
 */
export function parseTopicsText(
  text: string,
  name: string,
  limits: TopicLimits,
  flag: string,
): CheckedTopic[] {
  const lines = text.split(/\r?\n/);
  const first = lines.find((line) => line.trim() !== '');
  if (first === undefined) throw usageError(flag, `${name} holds no topics`);
  const jsonl = looksLikeJsonObject(first);
  const topics: CheckedTopic[] = [];
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const where = `${name} line ${index + 1}`;
    let message: unknown;
    if (jsonl) {
      try {
        message = JSON.parse(line);
      } catch {
        // The parser's message quotes the line; the line number is enough to find it.
        throw usageError(flag, `${where}: not valid JSON (the file is JSONL since its first line is)`);
      }
    } else {
      message = { title: line };
    }
    topics.push(checkTopic(message, limits, flag, where));
  }
  return topics;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads and checks a topics file (`-` for stdin).
 * @throws {ConfigError} naming `flag` and the file when it cannot be read or holds a bad topic.
 */
export async function readTopicsFile(
  path: string,
  limits: TopicLimits,
  flag: string,
): Promise<CheckedTopic[]> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw usageError(flag, `cannot read ${path}: ${fsReason(error)}`);
  }
  return parseTopicsText(text, path === '-' ? 'stdin' : path, limits, flag);
}
