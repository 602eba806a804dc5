// What a connector's config says about model scoring and online learning: its Score and Learn
// transforms (`transforms=a,b`, `transforms.a.type=...`), the models they use and the learner.

const SCORE = 'io.kappa.connect.ml.Score';
const LEARN = 'io.kappa.connect.ml.Learn';

/** The worker finds plugins by class name or simple name (docs/transforms.md), so both count. */
function kindOf(type) {
  const simple = String(type ?? '').trim().split(/[.$]/).pop();
  if (type === SCORE || simple === 'Score') return 'score';
  if (type === LEARN || simple === 'Learn') return 'learn';
  return 'other';
}

/**
 * [{ alias, type, kind, modelId, routedBy, algorithm, publishes }] in chain order.
 * Score: `modelId` from model.id, else `routedBy` names the field or header that picks the model.
 * Learn: `algorithm`, and `publishes` = the model id its weights are published under (model.id,
 * default the connector name; null when model.topic is empty).
 */
export function transformsOf(connector, config) {
  const aliases = String(config.transforms ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return aliases.map((alias) => {
    const get = (key) => {
      const v = config[`transforms.${alias}.${key}`];
      return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
    };
    const type = get('type') ?? '';
    const kind = kindOf(type);
    const t = { alias, type, kind };
    if (kind === 'score') {
      t.modelId = get('model.id');
      t.routedBy = t.modelId ? null : get('model.id.field') ? `field ${get('model.id.field')}` : get('model.id.header') ? `header ${get('model.id.header')}` : null;
    } else if (kind === 'learn') {
      t.algorithm = get('algorithm') ?? 'pa-i';
      const topic = config[`transforms.${alias}.model.topic`];
      t.publishes = topic !== undefined && topic.trim() === '' ? null : get('model.id') ?? connector;
    }
    return t;
  });
}

/** The simple name of a class, for display (Connect's SMTs have long names). */
export function simpleName(type) {
  return String(type).split('.').pop();
}
