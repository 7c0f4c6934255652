/**
 * The uploads function's REST clients (Storage JSON API, Firestore REST) in their cloud mode take the
 * metadata server from GCE_METADATA_HOST as loadGoogleEnv reads it, as the cohorts and signer clients do:
 * the token each API call carries comes from the stand-in named there, not from 169.254.169.254.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createFirestoreWriter } from '../../shared/google/firestore-rest-tx.ts';
import { loadGoogleEnv } from '../../shared/google/google-env.ts';
import { createRestStorage } from '../../shared/google/storage-rest.ts';

const seen: { path: string; auth: string | undefined }[] = [];
let metadata: Server;
let api: Server;
const hostOf = (s: Server) => `127.0.0.1:${(s.address() as AddressInfo).port}`;
const listen = (s: Server) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r));

before(async () => {
  metadata = createServer((req: IncomingMessage, res) => {
    if (req.headers['metadata-flavor'] !== 'Google' || !req.url?.endsWith('/token')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'metadata-flavor': 'Google', 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: 'token-from-gce-metadata-host', expires_in: 3600 }));
  });
  api = createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await Promise.all([listen(metadata), listen(api)]);
});
after(() => {
  metadata?.close();
  api?.close();
});

test('Storage and Firestore REST calls carry the token of the metadata server GCE_METADATA_HOST names', async () => {
  const google = loadGoogleEnv({ GCE_METADATA_HOST: hostOf(metadata) });
  const endpoint = `http://${hostOf(api)}`;
  const storage = createRestStorage({ google, endpoint });
  await storage.save('b', 'reports/x.json', '{}', 'application/json');
  const firestore = createFirestoreWriter({ google, endpoint, projectId: 'p' });
  await firestore.update('c', 'd', { a: 1 });
  firestore.close();
  assert.deepEqual(
    seen.map((s) => s.auth),
    ['Bearer token-from-gce-metadata-host', 'Bearer token-from-gce-metadata-host'],
  );
  assert.match(seen[0]!.path, /^\/upload\/storage\/v1\/b\/b\/o\?uploadType=media/);
  assert.equal(seen[1]!.path, '/v1/projects/p/databases/(default)/documents:commit');
});
