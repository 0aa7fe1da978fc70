/** The current route as a signal, kept in step with the address bar (history API). */
import { signal } from '@preact/signals';
import { parseRoute, type Route, routeUrl } from './routes.js';

/** The route of the address bar. */
export const route = signal<Route>(parseRoute(location.pathname, location.search));

function sync(): void {
  route.value = parseRoute(location.pathname, location.search);
}

/** Goes to a URL of the app (a new history entry, or replacing the current one). */
export function navigate(url: string, replace = false): void {
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  sync();
  if (!replace) window.scrollTo(0, 0);
}

/** Goes to a route. */
export function go(r: Route, replace = false): void {
  navigate(routeUrl(r), replace);
}

/** Starts following the back and forward buttons and clicks on the app's own links. */
export function startRouter(): void {
  window.addEventListener('popstate', sync);
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    const href = a?.getAttribute('href');
    if (!a || !href?.startsWith('/') || href.startsWith('//') || href.startsWith('/v1/')) return;
    if (a.target || a.hasAttribute('download')) return;
    e.preventDefault();
    navigate(href);
  });
}
