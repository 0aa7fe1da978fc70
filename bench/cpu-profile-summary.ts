/**
 * Reads the CPU profiles bench/cpu-profile-hook.ts wrote and tells, per server, how much of its
 * main thread's busy time went to the PostgreSQL client (samples whose stack has a frame of the
 * `pg` packages: protocol, row parsing, the JSON of jsonb columns parsed there): the figure of
 * docs/performance.md "1,000 agents" ("PostgreSQL rows").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** One server's profile: wall and busy seconds, and the busy seconds under the PostgreSQL client. */
export interface ProfileShare {
  readonly file: string;
  readonly wallS: number;
  readonly busyS: number;
  readonly pgS: number;
}

const PG = /node_modules\/(pg|pg-protocol|pg-types|pg-pool)\//;

/** The busy and PostgreSQL-client time of each `*.cpuprofile` in `dir`. */
export function pgShares(dir: string): ProfileShare[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((file) => {
      const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
      const byId = new Map(p.nodes.map((n) => [n.id, n]));
      const parent = new Map<number, number>();
      for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
      const kind = new Map<number, 'idle' | 'pg' | 'other'>();
      const classify = (id: number): 'idle' | 'pg' | 'other' => {
        const known = kind.get(id);
        if (known) return known;
        const n = byId.get(id)!;
        let k: 'idle' | 'pg' | 'other';
        if (n.callFrame.functionName === '(idle)') k = 'idle';
        else if (PG.test(n.callFrame.url)) k = 'pg';
        else {
          const up = parent.get(id);
          k = up === undefined ? 'other' : classify(up);
          if (k === 'idle') k = 'other';
        }
        kind.set(id, k);
        return k;
      };
      const us = { idle: 0, pg: 0, other: 0 };
      p.samples.forEach((s, i) => {
        us[classify(s)] += p.timeDeltas[i + 1] ?? 0;
      });
      return {
        file,
        wallS: (p.endTime - p.startTime) / 1e6,
        busyS: (us.pg + us.other) / 1e6,
        pgS: us.pg / 1e6,
      };
    });
}
