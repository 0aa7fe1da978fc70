/** The app's frame: sign-in gate, header with the views and the theme switch, and the current view. */
import { useEffect } from 'preact/hooks';
import { checkSession, session, signOut } from './api.js';
import { ErrorBox } from './components/error-box.js';
import { go, route } from './router.js';
import { routeUrl } from './routes.js';
import { theme, toggleTheme } from './theme.js';
import { AgentsView } from './views/agents.js';
import { DiffView } from './views/diff.js';
import { GoroutinesView } from './views/goroutines.js';
import { InvestigationDetailView } from './views/investigation-detail.js';
import { InvestigationsView } from './views/investigations.js';
import { ProbesView } from './views/probes.js';
import { SignInView } from './views/sign-in.js';
import { SnapshotsView } from './views/snapshots.js';
import { SpecView } from './views/spec.js';
import { TablesView } from './views/tables.js';
import { TraceDetailView } from './views/trace-detail.js';
import { TracesView } from './views/traces.js';

const NAV = [
  { view: 'snapshots', label: 'Snapshots', href: '/snapshots' },
  { view: 'diff', label: 'Diff', href: '/diff' },
  { view: 'tables', label: 'Tables', href: '/tables' },
  { view: 'probes', label: 'Probes', href: '/probes' },
  { view: 'investigations', label: 'Investigations', href: '/investigations' },
  { view: 'traces', label: 'Traces', href: '/traces' },
  { view: 'spec', label: 'Spec', href: '/spec' },
  { view: 'agents', label: 'Agents', href: '/agents' },
] as const;

/** The whole app. */
export function App() {
  const r = route.value;
  const who = session.value;
  useEffect(() => {
    checkSession().catch(() => {
      session.value = null;
    });
  }, []);
  useEffect(() => {
    // Nothing but the sign-in page without a session; it comes back here afterwards.
    if (who === null && r.view !== 'signin')
      go({ view: 'signin', next: location.pathname + location.search }, true);
  }, [who, r.view]);
  if (who === undefined) return <div class="loading">Loading…</div>;
  if (who === null || r.view === 'signin')
    return <SignInView next={r.view === 'signin' ? r.next : location.pathname + location.search} />;
  const active =
    r.view === 'goroutines'
      ? 'snapshots'
      : r.view === 'investigation'
        ? 'investigations'
        : r.view === 'trace'
          ? 'traces'
          : r.view;
  return (
    <div class="app">
      <header class="topbar">
        <a class="brand" href="/snapshots">
          Periscope
        </a>
        <nav aria-label="Views">
          {NAV.map((n) => (
            <a key={n.view} href={n.href} aria-current={active === n.view ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <span class="who" title={`token ${who.tokenId}`}>
          {who.name} ({who.role})
        </span>
        <button
          type="button"
          class="icon"
          onClick={toggleTheme}
          aria-label={theme.value === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme'}
          title="Light or dark theme"
        >
          {theme.value === 'dark' ? '☀' : '☾'}
        </button>
        <button type="button" onClick={() => signOut().then(() => go({ view: 'signin', next: '/' }))}>
          Sign out
        </button>
      </header>
      <main>
        <View />
      </main>
    </div>
  );
}

function View() {
  const r = route.value;
  switch (r.view) {
    case 'snapshots':
      return <SnapshotsView search={r.search} />;
    case 'goroutines':
      return <GoroutinesView r={r} />;
    case 'diff':
      return <DiffView r={r} />;
    case 'tables':
      return <TablesView r={r} />;
    case 'agents':
      return <AgentsView />;
    case 'spec':
      return <SpecView r={r} />;
    case 'probes':
      return <ProbesView r={r} />;
    case 'investigations':
      return <InvestigationsView r={r} />;
    case 'investigation':
      return <InvestigationDetailView r={r} />;
    case 'traces':
      return <TracesView r={r} />;
    case 'trace':
      return <TraceDetailView r={r} />;
    case 'signin':
      return null;
    case 'not-found':
      return (
        <ErrorBox
          error={new Error(`There is no page ${r.path}.`)}
          action={<a href={routeUrl({ view: 'snapshots', search: {} })}>Go to the snapshots</a>}
        />
      );
  }
}
