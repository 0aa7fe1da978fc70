/**
 * The delivery half of OTLP export (otlp-export.ts), one per signal (logs, traces): a bounded
 * queue (items beyond it are dropped and counted), batches sent one request at a time,
 * retried with exponential backoff on network errors and 429/502/503/504 (Retry-After
 * honoured up to the longest backoff), dropped and counted after the last retry or when the
 * collector refuses them (other 4xx). The server never waits on the collector.
 */

/** How batches are sent to a collector: the same for every signal. */
export interface OtlpTuning {
  /** Extra request headers (an API key, …). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Items queued at most per signal (default 10000 events, 10000 traces); more are dropped and counted. */
  readonly maxQueue?: number;
  /** Items per request at most (default 512). */
  readonly maxBatch?: number;
  /** A partial batch waits this long for more, ms (default 1000). */
  readonly flushMs?: number;
  /** Attempts per batch (default 6: the first and five retries). */
  readonly maxAttempts?: number;
  /** First backoff, ms (default 500), doubled per retry up to maxBackoffMs (default 30000). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Per request, ms (default 10000). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** How one signal is sent and counted. */
export interface OtlpSenderOptions<T> extends OtlpTuning {
  /** The signal's full URL (`…/v1/logs`, `…/v1/traces`). */
  readonly url: string;
  /** What an item is, for the log (`probe events`, `traces`). */
  readonly what: string;
  /** The request body of a batch. */
  readonly body: (batch: readonly T[]) => unknown;
  readonly exported: (n: number) => void;
  readonly dropped: (reason: string, n: number) => void;
  readonly request: (outcome: string) => void;
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);

/** The queue and sender of one signal to one collector. */
export class OtlpSender<T> {
  private queue: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private closed = false;
  private lastLog = 0;
  private readonly stopWait = new AbortController();

  constructor(private readonly opts: OtlpSenderOptions<T>) {}

  /** Items waiting. */
  get queued(): number {
    return this.queue.length;
  }

  /** Queues items; those beyond the queue's bound are dropped and counted. */
  add(items: readonly T[]): void {
    if (items.length === 0) return;
    if (this.closed) {
      this.opts.dropped('shutdown', items.length);
      return;
    }
    const room = Math.max(0, (this.opts.maxQueue ?? 10_000) - this.queue.length);
    for (const item of items.slice(0, room)) this.queue.push(item);
    if (items.length > room) {
      this.opts.dropped('queue_full', items.length - room);
      this.note(`OTLP export: queue full, ${items.length - room} ${this.opts.what} dropped`);
    }
    this.schedule();
  }

  /** Stops: a request in flight ends (no further retries), and what is still queued is counted as dropped. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopWait.abort();
    await this.sending;
    if (this.queue.length > 0) {
      this.opts.dropped('shutdown', this.queue.length);
      this.queue = [];
    }
  }

  private schedule(): void {
    if (this.sending || this.timer || this.closed) return;
    const full = this.queue.length >= (this.opts.maxBatch ?? 512);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.sending = this.drain().finally(() => {
          this.sending = undefined;
          if (this.queue.length > 0) this.schedule();
        });
      },
      full ? 0 : (this.opts.flushMs ?? 1000),
    );
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.splice(0, this.opts.maxBatch ?? 512);
      await this.sendBatch(batch);
    }
  }

  private async sendBatch(batch: T[]): Promise<void> {
    const body = JSON.stringify(this.opts.body(batch));
    const attempts = this.opts.maxAttempts ?? 6;
    let backoff = this.opts.minBackoffMs ?? 500;
    const maxBackoff = this.opts.maxBackoffMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      let wait = backoff;
      let why: string;
      try {
        const res = await fetch(this.opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.opts.headers },
          body,
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        });
        const text = await res.text().catch(() => '');
        if (res.ok) {
          this.opts.request('ok');
          this.opts.exported(batch.length);
          return;
        }
        if (!RETRY_STATUS.has(res.status)) {
          this.opts.request('rejected');
          this.opts.dropped('rejected', batch.length);
          this.note(
            `OTLP export: the collector refused ${batch.length} ${this.opts.what}: ${res.status} ${text.slice(0, 200)}`,
          );
          return;
        }
        this.opts.request('retry');
        const after = Number(res.headers.get('retry-after'));
        if (Number.isFinite(after) && after > 0) wait = Math.min(after * 1000, maxBackoff);
        why = `${res.status}`;
      } catch (e) {
        this.opts.request('error');
        why = (e as Error).cause ? String((e as Error).cause) : (e as Error).message;
      }
      if (attempt >= attempts || this.closed) {
        this.opts.dropped('retries_exhausted', batch.length);
        this.note(
          `OTLP export to ${this.opts.url} failed ${attempt} times (${why}): ${batch.length} ${this.opts.what} dropped`,
        );
        return;
      }
      await this.sleep(wait);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.stopWait.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.stopWait.signal.addEventListener('abort', done);
    });
  }

  /** Logs at most once every 10 s (a collector down for hours must not flood the log). */
  private note(line: string): void {
    if (Date.now() - this.lastLog < 10_000) return;
    this.lastLog = Date.now();
    (this.opts.log ?? console.error)(line);
  }
}
