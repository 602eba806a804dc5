/** The Schema Registry the Avro, DLQ and SMT end-to-end tests use (`make test` starts one and exports SCHEMA_REGISTRY_URL). */

export const REGISTRY = (process.env.SCHEMA_REGISTRY_URL || 'http://127.0.0.1:18081/apis/ccompat/v7').replace(/\/+$/, '');

/** Fails the suite at once, with how to start one, when no registry answers. */
export async function requireRegistry(): Promise<void> {
  const ping = await fetch(`${REGISTRY}/subjects`).catch((e: Error) => e);
  if (ping instanceof Error || !ping.ok) {
    throw new Error(`no Schema Registry at ${REGISTRY} (start it with: bash scripts/registry/registry.sh start, or set SCHEMA_REGISTRY_URL)`);
  }
}
