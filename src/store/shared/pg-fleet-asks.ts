/**
 * Questions for the agents of other servers, in PostgreSQL (`fleet_asks`): a spec check or a
 * function description a server cannot answer from its own agents. The asking server (the
 * origin) writes one row per server asked (state `asked`) and NOTIFYs `ask:ID` on the fleet
 * channel; each server asked puts the question to its own agents and writes its answer
 * (`answered`), NOTIFYing again; the origin reads the answers and deletes the rows. As with
 * fleet snapshot parts, the table is the truth and notifications only wake: a server that
 * missed one finds its questions on its next poll.
 */
import type pg from 'pg';
import { FLEET_CHANNEL, inPgTransaction, withPgRetry } from './pg-schema.js';

/** The table (created with the other fleet tables, pg-fleet.ts). */
export const FLEET_ASKS_SQL = `CREATE TABLE IF NOT EXISTS periscope.fleet_asks (
     ask_id text NOT NULL, server_id text NOT NULL, origin text NOT NULL, kind text NOT NULL,
     question jsonb NOT NULL, state text NOT NULL, answer jsonb,
     created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (ask_id, server_id))`;

/** A question waiting for one server's answer. */
export interface FleetAskRow {
  readonly askId: string;
  readonly origin: string;
  readonly kind: string;
  readonly question: unknown;
}

/** One server's row of a question: `asked`, then `answered` with its answer. */
export interface FleetAnswerRow {
  readonly serverId: string;
  readonly state: string;
  readonly answer: unknown;
}

/** The questions between servers of one PostgreSQL. */
export class PgFleetAsks {
  constructor(private readonly pool: pg.Pool) {}

  /** Records a question for each of `servers` and wakes them. */
  async ask(askId: string, origin: string, kind: string, question: unknown, servers: readonly string[]) {
    await inPgTransaction(this.pool, async (c) => {
      for (const s of servers)
        await c.query(
          `INSERT INTO periscope.fleet_asks (ask_id, server_id, origin, kind, question, state)
           VALUES ($1, $2, $3, $4, $5, 'asked')`,
          [askId, s, origin, kind, JSON.stringify(question)],
        );
      await c.query('SELECT pg_notify($1, $2)', [FLEET_CHANNEL, `ask:${askId}`]);
    });
  }

  /** The questions asked of `serverId` that it has not answered yet. */
  async askedOf(serverId: string): Promise<FleetAskRow[]> {
    const q = await withPgRetry(() =>
      this.pool.query(
        `SELECT ask_id, origin, kind, question FROM periscope.fleet_asks
         WHERE server_id = $1 AND state = 'asked' ORDER BY created_at`,
        [serverId],
      ),
    );
    return q.rows.map((r) => ({
      askId: String(r.ask_id),
      origin: String(r.origin),
      kind: String(r.kind),
      question: r.question,
    }));
  }

  /** Writes `serverId`'s answer (false when the origin stopped waiting and deleted the question) and wakes the origin. */
  async answer(askId: string, serverId: string, answer: unknown): Promise<boolean> {
    const q = await withPgRetry(() =>
      this.pool.query(
        `WITH u AS (UPDATE periscope.fleet_asks SET state = 'answered', answer = $3
                    WHERE ask_id = $1 AND server_id = $2 AND state = 'asked' RETURNING 1)
         SELECT (SELECT count(*) FROM u) AS n, pg_notify($4, 'ask:' || $1)`,
        [askId, serverId, JSON.stringify(answer), FLEET_CHANNEL],
      ),
    );
    return Number(q.rows[0]?.n ?? 0) > 0;
  }

  /** Every server's row of a question. */
  async answers(askId: string): Promise<FleetAnswerRow[]> {
    const q = await withPgRetry(() =>
      this.pool.query('SELECT server_id, state, answer FROM periscope.fleet_asks WHERE ask_id = $1', [askId]),
    );
    return q.rows.map((r) => ({ serverId: String(r.server_id), state: String(r.state), answer: r.answer }));
  }

  /** Deletes a question (its origin has what it waited for). */
  async forget(askId: string): Promise<void> {
    await withPgRetry(() => this.pool.query('DELETE FROM periscope.fleet_asks WHERE ask_id = $1', [askId]));
  }

  /** Deletes questions older than `ageS` seconds (an origin that died while it waited). */
  async forgetOld(ageS: number): Promise<void> {
    await withPgRetry(() =>
      this.pool.query(
        'DELETE FROM periscope.fleet_asks WHERE created_at < now() - make_interval(secs => $1)',
        [ageS],
      ),
    );
  }
}
