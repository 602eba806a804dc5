// DOM building without HTML strings: every text from the API becomes a text node (or an
// attribute value set through the DOM), so a connector named "<script>" shows as those characters
// and never as markup. innerHTML is not used anywhere in the console.

/**
 * h('a', { href: '/ui/models', class: 'x' }, 'text', child, [more]) → an element.
 * Strings and numbers become text nodes; null, undefined and false are skipped; arrays are flattened.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A link inside the console; `params` are percent-encoded, so any name is a safe query value. */
export function pageLink(page, params, ...children) {
  const query = new URLSearchParams(params ?? {}).toString();
  return h('a', { href: `/ui/${page}${query ? `?${query}` : ''}` }, ...children);
}

const BADGE_TONES = {
  RUNNING: 'ok', serving: 'ok', ready: 'info', champion: 'ok', challenger: 'info',
  PAUSED: 'warn', RESTARTING: 'info', loading: 'info', warning: 'warn', expired: 'warn',
  FAILED: 'bad', refused: 'bad', drift: 'bad',
};

/** A state as text with a colour; the colour only repeats what the text says. */
export function badge(text, tone) {
  return h('span', { class: `badge ${tone ?? BADGE_TONES[text] ?? 'plain'}` }, text);
}

export function fmtNumber(v, digits = 4) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(digits);
}

/** A quality (accuracy, r2): always with four decimals, so 1 reads 1.0000 beside 0.9745. */
export function fmtRatio(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : '–';
}

export function fmtTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) return '–';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/**
 * Any JSON value, readable: numbers formatted, objects as nested key/value lists. Used for
 * fields the console does not know in advance (evaluation results, challenger settings).
 */
export function renderValue(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '–');
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    return v.every((x) => x === null || typeof x !== 'object') ? v.map((x) => (typeof x === 'number' ? fmtNumber(x) : String(x))).join(', ') : h('ol', { class: 'kv-list' }, v.map((x) => h('li', null, renderValue(x))));
  }
  return keyValues(v);
}

export function keyValues(obj) {
  return h('dl', { class: 'kv' }, Object.entries(obj).map(([k, val]) => [h('dt', null, k), h('dd', null, renderValue(val))]));
}

export function table(caption, headers, rows, cls) {
  return h('table', { class: cls ?? 'grid' },
    caption ? h('caption', null, caption) : null,
    h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, rows));
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}
