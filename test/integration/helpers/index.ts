export * from './wait';
export * from './http';
export * from './kafka';
export * from './worker';
export * from './connect';
