/**
 * Built-in converters. Like Connect's plugin listing, classes that implement both Converter and
 * HeaderConverter appear twice: once with type 'converter' and once with type 'header_converter'.
 */
import type { ConverterDescriptor } from '../api';
import { byteArrayConverterPlugin, byteArrayHeaderConverterPlugin } from './bytearray';
import { avroConverterPlugin } from './avro';
import { jsonConverterPlugin, jsonHeaderConverterPlugin } from './json';
import { primitiveConverterPlugins } from './number';
import { simpleHeaderConverterPlugin, stringConverterPlugin, stringHeaderConverterPlugin } from './string';

export const converterPlugins: ConverterDescriptor[] = [
  jsonConverterPlugin,
  stringConverterPlugin,
  byteArrayConverterPlugin,
  jsonHeaderConverterPlugin,
  stringHeaderConverterPlugin,
  byteArrayHeaderConverterPlugin,
  simpleHeaderConverterPlugin,
  avroConverterPlugin,
  ...primitiveConverterPlugins,
];

export * from './json';
export * from './avro';
export * from './string';
export * from './bytearray';
export * from './number';
export * from './values';
export * from './headers';
export * from './schemas';
export * from './decimal';
export { LruCache } from './lru';
