/** Light and dark themes: the system's preference until the user picks one (kept in localStorage). */
import { signal } from '@preact/signals';

/** A theme the user can pick. */
export type Theme = 'light' | 'dark';

const KEY = 'periscope-theme';

function initial(): Theme {
  const saved = localStorage.getItem(KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The theme in use. */
export const theme = signal<Theme>(initial());

/** Applies the theme to the page (a `data-theme` attribute the stylesheet reads). */
export function applyTheme(): void {
  document.documentElement.dataset.theme = theme.value;
}

/** Switches between light and dark and remembers the choice. */
export function toggleTheme(): void {
  theme.value = theme.value === 'dark' ? 'light' : 'dark';
  localStorage.setItem(KEY, theme.value);
  applyTheme();
}
