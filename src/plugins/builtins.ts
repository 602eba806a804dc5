/** Every plugin that ships with the worker, listed statically. */
import type { PluginDescriptor } from '../api';
import { converterPlugins } from '../converters';
import { predicatePlugins, transformationPlugins } from '../transforms';
import { fileStreamSink } from '../sinks/file-sink';
import { kafkaTopicSink } from '../sinks/kafka-topic-sink';

export function builtinPlugins(): PluginDescriptor[] {
  return [fileStreamSink, kafkaTopicSink, ...transformationPlugins, ...predicatePlugins, ...converterPlugins];
}
