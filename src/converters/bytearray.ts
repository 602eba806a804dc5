/** org.apache.kafka.connect.converters.ByteArrayConverter: bytes pass through unchanged. */
import {
  DataException, type ConfigDef, type ConfigMap, type Converter, type ConverterDescriptor, type Schema, type SchemaAndValue,
} from '../api';
import { BUILTIN_PLUGIN_VERSION } from '../api/version';
import { parseConfigOrThrow } from '../config/parse';
import { describeType } from './decimal';
import { CONVERTER_TYPE_KEY } from './json';
import { Schemas } from './schemas';

export const BYTE_ARRAY_CONVERTER_CLASS = 'org.apache.kafka.connect.converters.ByteArrayConverter';

export const byteArrayConverterConfigDef: ConfigDef = [CONVERTER_TYPE_KEY];

export class ByteArrayConverter implements Converter {
  configure(config: ConfigMap, _isKey: boolean): void {
    parseConfigOrThrow(byteArrayConverterConfigDef, config);
  }
  toConnectData(_topic: string, bytes: Buffer | null): SchemaAndValue {
    return { schema: Schemas.OPTIONAL_BYTES, value: bytes };
  }
  fromConnectData(_topic: string, schema: Schema | null, value: unknown): Buffer | null {
    if (schema !== null && schema.type !== 'bytes') throw new DataException(`Invalid schema type for ByteArrayConverter: ${schema.type.toUpperCase()}`);
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    throw new DataException(`ByteArrayConverter is not compatible with objects of type ${describeType(value)}`);
  }
  close(): void {}
}

export const byteArrayConverterPlugin: ConverterDescriptor = {
  className: BYTE_ARRAY_CONVERTER_CLASS,
  type: 'converter',
  version: BUILTIN_PLUGIN_VERSION,
  configDef: byteArrayConverterConfigDef,
  create: () => new ByteArrayConverter(),
};
export const byteArrayHeaderConverterPlugin: ConverterDescriptor = { ...byteArrayConverterPlugin, type: 'header_converter' };
