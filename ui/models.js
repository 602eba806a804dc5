// Models: GET /models for the list, GET /models/<id> for each model (its versions, their state
// on this worker, and whatever else the API adds, such as a challenger or per-version evaluation),
// plus which connectors score with it and which learner publishes it.
import { enc, getJson } from './api.js';
import { badge, empty, fmtTime, h, keyValues, pageLink, table } from './dom.js';
import { keepOpenDetails, renderIfChanged } from './render.js';

/** Fields shown in their own columns; anything else a version carries goes under "more". */
const VERSION_FIELDS = new Set(['id', 'version', 'algorithm', 'format', 'uri', 'source_uri', 'sha256', 'input', 'output', 'exp_date', 'more_info', 'published_at', 'expired', 'state', 'error', 'evaluation']);

/** Where the artifact lives, short: the sha256 is shown beside it, so an artifact-topic URI need not repeat it. */
function artifactLabel(v) {
  const uri = String(v.uri ?? '');
  if (uri.startsWith('kafka-artifact:')) return v.source_uri ? `artifact topic, from ${String(v.source_uri).split('/').pop()}` : 'artifact topic';
  return uri || '–';
}
const MODEL_FIELDS = new Set(['id', 'latest_version', 'serving_version', 'connectors', 'routing_connectors', 'versions', 'challenger', 'champion']);

function challengerVersion(model) {
  const c = model.challenger;
  return c && typeof c === 'object' ? String(c.version ?? '') : '';
}

function stateBadges(model, v) {
  const out = [];
  if (model.serving_version !== null && model.serving_version !== undefined && String(v.version) === String(model.serving_version)) {
    out.push(badge('serving'));
    if (challengerVersion(model)) out.push(badge('champion'));
  } else if (v.state) {
    out.push(badge(v.state === 'known' ? 'not loaded' : v.state));
  } else {
    out.push(badge('not loaded here', 'plain'));
  }
  if (challengerVersion(model) === String(v.version)) {
    const c = model.challenger;
    out.push(badge(`challenger${c.mode ? ` · ${c.mode}` : ''}${typeof c.share === 'number' ? ` ${Math.round(c.share * 1000) / 10}%` : ''}`, 'info'));
  }
  if (v.expired) out.push(badge('expired'));
  const children = [h('span', { class: 'badges' }, out)];
  if (v.state === 'refused' && v.error) children.push(h('p', { class: 'reason' }, v.error));
  return children;
}

function versionRow(model, v, withEvaluation) {
  const extra = Object.fromEntries(Object.entries(v).filter(([k]) => !VERSION_FIELDS.has(k)));
  return h('tr', null,
    h('th', { scope: 'row' }, v.version),
    h('td', null, stateBadges(model, v)),
    h('td', null, [v.algorithm ?? '–', h('br'), h('span', { class: 'muted' }, v.format ?? '')]),
    h('td', { class: 'nowrap' }, fmtTime(v.published_at)),
    h('td', null, v.exp_date ?? h('span', { class: 'muted' }, 'never')),
    h('td', { class: 'uri' }, h('span', { title: v.source_uri ? `${v.uri}\nfrom ${v.source_uri}` : v.uri ?? '' }, artifactLabel(v)), v.sha256 ? [h('br'), h('code', { title: v.sha256 }, `sha256 ${String(v.sha256).slice(0, 12)}…`)] : null),
    withEvaluation ? h('td', null, v.evaluation && typeof v.evaluation === 'object' ? keyValues(v.evaluation) : h('span', { class: 'muted' }, '–')) : null,
    h('td', null, infoCell(model, v, extra)));
}

/** more_info and any field the console does not know, folded (a learner's version carries a dozen). */
function infoCell(model, v, extra) {
  const info = v.more_info && typeof v.more_info === 'object' ? v.more_info : {};
  const all = { ...info, ...extra };
  const n = Object.keys(all).length;
  if (n === 0) return h('span', { class: 'muted' }, '–');
  if (n <= 2) return keyValues(all);
  return h('details', { 'data-key': `info-${model.id}-${v.version}` }, h('summary', null, `${n} entries`), keyValues(all));
}

