/**
 * Questions for the agents of other servers sharing PostgreSQL (spec checks, function
 * descriptions), the way fleet snapshot parts travel: the asking server records one row per
 * server asked and NOTIFYs; each server asked puts the question to its own agents (the
 * handler registered for its kind) and writes the answer; the origin waits for every answer
 * with a timeout, and gives up at once on a server whose heartbeat went old, naming it.
 * Notifications only wake: the tables are also read every second.
 */
import { randomUUID } from 'node:crypto';
import type { PgFleet } from '../store/shared/shared-store.js';
import type { FleetView } from './fleet-view.js';
import { HttpError } from './http-errors.js';

/** Beyond the time a server gives its own agents, how long the origin waits for its answer, ms. */
export const ASK_SLACK_MS = 5000;
/** How often the tables are read without a notification, ms. */
const POLL_MS = 1000;
/** How often a wait looks at the answers without a notification, ms. */
const WAIT_POLL_MS = 250;
/** Questions older than this are deleted (an origin that died while it waited), seconds. */
const FORGET_S = 600;

/** One server's answer to a question, or why there is none. */
export interface FleetAnswer {
  readonly serverId: string;
  readonly serverUrl: string;
  /** What the server's handler returned (JSON, as the other server wrote it: input). */
  readonly answer?: unknown;
  /** Why there is no answer, naming the server. */
  readonly lost?: string;
}

/** What a handler's failure becomes in the answer: an HttpError's status, code and message. */
export interface AnswerError {
  readonly error: { readonly status: number; readonly code: string; readonly message: string };
}

/** Whether an answer is a handler's failure. */
export function isAnswerError(a: unknown): a is AnswerError {
  const e = (a as AnswerError | null)?.error;
  return typeof e === 'object' && e !== null && typeof e.message === 'string' && typeof e.status === 'number';
}

/** The HttpError an answer's failure stands for (as the answering server would have sent it). */
export function answerHttpError(a: AnswerError, serverId: string): HttpError {
  const status = a.error.status >= 400 && a.error.status < 600 ? a.error.status : 502;
  const code = typeof a.error.code === 'string' ? a.error.code : 'internal';
  return new HttpError(status, code, `server ${serverId}: ${a.error.message}`);
}

type Handler = (question: unknown) => Promise<unknown>;

/** Asks other servers' agents, and answers the others' questions with this server's agents. */
export class FleetAsks {
  private readonly handlers = new Map<string, Handler>();
  private readonly working = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly fleet: PgFleet,
    private readonly view: FleetView,
    private readonly log: (line: string) => void,
  ) {}

  /** Answers questions of `kind` with `fn` (its HttpError becomes the answer's error). */
  handle(kind: string, fn: Handler): void {
    this.handlers.set(kind, fn);
  }

  /** Listens for questions and answers (NOTIFY, and a read of the table every second). */
  start(): void {
    this.fleet.listen((payload) => {
      if (payload.startsWith('ask:')) this.wake();
    });
    let ticks = 0;
    this.timer = setInterval(() => {
      this.wake();
      if (ticks++ % 600 === 0) void this.fleet.asks.forgetOld(FORGET_S).catch(() => undefined);
    }, POLL_MS);
    this.timer.unref();
  }

  /** Stops reading the table. */
  stop(): void {
    clearInterval(this.timer);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
    void this.pickUp();
  }

  private async pickUp(): Promise<void> {
    let asked: Awaited<ReturnType<PgFleet['asks']['askedOf']>>;
    try {
      asked = await this.fleet.asks.askedOf(this.view.serverId);
    } catch (e) {
      this.log(`fleet questions: cannot read them from PostgreSQL: ${(e as Error).message}`);
      return;
    }
    for (const q of asked) {
      if (this.working.has(q.askId)) continue;
      this.working.add(q.askId);
      void this.answer(q.askId, q.kind, q.question)
        .catch((e: unknown) =>
          this.log(`fleet question ${q.askId} from ${q.origin}: could not answer: ${(e as Error).message}`),
        )
        .finally(() => setTimeout(() => this.working.delete(q.askId), 60_000).unref());
    }
  }

  private async answer(askId: string, kind: string, question: unknown): Promise<void> {
    const fn = this.handlers.get(kind);
    let out: unknown;
    try {
      if (!fn) throw new HttpError(501, 'unsupported', `this server does not answer ${kind} questions`);
      out = await fn(question);
    } catch (e) {
      const h = e instanceof HttpError ? e : undefined;
      out = {
        error: { status: h?.status ?? 500, code: h?.code ?? 'internal', message: (e as Error).message },
      } satisfies AnswerError;
    }
    await this.fleet.asks.answer(askId, this.view.serverId, out);
  }

  /**
   * Asks `servers` a question of `kind` and resolves with each one's answer, or why there is
   * none: its heartbeat went old (at once), or `waitMs` passed.
   */
  async ask(
    kind: string,
    question: unknown,
    servers: readonly string[],
    waitMs: number,
  ): Promise<FleetAnswer[]> {
    if (servers.length === 0) return [];
    const askId = randomUUID();
    await this.fleet.asks.ask(askId, this.view.serverId, kind, question, servers);
    const deadline = Date.now() + waitMs;
    let rows = await this.fleet.asks.answers(askId);
    const open = (): string[] =>
      servers.filter((s) => rows.find((r) => r.serverId === s)?.state !== 'answered' && this.view.isLive(s));
    try {
      while (open().length > 0 && Date.now() < deadline) {
        await this.nap(Math.min(deadline - Date.now(), WAIT_POLL_MS));
        rows = await this.fleet.asks.answers(askId);
      }
    } finally {
      await this.fleet.asks.forget(askId).catch(() => undefined);
    }
    return servers.map((serverId) => {
      const serverUrl = this.view.urlOf(serverId);
      const row = rows.find((r) => r.serverId === serverId);
      if (row?.state === 'answered') return { serverId, serverUrl, answer: row.answer };
      const who = `server ${serverId} (${serverUrl})`;
      const lost = this.view.isLive(serverId)
        ? `${who} did not answer within ${waitMs} ms; see that server's log`
        : `${who}, which the agent is connected to, stopped before it answered (no heartbeat in PostgreSQL); its agents reconnect to another server, try again`;
      return { serverId, serverUrl, lost };
    });
  }

  private nap(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
    });
  }
}
