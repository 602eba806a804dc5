import type { Schema, SinkRecord, Transformation, TransformationDescriptor, PredicateDescriptor, Predicate } from '../../../src/api';
import { predicatePlugins, transformationPlugins } from '../../../src/transforms';

export function rec(p: Partial<SinkRecord> = {}): SinkRecord {
  return {
    topic: 'orders', kafkaPartition: 3, kafkaOffset: 42, timestamp: 1700000000000,
    keySchema: null, key: null, valueSchema: null, value: null, headers: [], ...p,
  };
}
export function smt(className: string, config: Record<string, string> = {}): Transformation {
  const d = transformationPlugins.find((x: TransformationDescriptor) => x.className === `org.apache.kafka.connect.transforms.${className}`);
  if (!d) throw new Error(`no plugin ${className}`);
  const t = d.create();
  t.configure(config);
  return t;
}
export function pred(className: string, config: Record<string, string> = {}): Predicate {
  const d = predicatePlugins.find((x: PredicateDescriptor) => x.className === `org.apache.kafka.connect.transforms.predicates.${className}`);
  if (!d) throw new Error(`no predicate ${className}`);
  const p = d.create();
  p.configure(config);
  return p;
}
/** Applies and checks that the input record was not mutated. */
export function run(t: Transformation, r: SinkRecord): SinkRecord | null {
  const snapshot = JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  const out = t.apply(r);
  expect(JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(snapshot);
  return out;
}
export const names = (s: Schema | null) => (s?.fields ?? []).map((f) => f.name);
