/**
 * The URI of a model artifact stored in Kafka: `kafka-artifact:sha256:<64 lower-case hex>`. The
 * artifact is addressed by its content only; which topic holds it is the reading worker's
 * setting (`kappa.model.artifact.topic`), so the same URI works on every worker of a cluster.
 */

export const ARTIFACT_URI_SCHEME = 'kafka-artifact';
export const ARTIFACT_URI_PREFIX = `${ARTIFACT_URI_SCHEME}:sha256:`;

const ARTIFACT_URI_RE = /^kafka-artifact:sha256:([0-9a-f]{64})$/;

/** The URI of the artifact whose sha256 is `sha256` (lower-case hex). */
export function artifactUri(sha256: string): string {
  return `${ARTIFACT_URI_PREFIX}${sha256}`;
}

/** Whether the URI has the kafka-artifact scheme (well-formed or not). */
export function isArtifactUri(uri: string): boolean {
  return /^kafka-artifact:/i.test(uri);
}

/** The sha256 a kafka-artifact URI names, or null when the URI is not a well-formed one. */
export function artifactSha(uri: string): string | null {
  return ARTIFACT_URI_RE.exec(uri)?.[1] ?? null;
}
