/**
 * A spec edited from a Spec view form: the new text checked a moment after the last keystroke
 * (`POST /v1/spec/check`, older answers dropped), saved as a new spec version, and the
 * check's and the save's outcome for the form to show.
 */
import { useEffect, useState } from 'preact/hooks';
import type { SpecCheckResponse } from '../../api/responses.js';
import { checkSpec, putSpec } from '../api.js';
import { ErrorBox } from '../components/error-box.js';

/** The new spec text, the error saying what to fix, or undefined while the form is incomplete. */
export type Draft = string | Error | undefined;

/**
 * The check of `text` a moment after the last keystroke (older answers dropped), and saving it:
 * `save(done, reset)` says `Saved: spec version N ${done}.` (e.g. `has the link l`), then resets
 * the form; `forget` clears what the last save said (the form moved on to something else).
 */
export function useSpecDraft(text: Draft, onSaved: () => void) {
  const [check, setCheck] = useState<{ text: string; out?: SpecCheckResponse; error?: unknown }>();
  const [saved, setSaved] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (typeof text !== 'string') return;
    const t0 = text;
    let live = true;
    const t = setTimeout(() => {
      checkSpec(t0, 'web').then(
        (out) => live && setCheck({ text: t0, out }),
        (error: unknown) => live && setCheck({ text: t0, error }),
      );
    }, 350);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [text instanceof Error ? text.message : text]);
  const current = check && check.text === text ? check : undefined;
  const save = async (done: string, reset: () => void) => {
    if (typeof text !== 'string') return;
    setBusy(true);
    try {
      const out = await putSpec(text, 'web');
      if (out.ok) {
        setSaved({ ok: true, text: `Saved: spec version ${out.result.version} ${done}.` });
        reset();
        onSaved();
      } else setSaved({ ok: false, text: out.refused.error.message });
    } catch (err) {
      setSaved({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const canSave = !busy && typeof text === 'string' && current?.out?.check.fits === true;
  const status = (
    <>
      {text instanceof Error && <p class="error">{text.message}</p>}
      {typeof text === 'string' && !current && <p class="muted">Checking against the binaries…</p>}
      {current?.error !== undefined && <ErrorBox error={current.error} />}
      {current?.out?.check.fits === true && (
        <p class="ok">
          Fits every checked binary (
          {current.out.check.binaries.filter((b) => b.status !== 'not-checked').length} checked).
        </p>
      )}
      {current?.out?.message && <pre class="error wrap">{current.out.message}</pre>}
      {saved && <p class={saved.ok ? 'ok' : 'error'}>{saved.text}</p>}
    </>
  );
  const forget = () => setSaved(undefined);
  return { busy, current, saved, canSave, save, forget, status };
}

/** The spec text `make` builds, or the error it throws (the form says what to fix). */
export function draft(make: () => string): Draft {
  try {
    return make();
  } catch (e) {
    return e as Error;
  }
}
