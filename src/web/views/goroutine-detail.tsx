/**
 * One goroutine: its state, its frames with file:line and the values captured on them as
 * collapsible JSON, and link icons to the goroutines it is linked with in other processes.
 */
import { useRef } from 'preact/hooks';
import { links, query } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { JsonTree, parseValue } from '../components/json-tree.js';
import { useAsync } from '../components/use-async.js';
import { duration, labelTexts, shortFile } from '../format.js';
import { type FrameRow, framesSql, goroutineSql } from '../goroutine-sql.js';
import type { Route } from '../routes.js';
import { routeUrl } from '../routes.js';
import { rowsOf } from '../sql.js';

type GoroutinesRoute = Extract<Route, { view: 'goroutines' }>;

interface LinkRow {
  direction: '->' | '<-';
  link: string;
  depth: number | null;
  other_process_id: string;
  other_goroutine_id: number;
  other_status: string | null;
  other_wait_reason: string | null;
  other_function: string | null;
}

interface GoroutineInfo {
  status: string;
  wait_reason: string | null;
  wait_ns: number | null;
  labels: Record<string, string> | null;
  created_by: string | null;
  program: string | null;
  hostname: string;
  pid: number;
}

async function load(snapshot: number, processId: string, goroutineId: number) {
  const scope = { snapshot };
  const [g, frames, linked] = await Promise.all([
    query(goroutineSql(processId, goroutineId), scope),
    query(framesSql(processId, goroutineId), scope),
    links(processId, goroutineId, snapshot),
  ]);
  return {
    info: rowsOf<GoroutineInfo>(g)[0],
    frames: rowsOf<FrameRow>(frames),
    links: rowsOf<LinkRow>(linked),
  };
}

/** The panel of one goroutine. */
export function GoroutineDetail({
  r,
  processId,
  goroutineId,
}: {
  r: GoroutinesRoute;
  processId: string;
  goroutineId: number;
}) {
  const data = useAsync(() => load(r.snapshot, processId, goroutineId), [r.snapshot, processId, goroutineId]);
  const list = useRef<HTMLOListElement>(null);
  const closeUrl = routeUrl({ ...r, goroutine: undefined });
  const linkUrl = (l: LinkRow) =>
    routeUrl({ ...r, goroutine: `${l.other_process_id}:${l.other_goroutine_id}` });
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const items = [...(list.current?.querySelectorAll<HTMLElement>('li.frame') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const next = items[Math.max(0, Math.min(items.length - 1, at + (e.key === 'ArrowDown' ? 1 : -1)))];
    next?.focus();
    e.preventDefault();
  };
  const info = data.value?.info;
  const visible = data.value?.frames.filter((f) => !f.hidden) ?? [];
  return (
    <section class="panel detail" aria-label={`Goroutine ${goroutineId} of ${processId}`}>
      <div class="row between">
        <h2>
          Goroutine {goroutineId}{' '}
          <span class="muted">
            in {info?.program ?? ''} {processId}
          </span>
        </h2>
        <a class="button" href={closeUrl} aria-label="Close the goroutine">
          ✕
        </a>
      </div>
      {data.error !== undefined && <ErrorBox error={data.error} />}
      {data.value && !info && (
        <ErrorBox
          error={new Error(`No goroutine ${goroutineId} in process ${processId} of snapshot ${r.snapshot}.`)}
        />
      )}
      {info && (
        <p class="facts">
          <span class={`status s-${info.status}`}>{info.status}</span>
          {info.wait_reason && <span> {info.wait_reason}</span>}
          {info.wait_ns !== null && <span> for {duration(info.wait_ns)}</span>}
          {labelTexts(info.labels).map((l) => (
            <span key={l} class="chip">
              {l}
            </span>
          ))}
          {info.created_by && <span class="muted"> created by {info.created_by}</span>}
        </p>
      )}
      {data.value && data.value.links.length > 0 && (
        <ul class="links" aria-label="Linked goroutines">
          {data.value.links.map((l) => (
            <li key={`${l.direction}${l.link}${l.other_process_id}${l.other_goroutine_id}`}>
              <a href={linkUrl(l)} class="linkto">
                <span aria-hidden="true">{l.direction === '->' ? '⇢' : '⇠'}</span>{' '}
                {l.direction === '->' ? 'calls' : 'called by'} {l.other_process_id} goroutine{' '}
                {l.other_goroutine_id}
              </a>{' '}
              <span class="muted">
                ({l.link}; {l.other_function}
                {l.other_wait_reason ? `, ${l.other_wait_reason}` : ''})
              </span>
            </li>
          ))}
        </ul>
      )}
      <ol class="frames" ref={list} onKeyDown={onKey} aria-label="Frames, innermost first">
        {visible.map((f) => {
          const here = data.value?.links.filter((l) => l.depth === f.depth) ?? [];
          return (
            // biome-ignore lint/a11y/noNoninteractiveTabindex: frames are focusable so that the arrow keys walk the stack
            <li key={f.depth} class="frame" tabIndex={0}>
              <div class="fn">
                <span class="fname">{f.function}</span>
                {f.inlined && <span class="muted"> (inlined)</span>}
                {here.map((l) => (
                  <a
                    key={`${l.other_process_id}:${l.other_goroutine_id}`}
                    class="linkicon"
                    href={linkUrl(l)}
                    title={`${l.link}: ${l.direction === '->' ? 'to' : 'from'} ${l.other_process_id} goroutine ${l.other_goroutine_id} (${l.other_function ?? ''})`}
                    aria-label={`Go to the linked goroutine ${l.other_goroutine_id} of ${l.other_process_id}`}
                  >
                    {l.direction === '->' ? '⇢' : '⇠'} {l.other_process_id.split(':')[0]}:
                    {l.other_goroutine_id}
                  </a>
                ))}
              </div>
              <div class="loc" title={`${f.file}:${f.line}`}>
                {shortFile(f.file)}:{f.line}
              </div>
              {f.captured && (
                <div class="captured">
                  {f.captured.map((c) => (
                    <div key={c.column} class="cap" title={`${c.table_name}.${c.column} = ${c.expr}`}>
                      {c.error !== null ? (
                        <div class="j-line">
                          <span class="j-key">{c.column}: </span>
                          <span class="bad">{c.error}</span>
                        </div>
                      ) : (
                        <JsonTree name={c.column} value={parseValue(c.value)} />
                      )}
                    </div>
                  ))}
                </div>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
