/**
 * Topic creation errors that say why: a client library's aggregate error ("Topic creation errors")
 * becomes one message naming each topic and the broker's reason, e.g. "Unable to create topic
 * dlq: Replication factor: 3 larger than available brokers: 1.".
 */
export class TopicCreationError extends Error {
  override name = 'TopicCreationError';
  constructor(message: string, readonly topics: { topic: string; reason: string }[], options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function describeTopicErrors(errors: { topic: string; reason: string }[], cause?: Error): TopicCreationError {
  const text = errors.map((e) => `Unable to create topic ${e.topic}: ${e.reason}`).join('; ');
  return new TopicCreationError(text || (cause?.message ?? 'Topic creation failed'), errors, { cause });
}
