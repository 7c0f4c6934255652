/**
 * A Firestore emulator for one test file: started on a free port in before(), stopped in after(). Sets
 * FIRESTORE_EMULATOR_HOST / GOOGLE_CLOUD_PROJECT / METADATA_SERVER_DETECTION so that code reading the
 * environment (functions/labels/index.ts, scripts/load.ts) talks to it.
 */
import type { Firestore } from '@google-cloud/firestore';
import { type FirestoreEmulator, startFirestoreEmulator } from '../../scripts/emulators/firestore.ts';
import { createFirestore } from '../../shared/labels/firestore-client.ts';

export interface TestFirestore {
  emulator: FirestoreEmulator;
  db: Firestore;
  /** The variables a child process needs to use this emulator. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startTestFirestore(): Promise<TestFirestore> {
  const emulator = await startFirestoreEmulator();
  const env = {
    FIRESTORE_EMULATOR_HOST: emulator.host,
    GOOGLE_CLOUD_PROJECT: emulator.projectId,
    METADATA_SERVER_DETECTION: 'none',
  };
  Object.assign(process.env, env);
  const db = await createFirestore({ projectId: emulator.projectId, emulatorHost: emulator.host });
  return {
    emulator,
    db,
    env,
    async stop() {
      await db.terminate().catch(() => {});
      await emulator.stop();
    },
  };
}
