/**
 * The console at /ui in a real browser: Debian's Chromium, headless, driven by playwright-core
 * (which never downloads a browser of its own), against a worker with a Score connector whose name
 * is hostile markup and a Learn connector that has learned banknote in a few bursts. Every page
 * must load without a console error, a failed request or a dialog; it must show what the REST API
 * says (connector names as text, the model and its versions, the learner's accuracy as a plot that
 * grows as the page refreshes). A screenshot of each page goes to .cache/console-screenshots/, or
 * to docs/images/ with KAPPA_UPDATE_SCREENSHOTS=1 (the images the docs show).
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import {
  closeKafka, createConnector, createTopic, deleteTopics, freePort, produce, REPO_ROOT, sleep, startWorker, stopAllWorkers, tmpDir, uniqueName, waitFor, waitForState, type Worker,
} from './helpers';
import { fixture, modelBody, publish, scoringConnector } from './serving-support';
import { banknote, delayedSequence, LEARNERS, learnConnector, order, toRecords, waitLearned } from './learn-support';

jest.setTimeout(180_000);

const CHROMIUM = process.env.KAPPA_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS_DIR = process.env.KAPPA_UPDATE_SCREENSHOTS === '1' ? path.join(REPO_ROOT, 'docs', 'images') : path.join(REPO_ROOT, '.cache', 'console-screenshots');

// Fixed names (the worker's config topic and the model topic are this run's own), so the
// screenshots read like a real deployment. The scorer's name is markup that must stay text.
const SCORER = 'iris-scorer <img src=x onerror=alert(1)> ✓ Ünïcode';
const LEARNER = 'banknote-learner';
const IRIS_MODEL = 'iris-classifier';
const LEARNED_MODEL = 'banknote-online';
/** the worker samples its learners this often (src/console/routes.ts) */
const HISTORY_INTERVAL_MS = 2000;

interface ConsoleWindow { kappaConsole: { state: { cards: Map<string, { connector: string; plot: { points: number; markers: unknown[] } | null }> } } }

