/** Version reported for every plugin that ships with the worker (converters, SMTs, predicates, ...). */
export const BUILTIN_PLUGIN_VERSION = '0.1.0';
