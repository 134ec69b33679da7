// The application: one page per path. `/` is the dashboard (a running daemon) or the dataset list
// (`chimera view`); `/c/<id>` is one conversation.
import { renderConversation } from './conversation.js';
import { renderDashboard } from './dashboard.js';
import { h, replace } from './dom.js';
import { renderViewer } from './viewer.js';

export async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function main() {
  const app = document.getElementById('app');
  try {
    const info = await getJson('/api/info');
    document.getElementById('mode').textContent = info.mode === 'live' ? 'dashboard' : 'dataset';
    document.getElementById('title').textContent = info.title;
    document.title = `Chimera · ${info.title}`;
    const path = location.pathname;
    if (path.startsWith('/c/')) {
      await renderConversation(app, decodeURIComponent(path.slice(3)), info.mode);
    } else if (info.mode === 'live') {
      renderDashboard(app);
    } else {
      await renderViewer(app);
    }
  } catch (error) {
    replace(app, h('p', { class: 'error' }, `Could not load: ${error.message}`));
  }
}

main().catch((error) => console.error('chimera: the page failed to start', error));
