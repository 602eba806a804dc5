// Learners: GET /learners for the list, GET /learners/<connector> for each learner's status (with
// its drift detection when the learner has one) and GET /learners/<connector>/history for the
// sampled quality the plot shows. A worker without the history endpoint still gets a plot: the
// page then keeps the history itself from the statuses it polls.
import { ApiError, enc, getJson } from './api.js';
import { badge, empty, fmtNumber, fmtRatio, fmtTime, h, pageLink, replace, table } from './dom.js';
import { QualityPlot } from './plot.js';

const MAX_SAMPLES = 1800;
const DRIFT_EVENTS_SHOWN = 10;

const state = { cards: new Map() };

function keyOf(l) {
  return `${l.task ?? 0}\u0000${l.connector}`;
}

function taskQuery(task) {
  return task ? `?task=${task}` : '';
}

function metricOf(status) {
  return status.taskType === 'regression' ? 'r2' : 'accuracy';
}

function clientSample(status, metric) {
  const pick = (r) => (r && typeof r[metric] === 'number' ? r[metric] : null);
  return { time: typeof status.timestamp === 'number' ? status.timestamp : Date.now(), events: status.learned ?? 0, windowed: pick(status.windowed), cumulative: pick(status.cumulative) };
}

async function loadSamples(card, status) {
  if (card.serverHistory) {
    try {
      const since = card.samples.length ? `&since=${card.samples[card.samples.length - 1].time}` : '';
      const hist = await getJson(`/learners/${enc(card.connector)}/history?task=${card.task}${since}`);
      card.samples.push(...hist.samples);
    } catch (e) {
      // an older worker (404/405): keep the history here instead
      if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 405)) throw e;
      card.serverHistory = false;
    }
  }
  if (!card.serverHistory) card.samples.push(clientSample(status, card.metric));
  if (card.samples.length > MAX_SAMPLES) card.samples.splice(0, card.samples.length - MAX_SAMPLES);
}

function facts(status) {
  const win = status.windowed ?? {};
  const cum = status.cumulative ?? {};
  const metric = metricOf(status);
  const pub = status.publication ?? {};
  return h('dl', { class: 'facts' },
    h('dt', null, 'Algorithm'), h('dd', null, `${status.algorithm ?? status.learner?.algorithm ?? '–'} (${status.taskType ?? '–'})`),
    h('dt', null, 'Labels learned'), h('dd', null, fmtNumber(status.learned)),
    h('dt', null, `Windowed ${metric}`), h('dd', null, fmtRatio(win[metric]), h('span', { class: 'muted' }, ` over the last ${fmtNumber(win.n ?? status.window)}`)),
    h('dt', null, `Cumulative ${metric}`), h('dd', null, fmtRatio(cum[metric])),
    h('dt', null, 'Waiting'), h('dd', null, `${fmtNumber(status.pending?.events ?? 0)} events for a label, ${fmtNumber(status.pending?.feedback ?? 0)} early labels`),
    h('dt', null, 'Publishes'), h('dd', null, pub.topic ? [pageLink('models', { id: pub.modelId }, pub.modelId), h('span', { class: 'muted' }, ` ${fmtNumber(pub.count ?? 0)} version${pub.count === 1 ? '' : 's'} so far`)] : h('span', { class: 'muted' }, 'nothing (model.topic is empty)')),
    status.state ? [h('dt', null, 'Checkpoint'), h('dd', null, `epoch ${fmtNumber(status.state.epoch)}`, h('span', { class: 'muted' }, ` in ${status.state.topic}`))] : null);
}

function count(n, noun) {
  const v = typeof n === 'number' ? n : 0;
  return `${fmtNumber(v)} ${noun}${v === 1 ? '' : 's'}`;
}

function driftSection(drift) {
  // the learner status always carries `drift`; detector "none" means the connector has no detection
  if (!drift || typeof drift !== 'object' || drift.detector === 'none') return h('p', { class: 'muted drift-none' }, 'no drift detection');
  const events = Array.isArray(drift.events) ? drift.events.slice(-DRIFT_EVENTS_SHOWN).reverse() : [];
  return h('div', { class: 'drift' },
    h('p', null, 'Drift detection: ', h('strong', null, drift.detector ?? '?'), drift.action ? ` (on drift: ${drift.action})` : '', ' · ',
      badge(count(drift.warnings, 'warning'), drift.warnings ? 'warn' : 'plain'), ' ', badge(count(drift.drifts, 'drift'), drift.drifts ? 'bad' : 'plain')),
    events.length
      ? table(`Latest drift events (newest first, ${events.length} of ${drift.events.length})`, ['Time', 'Event', 'Kind', 'Action'],
        events.map((e) => h('tr', null, h('td', null, fmtTime(e.time)), h('td', null, fmtNumber(e.event)), h('td', null, badge(String(e.kind ?? '?'))), h('td', null, e.action ?? '–'))), 'grid compact')
      : h('p', { class: 'muted' }, 'No drift or warning so far.'));
}

