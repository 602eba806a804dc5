/**
 * Nesting depth of values, measured without recursion.
 *
 * JSON.parse builds a value of any depth without trouble, but everything after it that walks a
 * value recursively (encoding with JSON.stringify or a converter, SMTs, schema conversion) runs
 * out of stack on a deep enough one, and a stack overflow in the middle of a batch is not a clear
 * error for one record. So values are measured where they enter the worker (converters, REST
 * bodies, model-control messages) and refused above a limit.
 */
import { Struct } from '../api';

/**
 * The deepest record value the converters accept: Connect's JsonConverter refuses deeper
 * documents the same way (Jackson's default StreamReadConstraints maxNestingDepth is 1000).
 */
export const MAX_RECORD_DEPTH = 1000;

function isContainer(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof Date);
}

/**
 * Whether `value` nests containers (arrays, objects, Maps, Structs) more than `max` levels deep.
 * A scalar has depth 0, `{}` and `[1]` depth 1, `{"a": {}}` depth 2.
 */
export function nestingExceeds(value: unknown, max: number): boolean {
  if (!isContainer(value)) return false;
  const stack: object[] = [value];
  const depths: number[] = [1];
  const push = (child: unknown, depth: number) => {
    if (isContainer(child)) {
      stack.push(child);
      depths.push(depth);
    }
  };
  while (stack.length > 0) {
    const v = stack.pop()!;
    const d = depths.pop()!;
    if (d > max) return true;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) push(v[i], d + 1);
    } else if (v instanceof Map) {
      for (const [k, x] of v) {
        push(k, d + 1);
        push(x, d + 1);
      }
    } else {
      const o = v instanceof Struct ? v.values : (v as Record<string, unknown>);
      for (const k in o) push(o[k], d + 1);
    }
  }
  return false;
}
