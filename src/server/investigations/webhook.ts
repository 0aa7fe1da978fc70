/**
 * An investigation's webhook: the firing POSTed as JSON to a URL, each try bounded by a
 * timeout, failed tries repeated after a growing pause. It runs beside the server's work and
 * only reports its outcome (`200`, or why it failed); it never throws.
 */

/** Where and how hard to try. */
export interface WebhookTarget {
  readonly url: string;
  readonly timeoutMs: number;
  readonly retries: number;
}

/** Pause before the first retry, ms; doubled for each next one. */
const FIRST_PAUSE_MS = 250;

/** POSTs `payload`; resolves with the outcome as text (`200` or `failed after N tries: why`). */
export async function callWebhook(
  target: WebhookTarget,
  payload: unknown,
  pauseMs = FIRST_PAUSE_MS,
): Promise<string> {
  const body = JSON.stringify(payload);
  let why = '';
  for (let attempt = 0; attempt <= target.retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, pauseMs * 2 ** (attempt - 1)).unref());
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'periscope-investigation' },
        body,
        signal: AbortSignal.timeout(target.timeoutMs),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return String(res.status);
      why = `HTTP ${res.status}`;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      why =
        err.name === 'TimeoutError'
          ? `no answer within ${target.timeoutMs} ms`
          : (err.cause?.code ?? err.cause?.message ?? err.message);
    }
  }
  return `failed after ${target.retries + 1} ${target.retries === 0 ? 'try' : 'tries'}: ${why}`;
}
