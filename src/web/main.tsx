/** The web app's entry: theme, router, and the app mounted into #app. */
import { render } from 'preact';
import { App } from './app.js';
import { startRouter } from './router.js';
import { applyTheme } from './theme.js';
import './styles.css';

applyTheme();
startRouter();
const root = document.getElementById('app');
if (root) render(<App />, root);
