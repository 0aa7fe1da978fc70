/**
 * Probes and their events: the current spec's probes with where each is attached, what does
 * not resolve where, and what the CPU circuit breaker switched off; add one (checked by the
 * server against every binary) or remove one; the picked probe's hit rate, durations and
 * latest events, followed live.
 */

import { useEffect, useState } from 'preact/hooks';
import type { ProbeView } from '../../api/responses.js';
import { listProbes, processes, removeProbe } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { useAsync } from '../components/use-async.js';
import { count, duration, when } from '../format.js';
import { go } from '../router.js';
import { type Route, routeUrl } from '../routes.js';
import { AddProbe } from './probe-add.js';
import { ProbeDetail } from './probe-detail.js';

type ProbesRoute = Extract<Route, { view: 'probes' }>;

/** The probes page. */
export function ProbesView({ r }: { r: ProbesRoute }) {
  const data = useAsync(() => listProbes(), []);
  const procs = useAsync(() => processes(), []);
  const [removing, setRemoving] = useState<string>();
  const [said, setSaid] = useState<{ text: string; bad?: boolean }>();
  const programs = [...new Set((procs.value?.processes ?? []).flatMap((p) => p.programs))].sort();
  const probes = data.value?.probes ?? [];
  // Where probes are attached changes as agents place them: look again every few seconds, every
  // second while a live probe is attached nowhere yet (agents place a new one within a second).
  const placing = probes.some((p) => !p.expired && p.binaries.every((b) => b.attached.length === 0));
  useEffect(() => {
    const t = setInterval(data.reload, placing ? 1000 : 3000);
    return () => clearInterval(t);
  }, [placing]);
  const picked = probes.find((p) => p.name === r.probe);
  const remove = async (name: string) => {
    setRemoving(name);
    try {
      const out = await removeProbe(name);
      setSaid({ text: `Removed probe ${name}: spec version ${out.version}.` });
      if (r.probe === name) go({ ...r, probe: undefined }, true);
      data.reload();
    } catch (e) {
      setSaid({ text: (e as Error).message, bad: true });
    } finally {
      setRemoving(undefined);
    }
  };
  return (
    <div class="page probes">
      <section class="panel" aria-labelledby="probes-title">
        <div class="row between">
          <h2 id="probes-title">
            Probes {data.value && <span class="muted">(spec version {data.value.specVersion})</span>}
          </h2>
          <button type="button" onClick={data.reload}>
            Refresh
          </button>
        </div>
        {data.error !== undefined && <ErrorBox error={data.error} />}
        {(data.value?.agents ?? []).map((a) => (
          <p key={a.agentId} class={a.backend === 'none' || a.backoffUntil ? 'warn' : 'muted'}>
            Agent {a.agentId}: probes by {a.backend === 'bpf' ? 'eBPF' : a.backend}
            {a.backendNote ? ` (${a.backendNote})` : ''}
            {a.backoffUntil
              ? `; waits until ${when(a.backoffUntil)} before placing probes (it crashed with probes on)`
              : ''}
          </p>
        ))}
        {data.value && probes.length === 0 && (
          <p class="empty">No probe yet: add one below to count and log calls of a function.</p>
        )}
        {probes.length > 0 && <ProbeTable probes={probes} r={r} onRemove={remove} removing={removing} />}
        <div role="status" aria-label="Probe changes">
          {said && <p class={said.bad ? 'error' : 'ok'}>{said.text}</p>}
        </div>
      </section>
      {picked && <ProbeDetail probe={picked} r={r} />}
      {r.probe && data.value && !picked && (
        <ErrorBox
          error={
            new Error(`The current spec has no probe ${r.probe} (removed, or its spec version replaced).`)
          }
        />
      )}
      <AddProbe
        programs={programs}
        onAdded={(name, text) => {
          setSaid({ text });
          data.reload();
          go({ ...r, probe: name });
        }}
      />
    </div>
  );
}

function ProbeTable(p: {
  probes: readonly ProbeView[];
  r: ProbesRoute;
  onRemove: (name: string) => void;
  removing: string | undefined;
}) {
  return (
    <table class="grid" aria-label="Probes">
      <thead>
        <tr>
          <th>probe</th>
          <th>where</th>
          <th>state</th>
          <th>attached to</th>
          <th class="num">hits</th>
          <th class="num">events</th>
          <th class="num">not kept</th>
          <th>problems</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {p.probes.map((x) => {
          const attached = x.binaries.flatMap((b) => b.attached);
          const left = Date.parse(x.expiresAt) - Date.now();
          return (
            <tr key={x.name} class={x.name === p.r.probe ? 'sel' : ''}>
              <td>
                <a
                  href={routeUrl({ ...p.r, probe: x.name })}
                  aria-current={x.name === p.r.probe ? 'true' : undefined}
                >
                  {x.name}
                </a>
              </td>
              <td>
                <span class="fname">{x.site}</span>
                <div class="muted">
                  {x.program
                    ? `program ${x.program}`
                    : Object.entries(x.match ?? {})
                        .map(([k, v]) => `${k}~${v}`)
                        .join(', ')}
                  {Object.keys(x.captures).length > 0 &&
                    ` · captures ${Object.entries(x.captures)
                      .map(([c, e]) => (c === e ? c : `${c}=${e}`))
                      .join(', ')}`}
                  {x.condition ? ` · if ${x.condition}` : ''}
                  {x.rateLimit ? ` · ≤${x.rateLimit.perSecond}/s` : ''}
                  {x.duration ? ' · timed' : ''}
                </div>
              </td>
              <td class="nowrap">
                {x.expired ? (
                  <span class="bad">expired</span>
                ) : (
                  <>on, {duration(left * 1e6).split(' ')[0]} left</>
                )}
              </td>
              <td>
                {attached.length > 0 ? (
                  attached.join(', ')
                ) : (
                  <span class="muted">{x.expired ? 'nothing (expired)' : 'nothing yet'}</span>
                )}
              </td>
              <td class="num">{count(x.totals.hits)}</td>
              <td class="num">{count(x.totals.events)}</td>
              <td class="num">{count(x.totals.rejected + x.totals.rateLimited + x.totals.dropped)}</td>
              <td>
                <ProbeProblems probe={x} />
              </td>
              <td>
                <button
                  type="button"
                  aria-label={`Remove probe ${x.name}`}
                  disabled={p.removing === x.name}
                  onClick={() => p.onRemove(x.name)}
                >
                  {p.removing === x.name ? 'Removing…' : 'Remove'}
                </button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** What does not resolve in which binary, and what the circuit breaker switched off. */
function ProbeProblems({ probe }: { probe: ProbeView }) {
  const items = probe.binaries.flatMap((b) => [
    ...(b.error
      ? [
          <li key={`${b.agentId}${b.executable}`} class="bad">
            {shortExe(b.executable)}
            {b.buildId ? ` (build ${b.buildId.slice(0, 8)})` : ''}: {b.error}
          </li>,
        ]
      : []),
    ...(b.switchedOff ?? []).map((s) => (
      <li key={`${b.agentId}${s.process}`} class="warn">
        switched off on {s.process}: {s.reason}
      </li>
    )),
  ]);
  if (items.length === 0) return <span class="muted">none</span>;
  return <ul class="problems">{items}</ul>;
}

function shortExe(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
