/**
 * The REST reader's cloud path, against local HTTP servers standing in for the metadata server and
 * firestore.googleapis.com: the project and the access token come from the metadata server (only when it
 * answers as one, Metadata-Flavor: Google), every Firestore call carries the token, the token is fetched
 * once and again a minute before it expires, and the request body is Firestore's documented batchGet.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createRestFirestore } from '../../shared/labels/firestore-rest.ts';

interface Seen {
  path: string;
  auth?: string | undefined;
  flavor?: string | undefined;
  body: string;
}
const seen: Seen[] = [];
let tokens = 0;
let expiresIn = 3600;
let servers: Server[] = [];
let metadataUrl = '';
let endpoint = '';

const body = (req: IncomingMessage) =>
  new Promise<string>((r) => {
    let s = '';
    req.on('data', (c) => (s += c));
    req.on('end', () => r(s));
  });

async function serve(handler: (req: IncomingMessage, b: string) => [number, Record<string, string>, string]) {
  const server = createServer(async (req, res) => {
    const b = await body(req);
    seen.push({
      path: req.url ?? '',
      auth: req.headers.authorization,
      flavor: req.headers['metadata-flavor'] as string | undefined,
      body: b,
    });
    const [status, headers, out] = handler(req, b);
    res.writeHead(status, headers).end(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
  metadataUrl = `${await serve((req) => {
    if (req.headers['metadata-flavor'] !== 'Google') return [403, {}, 'missing Metadata-Flavor'];
    if (req.url === '/computeMetadata/v1/project/project-id')
      return [200, { 'Metadata-Flavor': 'Google' }, 'proj-1'];
    tokens++;
    return [
      200,
      { 'Metadata-Flavor': 'Google', 'content-type': 'application/json' },
      JSON.stringify({ access_token: `tok-${tokens}`, expires_in: expiresIn, token_type: 'Bearer' }),
    ];
  })}/computeMetadata/v1`;
  endpoint = await serve((req, b) => {
    if (!req.url?.endsWith(':batchGet')) return [404, {}, ''];
    const { documents } = JSON.parse(b) as { documents: string[] };
    const found = documents.map((name) => ({
      found: { name, fields: { record: { stringValue: '{}' }, schemaVersion: { integerValue: '1' } } },
    }));
    return [200, { 'content-type': 'application/json' }, JSON.stringify(found)];
  });
});
after(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  servers = [];
});

test('project and token from the metadata server; every call carries the token; refreshed before expiry', async () => {
  const fs = createRestFirestore({ endpoint, metadataUrl });
  try {
    const got = await fs.batchGet('images', ['a', 'b'], ['record', 'schemaVersion']);
    assert.deepEqual([...got.keys()], ['a', 'b']);
    assert.deepEqual(got.get('a')?.fields, { record: '{}', schemaVersion: 1 });
    const call = seen.find((s) => s.path.endsWith(':batchGet'))!;
    assert.equal(call.path, '/v1/projects/proj-1/databases/(default)/documents:batchGet');
    assert.equal(call.auth, 'Bearer tok-1');
    assert.deepEqual(JSON.parse(call.body), {
      documents: [
        'projects/proj-1/databases/(default)/documents/images/a',
        'projects/proj-1/databases/(default)/documents/images/b',
      ],
      mask: { fieldPaths: ['record', 'schemaVersion'] },
    });
    assert.ok(seen.filter((s) => s.path.startsWith('/computeMetadata')).every((s) => s.flavor === 'Google'));
    await fs.batchGet('images', ['c'], ['record']);
    assert.equal(tokens, 1, 'the token is reused while valid');
  } finally {
    fs.close();
  }
  // A token that expires within the minute is fetched again for the next call.
  expiresIn = 30;
  const short = createRestFirestore({ endpoint, metadataUrl, projectId: 'proj-1' });
  try {
    await short.batchGet('images', ['a'], ['record']);
    await short.batchGet('images', ['a'], ['record']);
    assert.equal(tokens, 3);
    assert.equal(seen.filter((s) => s.path.endsWith(':batchGet')).at(-1)?.auth, 'Bearer tok-3');
  } finally {
    short.close();
  }
});
