/** The form that adds a probe: a new spec version, checked by the server against every binary. */
import { useState } from 'preact/hooks';
import type { SpecCheckReport } from '../../api/responses.js';
import { addProbe } from '../api.js';
import { CheckReport } from '../components/check-report.js';
import { ErrorBox } from '../components/error-box.js';
import { type ProbeFormFields, probeEntry } from '../probe-form.js';

const EMPTY: ProbeFormFields = {
  name: '',
  program: '',
  at: 'function',
  where: '',
  captures: '',
  condition: '',
  rate: '',
  ttl: '30m',
  duration: false,
  stack: false,
};

/** The "add a probe" panel; `onAdded` gets the probe's name and what to tell the user. */
export function AddProbe(p: { programs: readonly string[]; onAdded: (name: string, text: string) => void }) {
  const [f, setF] = useState<ProbeFormFields>(EMPTY);
  const [busy, setBusy] = useState(false);
  const [refused, setRefused] = useState<{ message: string; check: SpecCheckReport }>();
  const [error, setError] = useState<unknown>();
  const program = f.program || p.programs[0] || '';
  const entry = probeEntry({ ...f, program });
  const set =
    (k: keyof ProbeFormFields) =>
    (e: Event): void => {
      const t = e.target as HTMLInputElement;
      setF({ ...f, [k]: t.type === 'checkbox' ? t.checked : t.value });
      setRefused(undefined);
    };
  const submit = async (force: boolean) => {
    if (entry instanceof Error) return;
    setBusy(true);
    setError(undefined);
    try {
      const out = await addProbe(entry, force);
      if (out.ok) {
        setRefused(undefined);
        setF({ ...EMPTY, program });
        const misfits = out.result.check?.binaries.filter((b) => b.status === 'does-not-fit').length ?? 0;
        p.onAdded(
          String(entry.name),
          `Added probe ${String(entry.name)}: spec version ${out.result.version}${
            misfits > 0
              ? ` (it does not fit ${misfits} binar${misfits === 1 ? 'y' : 'ies'}: see its problems)`
              : ''
          }.`,
        );
      } else setRefused({ message: out.refused.error.message, check: out.refused.check });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel" aria-labelledby="probe-add">
      <h2 id="probe-add">Add a probe</h2>
      <form
        class="probe-form"
        aria-label="Add a probe"
        onSubmit={(e) => {
          e.preventDefault();
          void submit(false);
        }}
      >
        <div class="row">
          <label>
            Name
            <input value={f.name} placeholder="logins" onInput={set('name')} required />
          </label>
          <label>
            Program
            <select value={program} onChange={set('program')}>
              {p.programs.map((x) => (
                <option key={x} value={x}>
                  {x}
                </option>
              ))}
            </select>
          </label>
          <label>
            At
            <select value={f.at} onChange={set('at')}>
              <option value="function">a function's entry</option>
              <option value="return">a function's returns</option>
              <option value="line">a line (FILE:LINE)</option>
            </select>
          </label>
          <label class="wide">
            {f.at === 'line' ? 'Line' : 'Function'}
            <input
              class="mono"
              value={f.where}
              placeholder={f.at === 'line' ? 'main.go:42' : 'main.(*Server).login'}
              onInput={set('where')}
              required
            />
          </label>
        </div>
        <div class="row">
          <label class="wide">
            Captures (one a line: column=expression)
            <textarea
              class="mono"
              rows={3}
              value={f.captures}
              placeholder="user=req.User"
              onInput={set('captures')}
            />
          </label>
          <label class="wide">
            Condition
            <input
              class="mono"
              value={f.condition}
              placeholder='req.User == "alice"'
              onInput={set('condition')}
            />
          </label>
        </div>
        <div class="row">
          <label>
            Rate (events/s per process)
            <input value={f.rate} placeholder="1000" size={8} onInput={set('rate')} />
          </label>
          <label>
            Time to live
            <input value={f.ttl} placeholder="1h" size={6} onInput={set('ttl')} />
          </label>
          <label class="check">
            <input type="checkbox" checked={f.duration} onChange={set('duration')} /> Time each call
          </label>
          <label class="check">
            <input type="checkbox" checked={f.stack === true} onChange={set('stack')} /> Keep stacks
          </label>
          <button type="submit" class="primary" disabled={busy || entry instanceof Error}>
            {busy ? 'Adding…' : 'Add probe'}
          </button>
        </div>
        <div role="status" aria-label="Check of the probe">
          {entry instanceof Error && f.name + f.where !== '' && <p class="muted">{entry.message}</p>}
          {error !== undefined && <ErrorBox error={error} />}
          {refused && (
            <>
              <p class="error">
                Not added: {misfitText(refused.check)} Fix it, or add it anyway: the binaries it fits get it.
              </p>
              <details>
                <summary>The server's message</summary>
                <pre class="wrap">{refused.message}</pre>
              </details>
              <CheckReport check={refused.check} label="Binaries the probe was checked against" />
              <button type="button" onClick={() => void submit(true)} disabled={busy}>
                Add anyway
              </button>
            </>
          )}
        </div>
      </form>
    </section>
  );
}

/** What the check found, in one sentence. */
function misfitText(check: SpecCheckReport): string {
  const checked = check.binaries.filter((b) => b.status !== 'not-checked').length;
  const misfits = check.binaries.filter((b) => b.status === 'does-not-fit').length;
  if (misfits > 0)
    return `it does not resolve in ${misfits} of the ${checked} binaries checked (below, with why).`;
  return 'the spec with it does not check out (below).';
}
