/**
 * The transformation chain of one connector: SMTs in `transforms` order, each optionally guarded
 * by a predicate (`transforms.<a>.predicate`, `transforms.<a>.negate`). A transformation that
 * returns null drops the record. Transformations with a batch form (model scoring) get the whole
 * batch in one call.
 */
import type { ConfigMap, Predicate, SinkRecord, Transformation } from '../api';
import { ConfigException } from '../api';
import { withPrefix } from '../config/parse';
import type { PluginRegistry } from '../plugins/registry';

export interface ChainStep {
  readonly alias: string;
  readonly className: string;
  readonly transformation: Transformation;
  readonly predicate?: Predicate;
  readonly negate: boolean;
}

function aliases(config: ConfigMap, key: string): string[] {
  const raw = config[key];
  return raw === undefined || raw.trim() === '' ? [] : raw.trim().split(/\s*,\s*/);
}

/** Instantiates and configures every transformation and predicate named in the connector config. */
export function buildChain(config: ConfigMap, registry: PluginRegistry): ChainStep[] {
  const predicates = new Map<string, Predicate>();
  for (const alias of aliases(config, 'predicates')) {
    const prefix = `predicates.${alias}.`;
    const type = config[prefix + 'type'];
    if (!type) throw new ConfigException(`Missing required configuration "${prefix}type" which has no default value.`);
    const entry = registry.find(type, ['predicate']);
    if (!entry) throw new ConfigException(`Invalid value ${type} for configuration ${prefix}type: Class ${type} could not be found.`);
    const predicate = entry.descriptor.create() as Predicate;
    predicate.configure(withPrefix(config, prefix));
    predicates.set(alias, predicate);
  }
  const steps: ChainStep[] = [];
  for (const alias of aliases(config, 'transforms')) {
    const prefix = `transforms.${alias}.`;
    const type = config[prefix + 'type'];
    if (!type) throw new ConfigException(`Missing required configuration "${prefix}type" which has no default value.`);
    const entry = registry.find(type, ['transformation']);
    if (!entry) throw new ConfigException(`Invalid value ${type} for configuration ${prefix}type: Class ${type} could not be found.`);
    const transformation = entry.descriptor.create() as Transformation;
    transformation.configure(withPrefix(config, prefix));
    const predicateAlias = config[prefix + 'predicate'];
    const negate = (config[prefix + 'negate'] ?? 'false').trim().toLowerCase() === 'true';
    let predicate: Predicate | undefined;
    if (predicateAlias) {
      predicate = predicates.get(predicateAlias);
      if (!predicate) throw new ConfigException(`Invalid value ${predicateAlias} for configuration ${prefix}predicate: There is no predicate with alias ${predicateAlias} in predicates.`);
    } else if (config[prefix + 'negate'] !== undefined) {
      throw new ConfigException(`Config '${prefix}negate' was provided but there is no config '${prefix}predicate' defining a predicate to be negated.`);
    }
    steps.push({ alias, className: entry.descriptor.className, transformation, predicate, negate });
  }
  return steps;
}

/** Whether a step applies to a record, given its predicate and negate flag. */
export function stepApplies(step: ChainStep, record: SinkRecord): boolean {
  if (!step.predicate) return true;
  return step.predicate.test(record) !== step.negate;
}

export async function closeChain(steps: readonly ChainStep[]): Promise<void> {
  const closed = new Set<Predicate>();
  for (const s of steps) {
    await s.transformation.close();
    if (s.predicate && !closed.has(s.predicate)) { closed.add(s.predicate); s.predicate.close(); }
  }
}
