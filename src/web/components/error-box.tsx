/** An error said plainly, with what to do when there is something. */
import type { ComponentChildren } from 'preact';

/** Shows an error message in a box. */
export function ErrorBox({ error, action }: { error: unknown; action?: ComponentChildren }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div class="error" role="alert">
      <p>{message}</p>
      {action}
    </div>
  );
}
