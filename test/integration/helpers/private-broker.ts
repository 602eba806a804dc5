/**
 * A broker of the test file's own, for tests that stop and restart it (broker outages). Import this
 * module first: it points KAFKA_BOOTSTRAP_SERVERS (read by the helpers and by the workers the test
 * starts) at that broker before anything else reads it. The test starts and stops the broker itself
 * with scripts/kafka.sh (KAFKA_PORT / KAFKA_DATA_DIR below).
 */
import * as path from 'node:path';

const port = Number(process.env.KAPPA_FAULTS_KAFKA_PORT ?? 19392);

export const PRIVATE_BROKER = {
  port,
  dataDir: path.resolve(__dirname, '..', '..', '..', '.data', `kafka-faults-${port}`),
};

process.env.KAFKA_BOOTSTRAP_SERVERS = `127.0.0.1:${port}`;
