/** The sign-in page: a user token opens a session (an HttpOnly cookie); then on to where the user was going. */
import { useState } from 'preact/hooks';
import { ApiError, signIn } from '../api.js';
import { navigate } from '../router.js';

/** The only page shown without a session. */
export function SignInView({ next }: { next: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(token);
      navigate(next === '/signin' ? '/' : next, true);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'This token is not valid (unknown, mistyped or revoked). Ask an admin for a user token: periscope token create --role user --name YOU'
          : err instanceof ApiError && err.status === 403
            ? 'This is an agent token; the web app needs a user or admin token.'
            : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Periscope</h1>
        <p>Sign in with a user token.</p>
        <label for="token">Token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          placeholder="psk_…"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          required
        />
        <button type="submit" class="primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <p class="hint">
          The token stays with the server: this browser keeps only a session cookie that page scripts cannot
          read. It ends when you sign out, after 12 hours without use, or when the server restarts.
        </p>
      </form>
    </div>
  );
}