describe('console at /ui in headless Chromium', () => {
  let worker: Worker;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const suffix = uniqueName('ui');
  const topics: string[] = [];

  /**
   * A Score connector on an iris model: version 1 expired, version 2 serving, version 3 refused
   * (it expects 3 features), with a few records scored.
   */
  const scoring = async () => {
    await publish(worker.api, modelBody(IRIS_MODEL, '1', 'iris-logreg-v1', { more_info: { owner: 'ml-team' }, exp_date: '2026-01-01' }));
    await publish(worker.api, modelBody(IRIS_MODEL, '2', 'iris-logreg-v2', { more_info: { owner: 'ml-team' } }));
    const irisIn = await createTopic(`${suffix}-iris`);
    const irisOut = await createTopic(`${suffix}-iris-scored`);
    topics.push(irisIn, irisOut);
    await createConnector(worker.api, SCORER, scoringConnector(irisIn, irisOut, { 'model.id': IRIS_MODEL }));
    await waitForState(worker.api, SCORER, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    const rows = fixture('iris-logreg-v1').expected.rows;
    await produce(irisIn, rows.slice(0, 30).map((r, i) => ({ key: `k${i}`, value: { x1: r[0], x2: r[1], x3: r[2], x4: r[3] } })));
    await publish(worker.api, modelBody(IRIS_MODEL, '3', 'iris-mismatch-3f', { input: { features: ['x1', 'x2', 'x3', 'x4'] }, more_info: { owner: 'ml-team' } }));
    await waitFor(async () => {
      const m = (await worker.api.get(`/models/${IRIS_MODEL}`)).body as { serving_version: string; versions: { version: string; state?: string }[] };
      return m.serving_version === '2' && m.versions.find((v) => v.version === '3')?.state === 'refused';
    }, { timeoutMs: 60_000, description: 'iris version 3 refused, version 2 serving' });
  };

  /** A Learn connector fed banknote in bursts a sampling interval apart, so its history has a shape. */
  const learning = async (modelTopic: string) => {
    const d = banknote();
    const trainTopic = await createTopic(`${suffix}-banknote`);
    topics.push(trainTopic, `${suffix}-learner-state`, `${suffix}-learner-metrics`);
    await createConnector(worker.api, LEARNER, learnConnector(trainTopic, LEARNERS['scw-i']!, {
      'model.topic': modelTopic, 'model.id': LEARNED_MODEL, 'publish.every.updates': '400',
      'state.topic': `${suffix}-learner-state`, 'metrics.topic': `${suffix}-learner-metrics`,
    }));
    await waitForState(worker.api, LEARNER, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    const delay = 20;
    const records = toRecords(delayedSequence(d, order(3), delay));
    const bursts = 4;
    for (let b = 1; b <= bursts; b++) {
      await produce(trainTopic, records.slice(Math.floor(((b - 1) * records.length) / bursts), Math.floor((b * records.length) / bursts)));
      await waitLearned(worker.api, LEARNER, b === bursts ? d.y.length : Math.floor((b * d.y.length) / bursts) - delay);
      if (b < bursts) await sleep(HISTORY_INTERVAL_MS + 100); // a sample of the worker's history per burst
    }
  };

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash scripts/chromium.sh does, make test runs it)`);
    // the browser starts while the worker gets its data
    const browser = chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 800 },
    });
    const modelTopic = `${suffix}-models`;
    topics.push(modelTopic);
    worker = await startWorker({ props: { 'kappa.model.topic': modelTopic, 'kappa.model.cache.dir': tmpDir('kappa-it-cache-') } });
    await Promise.all([scoring(), learning(modelTopic)]);
    context = await browser;
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    page.on('dialog', (dlg) => { problems.push(`dialog: ${dlg.message()}`); void dlg.dismiss(); });
    fs.mkdirSync(SHOTS_DIR, { recursive: true });
    fs.mkdirSync(path.join(REPO_ROOT, '.cache', 'console-screenshots'), { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await stopAllWorkers();
    await deleteTopics(topics).catch(() => undefined);
    await closeKafka();
  });

  afterEach(() => {
    expect(problems).toEqual([]);
    problems.length = 0;
  });

  const shoot = (name: string) => page.screenshot({ path: path.join(SHOTS_DIR, `console-${name}.png`), fullPage: true });

  it('connectors: both connectors by name (markup shown as text), the Score model and the learner', async () => {
    await page.goto(`${worker.url}/ui`);
    await page.getByRole('rowheader', { name: LEARNER, exact: true }).waitFor();
    expect(await page.title()).toBe('Connectors · Kappa Connect');
    const scorer = page.getByRole('rowheader', { name: SCORER, exact: true });
    expect(await scorer.textContent()).toBe(SCORER);
    expect(await page.locator('main img').count()).toBe(0);
    const scorerRow = page.locator('tr', { has: scorer });
    expect(await scorerRow.getByRole('link', { name: IRIS_MODEL }).getAttribute('href')).toBe(`/ui/models?id=${IRIS_MODEL}`);
    expect(await scorerRow.locator('.badge', { hasText: 'RUNNING' }).count()).toBe(2); // connector and task
    const learnerRow = page.locator('tr', { has: page.getByRole('rowheader', { name: LEARNER }) });
    expect(await learnerRow.getByRole('link', { name: 'learner' }).getAttribute('href')).toBe(`/ui/learners?connector=${LEARNER}`);
    expect(await learnerRow.getByRole('link', { name: LEARNED_MODEL }).count()).toBe(1);
    expect(await page.locator('.summary').textContent()).toBe('2 connectors: 2 running, 0 paused, 0 stopped, 0 failed; 2 with Score or Learn transforms.');
    await shoot('connectors');
  });

  it('models: the iris model with its versions (serving, refused with the reason, expired) and the connector that uses it; the learned model with its publisher', async () => {
    await page.goto(`${worker.url}/ui/models`);
    const iris = page.getByRole('region', { name: IRIS_MODEL });
    await iris.waitFor();
    const versions = iris.locator('tbody tr');
    expect(await versions.locator('th').allTextContents()).toEqual(['3', '2', '1']);
    expect(await versions.nth(0).locator('.badge').allTextContents()).toEqual(['refused']);
    expect(await versions.nth(0).locator('.reason').textContent()).toMatch(/expects 3 features/);
    expect(await versions.nth(1).locator('.badge').allTextContents()).toEqual(['serving']);
    expect(await versions.nth(2).locator('.badge').allTextContents()).toEqual(['not loaded', 'expired']);
    expect(await iris.getByRole('link', { name: SCORER }).count()).toBe(1);
    const learned = page.getByRole('region', { name: LEARNED_MODEL });
    expect(await learned.locator('tbody tr').count()).toBeGreaterThanOrEqual(3); // a version every 400 labels
    expect(await learned.getByRole('link', { name: `learner ${LEARNER}` }).count()).toBe(1);
    await shoot('models');
  });

  it('learners: the accuracy plot has the sampled history and grows as the page refreshes; drift shown as the API has it', async () => {
    await page.goto(`${worker.url}/ui/learners`);
    const points = () => page.evaluate((name) => [...(globalThis as unknown as ConsoleWindow).kappaConsole.state.cards.values()].find((c) => c.connector === name)?.plot?.points ?? 0, LEARNER);
    await waitFor(async () => (await points()) > 5, { timeoutMs: 20_000, description: 'plot points' });
    const before = await points();
    await waitFor(async () => (await points()) > before, { timeoutMs: 10_000, description: 'more plot points after a refresh' });
    const history = (await worker.api.get(`/learners/${LEARNER}/history`)).body as { samples: { events: number; windowed: number | null }[] };
    const events = new Set(history.samples.map((s) => s.events));
    expect(events.size).toBeGreaterThanOrEqual(4); // one sample per burst at least
    expect(history.samples[history.samples.length - 1]).toMatchObject({ events: 1372 });
    const card = page.getByRole('region', { name: LEARNER });
    expect(await card.locator('canvas').count()).toBe(1);
    const status = (await worker.api.get(`/learners/${LEARNER}`)).body as { drift?: { detector: string }; windowed: { accuracy: number } };
    const facts = await card.locator('dl.facts').textContent();
    expect(facts).toContain('Labels learned1,372');
    expect(facts).toContain(`Windowed accuracy${status.windowed.accuracy.toFixed(4)}`);
    if (status.drift === undefined || status.drift.detector === 'none') expect(await card.getByText('no drift detection').count()).toBe(1);
    else expect(await card.getByText('Drift detection:').count()).toBe(1);
    await shoot('learners');
  });

  it('renders what other parts of the API add when present: drift detection (marked on the plot), a challenger and evaluations', async () => {
    // the fields as the drift and champion/challenger work adds them, spliced into the real answers
    const samples = ((await worker.api.get(`/learners/${LEARNER}/history`)).body as { samples: { time: number }[] }).samples;
    const at = (f: number) => samples[Math.floor(f * (samples.length - 1))]!.time;
    const drift = { detector: 'adwin', action: 'inflate', warnings: 1, drifts: 1, events: [
      { event: 310, kind: 'warning', action: 'none', time: at(0.3) }, { event: 702, kind: 'drift', action: 'inflate', time: at(0.6) },
    ] };
    await page.route((url) => url.pathname === `/learners/${LEARNER}`, async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: { ...(await response.json()), drift } });
    });
    await page.route((url) => url.pathname === `/models/${IRIS_MODEL}`, async (route) => {
      const response = await route.fetch();
      const model = await response.json();
      model.challenger = { version: '1', mode: 'canary', share: 0.1 };
      for (const v of model.versions) v.evaluation = { accuracy: v.version === '1' ? 0.95 : 0.97, n: 500 };
      await route.fulfill({ response, json: model });
    });
    try {
      // from the connectors page, the learner's link opens its page alone
      await page.goto(`${worker.url}/ui/connectors`);
      await page.locator('tr', { has: page.getByRole('rowheader', { name: LEARNER }) }).getByRole('link', { name: 'learner' }).click();
      await page.waitForURL(`${worker.url}/ui/learners?connector=${LEARNER}`);
      const card = page.getByRole('region', { name: LEARNER });
      await card.getByText('Drift detection:').waitFor();
      expect(await card.locator('.drift p').first().textContent()).toBe('Drift detection: adwin (on drift: inflate) · 1 warning 1 drift');
      expect(await card.locator('.drift tbody tr td:nth-child(3)').allTextContents()).toEqual(['drift', 'warning']); // newest first
      const markers = await page.evaluate((name) => [...(globalThis as unknown as ConsoleWindow).kappaConsole.state.cards.values()].find((c) => c.connector === name)?.plot?.markers.length, LEARNER);
      expect(markers).toBe(2);
      // (spliced data: for a look at the rendering, never one of the docs' screenshots)
      await page.screenshot({ path: path.join(REPO_ROOT, '.cache', 'console-screenshots', 'spliced-learner-drift.png'), fullPage: true });

      await page.goto(`${worker.url}/ui/models?id=${IRIS_MODEL}`);
      const iris = page.getByRole('region', { name: IRIS_MODEL });
      await iris.getByRole('heading', { name: 'Challenger' }).waitFor();
      expect(await page.getByRole('region').count()).toBe(1); // ?id= shows that model only
      expect(await iris.locator('.challenger dl').textContent()).toBe('version1modecanaryshare0.1000');
      const rows = iris.locator('tbody tr');
      expect(await rows.nth(1).locator('.badge').allTextContents()).toEqual(['serving', 'champion']);
      expect(await rows.nth(2).locator('.badge').allTextContents()).toEqual(['not loaded', 'challenger · canary 10%', 'expired']);
      expect(await iris.locator('thead th').allTextContents()).toContain('Evaluation');
      expect(await rows.nth(2).locator('td').nth(5).textContent()).toBe('accuracy0.9500n500');
      await page.screenshot({ path: path.join(REPO_ROOT, '.cache', 'console-screenshots', 'spliced-model-challenger.png'), fullPage: true });
    } finally {
      await page.unrouteAll();
    }
  });

  it('works behind basic auth: the browser\'s credentials for the origin go with every request of the page', async () => {
    // an authenticating proxy in front of the worker, as the REST API's basic auth would answer
    const authorization = `Basic ${Buffer.from('console-user:s3cret').toString('base64')}`;
    const target = new URL(worker.url);
    let refused = 0;
    let passed = 0;
    const proxy = http.createServer((req, res) => {
      if (req.headers.authorization !== authorization) {
        refused++;
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="kappa"', 'Content-Type': 'application/json' }).end('{"error_code":401,"message":"Unauthorized"}');
        return;
      }
      passed++;
      const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    const port = await freePort();
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${port}`;
    await context.setHTTPCredentials({ username: 'console-user', password: 's3cret', origin });
    try {
      await page.goto(`${origin}/ui/learners`);
      const points = () => page.evaluate((name) => [...(globalThis as unknown as ConsoleWindow).kappaConsole.state.cards.values()].find((c) => c.connector === name)?.plot?.points ?? 0, LEARNER);
      await waitFor(async () => (await points()) > 1, { timeoutMs: 20_000, description: 'plot points through the authenticating proxy' });
      const before = passed;
      await waitFor(async () => passed >= before + 3, { timeoutMs: 10_000, description: 'a refresh through the proxy' });
      await page.goto(`${origin}/ui/connectors`);
      await page.getByRole('rowheader', { name: SCORER, exact: true }).waitFor();
      // challenges answered by the browser are part of the protocol, not failures of the page
      const failures = problems.filter((p) => !p.startsWith(`HTTP 401: ${origin}/`));
      problems.length = 0;
      problems.push(...failures);
      expect(passed).toBeGreaterThan(10);
      expect(refused).toBeLessThan(passed);
    } finally {
      await context.setHTTPCredentials(null);
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('an API error is shown on the page (and announced), and goes away with the next good answer', async () => {
    let failing = true;
    await page.route((url) => url.pathname === '/connectors', async (route) => {
      if (!failing) return route.continue();
      await route.fulfill({ status: 500, json: { error_code: 500, message: 'Request timed out' } });
    });
    try {
      await page.goto(`${worker.url}/ui/connectors`);
      const alert = page.locator('#api-error'); // (hidden while empty, so not found by its role then)
      await page.getByRole('alert').getByText('Could not read the REST API: Request timed out').waitFor();
      expect(await alert.textContent()).toBe('Could not read the REST API: Request timed out');
      failing = false;
      await page.getByRole('rowheader', { name: LEARNER, exact: true }).waitFor();
      expect(await alert.textContent()).toBe('');
      // the 500s were this test's own
      const failures = problems.filter((p) => !p.endsWith('/connectors?expand=status&expand=info') && !p.includes('status of 500'));
      problems.length = 0;
      problems.push(...failures);
    } finally {
      await page.unrouteAll();
    }
  });
});
