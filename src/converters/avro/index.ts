export { AvroConverter, avroConverterPlugin, avroConverterConfigDef, AVRO_CONVERTER_CLASS, resolveSchemaFile } from './avro-converter';
export { TOPIC_NAME_STRATEGY, RECORD_NAME_STRATEGY, TOPIC_RECORD_NAME_STRATEGY, MAGIC_BYTE } from './avro-converter';
export { avroSchemaEntry, connectToAvroSchema, decodeAvro, encodeAvro, parseAvroSchema, type AvroSchemaEntry } from './avro-data';
export { SchemaRegistryClient, RegistryError } from './registry-client';
