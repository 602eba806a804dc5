/** The public plugin API. Third-party plugins import from here only. */
export * from './data';
export * from './record';
export * from './config';
export * from './plugins';
