/** Every plugin that ships with the worker, listed statically. */
import type { PluginDescriptor } from '../api';
import { converterPlugins } from '../converters';
import { predicatePlugins, transformationPlugins } from '../transforms';
import { fileStreamSink } from '../sinks/file-sink';
import { kafkaTopicSink } from '../sinks/kafka-topic-sink';
import { learnTransformPlugin } from '../ml/online/learn-transform';
import { servingPlugins } from '../ml/serving/score';

export function builtinPlugins(): PluginDescriptor[] {
  return [fileStreamSink, kafkaTopicSink, ...transformationPlugins, learnTransformPlugin, ...servingPlugins, ...predicatePlugins, ...converterPlugins];
}
