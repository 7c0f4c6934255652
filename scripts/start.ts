/** `npm start`: the local server (see scripts/local/server.ts and the README). */
import { logger } from '../shared/log.ts';
import { loadLocalConfig } from './local/config.ts';
import { startLocalServer } from './local/server.ts';

const log = logger.child({ component: 'local-server' });
process.env.METADATA_SERVER_DETECTION ??= 'none';
const server = await startLocalServer(loadLocalConfig(), log);
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info('stopping', { signal });
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
