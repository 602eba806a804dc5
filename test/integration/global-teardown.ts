/**
 * jest globalTeardown of the integration project: stops the Kafka container that global-setup.ts
 * started with KAPPA_TESTCONTAINERS=1. On the default path there is nothing to stop and nothing
 * is loaded.
 */
import { takeState } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const state = takeState();
  if (!state) return;
  try {
    await state.container.stop();
  } finally {
    delete process.env.KAFKA_BOOTSTRAP_SERVERS; // it was unset before global-setup.ts exported it
  }
}