function markerKey() {
  return h('p', { class: 'plot-key' },
    'Vertical lines: ', h('span', { class: 'swatch', 'data-color': 'drift' }), ' drift, ', h('span', { class: 'swatch', 'data-color': 'warning' }), ' warning.');
}

function newCard(l) {
  const metric = metricOf(l);
  const heading = `${l.connector}${l.task ? ` (task ${l.task})` : ''}`;
  const id = `learner-${state.cards.size}`;
  const info = h('div', { class: 'info' });
  const plotHost = h('div', { class: 'plot', role: 'img' });
  const caption = h('p', { class: 'plot-caption' });
  const drift = h('div');
  const key = h('div');
  const el = h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, heading, ' ', pageLink('connectors', null, h('span', { class: 'small' }, 'connector'))),
    info, h('h3', null, `${metric === 'r2' ? 'R²' : 'Accuracy'} over time`), plotHost, caption, key, h('h3', null, 'Drift'), drift);
  return { connector: l.connector, task: l.task ?? 0, metric, el, info, plotHost, caption, drift, key, plot: null, samples: [], serverHistory: true };
}

export const learnersPage = {
  title: 'Learners',
  state,
  async refresh(content, params) {
    const wanted = params.get('connector');
    const list = (await getJson('/learners')).filter((l) => !wanted || l.connector === wanted)
      .sort((a, b) => a.connector.localeCompare(b.connector) || (a.task ?? 0) - (b.task ?? 0));
    if (state.cards.size === 0) replace(content);
    const seen = new Set();
    const cards = list.map((l) => {
      const key = keyOf(l);
      seen.add(key);
      let card = state.cards.get(key);
      if (!card) {
        card = newCard(l);
        state.cards.set(key, card);
      }
      return { l, card };
    });
    // every learner's answers at once, then the cards in order
    const answers = await Promise.all(cards.map(async ({ l, card }) => {
      // the single-learner answer carries more than the list (drift detection)
      const status = await getJson(`/learners/${enc(l.connector)}${taskQuery(card.task)}`).catch(() => l);
      await loadSamples(card, status);
      return status;
    }));
    cards.forEach(({ card }, i) => {
      const status = answers[i];
      replace(card.info, facts(status));
      replace(card.drift, driftSection(status.drift));
      replace(card.key, status.drift && status.drift.detector !== 'none' ? markerKey() : null);
      // a new learner takes its sorted place; the others stay put (no flicker, hover kept)
      const prev = i === 0 ? null : cards[i - 1].card.el;
      if (prev && prev.nextElementSibling !== card.el) prev.after(card.el);
      else if (!prev && !card.el.isConnected) content.appendChild(card.el);
      if (!card.plot) card.plot = new QualityPlot(card.plotHost, card.metric);
      const markers = (status.drift?.events ?? []).filter((e) => typeof e.time === 'number').map((e) => ({ time: e.time, kind: e.kind }));
      card.plot.update(card.samples, markers);
      const lastSample = card.samples[card.samples.length - 1];
      const summary = lastSample ? `${card.samples.length} samples since ${fmtTime(card.samples[0].time)}; latest windowed ${card.metric} ${fmtRatio(lastSample.windowed)} at ${fmtNumber(lastSample.events)} labels` : 'no samples yet';
      card.plotHost.setAttribute('aria-label', `${card.metric} of ${card.connector} over time: ${summary}`);
      card.caption.textContent = `${summary}${card.serverHistory ? '' : ' (kept by this page)'}.`;
    });
    for (const [key, card] of state.cards) {
      if (seen.has(key)) continue;
      card.plot?.destroy();
      card.el.remove();
      state.cards.delete(key);
    }
    let note = content.querySelector(':scope > .empty');
    if (list.length === 0 && !note) content.prepend(empty(wanted ? `No learner is running for ${wanted}.` : 'No learners: a connector with a Learn transform shows here once its task runs.'));
    if (list.length > 0 && note) note.remove();
    if (wanted && !content.querySelector(':scope > .back')) content.prepend(h('p', { class: 'back' }, pageLink('learners', null, '← All learners')));
  },
};

