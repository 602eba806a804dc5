// Connectors: GET /connectors?expand=status&expand=info, with each connector's Score and Learn
// transforms (and the models and learners they use) read from its config.
import { getJson } from './api.js';
import { badge, empty, h, pageLink, replace, table } from './dom.js';
import { simpleName, transformsOf } from './transforms.js';
import { keepOpenDetails, renderIfChanged } from './render.js';

function transformCell(connector, t) {
  if (t.kind === 'score') {
    return h('li', null, badge('Score', 'ml'), ' ', h('span', { class: 'alias' }, t.alias), ' → model ',
      t.modelId ? pageLink('models', { id: t.modelId }, t.modelId) : h('em', null, t.routedBy ? `per record (${t.routedBy})` : 'not set'));
  }
  if (t.kind === 'learn') {
    return h('li', null, badge('Learn', 'ml'), ' ', h('span', { class: 'alias' }, t.alias), ` (${t.algorithm}) → `,
      pageLink('learners', { connector }, 'learner'),
      t.publishes ? [', publishes ', pageLink('models', { id: t.publishes }, t.publishes)] : null);
  }
  return h('li', { class: 'muted' }, h('span', { class: 'alias' }, t.alias), ` ${simpleName(t.type)}`);
}

function tasksCell(status) {
  const tasks = status?.tasks ?? [];
  if (tasks.length === 0) return h('span', { class: 'muted' }, 'none');
  return h('ul', { class: 'plain' }, tasks.map((t) => h('li', null, `#${t.id} `, badge(t.state), t.worker_id ? h('span', { class: 'muted' }, ` ${t.worker_id}`) : null,
    t.trace ? h('details', { 'data-key': `trace-${status.name}-${t.id}` }, h('summary', null, 'trace'), h('pre', null, t.trace)) : null)));
}

function row(name, entry) {
  const config = entry.info?.config ?? {};
  const status = entry.status;
  const transforms = transformsOf(name, config);
  const state = status?.connector?.state ?? 'UNKNOWN';
  return h('tr', null,
    h('th', { scope: 'row', class: 'name' }, name),
    h('td', null, badge(state), status?.connector?.trace ? h('details', { 'data-key': `trace-${name}` }, h('summary', null, 'trace'), h('pre', null, status.connector.trace)) : null),
    h('td', null, tasksCell(status)),
    h('td', null, simpleName(config['connector.class'] ?? '–')),
    h('td', { class: 'topics' }, config.topics ?? (config['topics.regex'] ? `/${config['topics.regex']}/` : '–')),
    h('td', null, transforms.length ? h('ul', { class: 'plain' }, transforms.map((t) => transformCell(name, t))) : h('span', { class: 'muted' }, 'none')));
}

export const connectorsPage = {
  title: 'Connectors',
  state: {},
  async refresh(content) {
    const all = await getJson('/connectors?expand=status&expand=info');
    renderIfChanged(content, all, () => {
      const names = Object.keys(all).sort((a, b) => a.localeCompare(b));
      if (names.length === 0) return empty('No connectors. Create one with POST /connectors.');
      const states = names.map((n) => all[n].status?.connector?.state ?? 'UNKNOWN');
      const ml = names.filter((n) => transformsOf(n, all[n].info?.config ?? {}).some((t) => t.kind !== 'other')).length;
      const count = (s) => states.filter((x) => x === s).length;
      return [
        h('p', { class: 'summary' }, `${names.length} connector${names.length === 1 ? '' : 's'}: ${count('RUNNING')} running, ${count('PAUSED')} paused, ${count('STOPPED')} stopped, ${count('FAILED')} failed; ${ml} with Score or Learn transforms.`),
        table(null, ['Connector', 'State', 'Tasks', 'Class', 'Topics', 'Transforms'], names.map((n) => row(n, all[n]))),
      ];
    }, keepOpenDetails);
  },
};
