// Re-rendering on every refresh without flicker: the page is rebuilt only when the API's answer
// changed, and <details> a reader opened stay open.
import { replace } from './dom.js';

const last = new WeakMap();

export function renderIfChanged(el, data, build, after) {
  const signature = JSON.stringify(data);
  if (last.get(el) === signature) return;
  last.set(el, signature);
  const open = new Set([...el.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key));
  replace(el, build());
  if (after) after(el, open);
}

export function keepOpenDetails(el, open) {
  for (const d of el.querySelectorAll('details[data-key]')) if (open.has(d.dataset.key)) d.open = true;
}
