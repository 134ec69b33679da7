/**
 * Progress of a batch on stderr. On a terminal: one line redrawn in place with a bar. Elsewhere (a pipe, a
 * log file, CI): a plain line at every tenth of the batch and, while the batch is long, at least every
 * `heartbeatMs`, so a log shows the run is alive without flooding it.
 */
import { formatUsd } from '../cost/money.js';
import { type Clock, systemClock } from '../services/ports.js';

export interface ProgressStats {
  /** Conversations finished, whatever their status. */
  done: number;
  total: number;
  /** Conversations that finished failed or timed out. */
  failed: number;
  /** Model calls that returned a turn. */
  turns: number;
  tokens: number;
  /** Model calls that failed (retried or not). */
  errors: number;
  /** Spent so far, micro-dollars (absent where no ledger is kept). */
  spentMicros?: number;
  /** Projected total for the run, micro-dollars; null before a conversation has finished. */
  projectedMicros?: number | null;
  /** The spending cap stopped new calls. */
  capReached?: boolean;
}

/** `$0.0123 spent, ~$0.0456 projected` (the projection once a conversation has finished). */
export function spendText(stats: ProgressStats): string {
  if (stats.spentMicros === undefined) return '';
  const projected =
    stats.projectedMicros === null || stats.projectedMicros === undefined
      ? ''
      : `, ~${formatUsd(stats.projectedMicros)} projected`;
  return `${formatUsd(stats.spentMicros)} spent${projected}${stats.capReached ? ' (cap reached)' : ''}`;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** @default process.stderr */
  stream?: ProgressStream;
  /** Reads the current figures. */
  sample: () => ProgressStats | Promise<ProgressStats>;
  /** @default systemClock */
  clock?: Clock;
  /** How often figures are read (and, on a terminal, redrawn). @default 250 on a terminal, 1000 otherwise */
  refreshMs?: number;
  /** Longest silence between plain lines. @default 10000 */
  heartbeatMs?: number;
  /** First word of each line. @default 'generate' */
  label?: string;
}

const BAR_WIDTH = 24;

function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function formatElapsed(ms: number): string {
  const total = Math.floor(ms / 1000);
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, '0')}`;
}

function rate(turns: number, elapsedMs: number): string {
  return elapsedMs > 0 ? (turns / (elapsedMs / 1000)).toFixed(1) : '0.0';
}

/** The terminal line: a bar, counts, turn rate, tokens, errors and elapsed time. */
export function barLine(stats: ProgressStats, elapsedMs: number, label = 'generate'): string {
  const fraction = stats.total > 0 ? Math.min(1, stats.done / stats.total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
  return (
    `${label} [${bar}] ${stats.done}/${stats.total}` +
    `  ${stats.failed} failed  ${rate(stats.turns, elapsedMs)} turns/s` +
    `  ${formatInt(stats.tokens)} tokens  ${stats.errors} errors` +
    `${stats.spentMicros === undefined ? '' : `  ${spendText(stats)}`}  ${formatElapsed(elapsedMs)}`
  );
}

/** The plain line for logs. */
export function plainLine(stats: ProgressStats, elapsedMs: number, label = 'generate'): string {
  const percent = stats.total > 0 ? Math.floor((stats.done / stats.total) * 100) : 100;
  return (
    `${label}: ${stats.done}/${stats.total} conversations (${percent}%), ${stats.failed} failed, ` +
    `${stats.turns} turns (${rate(stats.turns, elapsedMs)}/s), ${stats.tokens} tokens, ` +
    `${stats.errors} provider errors, ${stats.spentMicros === undefined ? '' : `${spendText(stats)}, `}` +
    `${formatElapsed(elapsedMs)} elapsed`
  );
}

export class ProgressReporter {
  private readonly stream: ProgressStream;
  private readonly clock: Clock;
  private readonly tty: boolean;
  private readonly refreshMs: number;
  private readonly heartbeatMs: number;
  private readonly label: string;
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private lastStep = -1;
  private lastPrintAt: number;
  private lastPrinted = '';
  private drawn = false;
  private ticking: Promise<void> | undefined;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.clock = options.clock ?? systemClock;
    this.tty = Boolean(this.stream.isTTY);
    this.refreshMs = options.refreshMs ?? (this.tty ? 250 : 1000);
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.label = options.label ?? 'generate';
    this.startedAt = this.clock.now();
    this.lastPrintAt = this.startedAt;
  }

  /** Starts the refresh timer; it does not keep the process alive. */
  start(): this {
    this.timer = setInterval(() => void this.tick(), this.refreshMs);
    this.timer.unref();
    return this;
  }

  /** Reads the figures and draws or prints what is due. One tick at a time. */
  tick(): Promise<void> {
    this.ticking ??= (async () => {
      try {
        this.show(await this.options.sample(), false);
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  /** Stops the timer and leaves the final figures on their own line. */
  async finish(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    this.show(await this.options.sample(), true);
    if (this.tty && this.drawn) this.stream.write('\n');
  }

  private show(stats: ProgressStats, final: boolean): void {
    const now = this.clock.now();
    const elapsed = now - this.startedAt;
    if (this.tty) {
      const width = this.stream.columns || 120; // 0 when the terminal does not say
      const line = barLine(stats, elapsed, this.label).slice(0, Math.max(20, width - 1));
      // \r and "erase line" redraw in place; nothing else is written to stderr meanwhile.
      this.stream.write(`\r\x1b[K${line}`);
      this.drawn = true;
      return;
    }
    const step = stats.total > 0 ? Math.floor((stats.done / stats.total) * 10) : 10;
    const line = plainLine(stats, elapsed, this.label);
    const due = step > this.lastStep || now - this.lastPrintAt >= this.heartbeatMs || final;
    if (!due || (final && line === this.lastPrinted)) return;
    this.lastStep = step;
    this.lastPrintAt = now;
    this.lastPrinted = line;
    this.stream.write(`${line}\n`);
  }
}