function modelCard(model, publishers) {
  const users = model.connectors ?? [];
  const routing = model.routing_connectors ?? [];
  const extra = Object.fromEntries(Object.entries(model).filter(([k]) => !MODEL_FIELDS.has(k)));
  const versions = [...(model.versions ?? [])].reverse(); // newest first
  // the evaluation column only once some version has been evaluated (champion/challenger)
  const withEvaluation = versions.some((v) => v.evaluation && typeof v.evaluation === 'object');
  return h('section', { class: 'card', 'aria-labelledby': `model-${model.id}` },
    h('h2', { id: `model-${model.id}` }, model.id),
    h('dl', { class: 'facts' },
      h('dt', null, 'Serving'), h('dd', null, model.serving_version ?? h('span', { class: 'muted' }, 'not on this worker')),
      h('dt', null, 'Latest'), h('dd', null, model.latest_version ?? '–'),
      h('dt', null, 'Used by'), h('dd', null, users.length ? users.map((c, i) => [i ? ', ' : '', pageLink('connectors', null, c)]) : h('span', { class: 'muted' }, 'no connector')),
      routing.length ? [h('dt', null, 'Routed to by'), h('dd', null, routing.join(', '))] : null,
      publishers.length ? [h('dt', null, 'Published by'), h('dd', null, publishers.map((c, i) => [i ? ', ' : '', pageLink('learners', { connector: c }, `learner ${c}`)]))] : null),
    model.challenger && typeof model.challenger === 'object' ? h('div', { class: 'challenger' }, h('h3', null, 'Challenger'), keyValues(model.challenger)) : null,
    model.champion && typeof model.champion === 'object' ? h('div', { class: 'challenger' }, h('h3', null, 'Champion'), keyValues(model.champion)) : null,
    Object.keys(extra).length ? h('div', null, keyValues(extra)) : null,
    table(`Versions of ${model.id} (newest first)`, ['Version', 'State', 'Algorithm', 'Published', 'Expires', 'Artifact', withEvaluation ? 'Evaluation' : null, 'Info'].filter(Boolean), versions.map((v) => versionRow(model, v, withEvaluation))));
}

const DETAILED_MODELS_MAX = 20;

export const modelsPage = {
  title: 'Models',
  // models change rarely, and each refresh reads the model-control topic up to its end
  refreshMs: 5000,
  state: {},
  async refresh(content, params) {
    const wanted = params.get('id');
    const list = await getJson('/models');
    const ids = list.map((m) => m.id).filter((id) => !wanted || id === wanted);
    // the single-model answer may carry more than the list (challenger, evaluation); asked for a
    // page of models at most, so a catalog of hundreds costs one request per refresh
    const models = ids.length > DETAILED_MODELS_MAX ? list
      : await Promise.all(ids.map((id) => getJson(`/models/${enc(id)}`).catch(() => list.find((m) => m.id === id))));
    let learners = [];
    try {
      learners = await getJson('/learners');
    } catch {
      // learners are optional here: the models still show
    }
    const publishers = (id) => learners.filter((l) => l.publication?.modelId === id || (l.model === id && l.publication?.topic)).map((l) => l.connector);
    renderIfChanged(content, { models, learners: learners.map((l) => [l.connector, l.model, l.publication?.modelId]) }, () => {
      if (wanted && models.length === 0) return [empty(`No model ${wanted}.`), h('p', null, pageLink('models', null, 'All models'))];
      if (models.length === 0) return empty('No models published. Publish one with POST /models or a learner.');
      return [
        wanted ? h('p', null, pageLink('models', null, '← All models')) : h('p', { class: 'summary' }, `${models.length} model${models.length === 1 ? '' : 's'}, ${models.filter((m) => m.serving_version != null).length} serving on this worker.`),
        models.map((m) => modelCard(m, [...new Set(publishers(m.id))])),
      ];
    }, keepOpenDetails);
  },
};

