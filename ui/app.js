// The console's entry point: picks the page from the path (/ui, /ui/<page>), renders it and
// refreshes it every REFRESH_MS while the tab is visible.
import { connectorsPage } from './connectors.js';
import { modelsPage } from './models.js';
import { learnersPage } from './learners.js';
import { replace } from './dom.js';

const REFRESH_MS = 2000;
const PAGES = { connectors: connectorsPage, models: modelsPage, learners: learnersPage };

const name = location.pathname.replace(/^\/ui\/?/, '').split('/')[0] || 'connectors';
const page = PAGES[name] ?? connectorsPage;
const content = document.getElementById('content');
// the time of the last refresh changes every few seconds and is not announced; an error is
const status = document.getElementById('refresh');
const errorBox = document.getElementById('api-error');

document.title = `${page.title} · Kappa Connect`;
document.getElementById('title').textContent = page.title;
for (const a of document.querySelectorAll('nav a')) if (a.dataset.page === (PAGES[name] ? name : 'connectors')) a.setAttribute('aria-current', 'page');

// test and debugging hook: the page's live state (e.g. the learners' plots)
window.kappaConsole = { page: name, state: page.state };

let timer = null;
let first = true;

async function tick() {
  timer = null;
  try {
    await page.refresh(content, new URLSearchParams(location.search));
    errorBox.textContent = '';
    status.textContent = `Updated ${new Date().toLocaleTimeString('en-GB')}`;
  } catch (e) {
    const message = `Could not read the REST API: ${e.message}`;
    if (errorBox.textContent !== message) errorBox.textContent = message;
    if (first) replace(content, '');
  }
  first = false;
  if (!document.hidden) timer = setTimeout(tick, page.refreshMs ?? REFRESH_MS);
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden && timer !== null) {
    clearTimeout(timer);
    timer = null;
  } else if (!document.hidden && timer === null) {
    void tick();
  }
});

void tick();
