import { spawn } from 'node:child_process';
import { join } from 'node:path';

const SCRIPT = join(import.meta.dirname, 'kafka-mock-cluster.py');
/** Debian's python3, where python3-confluent-kafka installs; another python3 may come first on PATH. */
const PYTHON = '/usr/bin/python3';

export interface MockClusterProcess {
  /** host:port of its one broker. */
  bootstrap: string;
  stop(): Promise<void>;
}

/**
 * librdkafka's mock cluster (a Kafka wire-protocol broker, scripts/kafka-mock-cluster.py) in a
 * child process, for the tests and the bench. Rejects when it cannot start (no python3-confluent-kafka).
 */
export async function startMockCluster(): Promise<MockClusterProcess> {
  const child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const bootstrap = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the Kafka mock cluster exited (${code}): ${err.trim().slice(0, 500)}`)));
    child.stdout.once('data', (d) => resolve(String(d).trim()));
  });
  return {
    bootstrap,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}
