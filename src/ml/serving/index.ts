/** Model serving: the control topic, the catalog, artifacts, backends and the Score transform. */
export * from './control';
export * from './artifacts';
export * from './backends';
export * from './catalog';
export * from './hub';
export * from './score';
export * from './control-log';
export * from './artifact-uri';
export * from './artifact-topic';
export * from './challenger';
export * from './evaluation';
