/** Connect's standard SMTs and predicates, under Connect's class names. */
import type { PredicateDescriptor, TransformationDescriptor } from '../api';
import { fieldTransformPlugins } from './fields';
import { builtinPredicatePlugins, routingTransformPlugins } from './routing';
import { structureTransformPlugins } from './structure';
import { timestampTransformPlugins } from './timestamp';

export const transformationPlugins: TransformationDescriptor[] = [
  ...fieldTransformPlugins,
  ...structureTransformPlugins,
  ...timestampTransformPlugins,
  ...routingTransformPlugins,
];

export const predicatePlugins: PredicateDescriptor[] = [...builtinPredicatePlugins];

export * from './fields';
export * from './structure';
export * from './timestamp';
export * from './routing';
export { DateFormat } from './dateformat';
