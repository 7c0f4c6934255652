/**
 * Issue 20, Build 1, on the CloudEvent function: the processUpload function as its entry builds it (app.ts)
 * under functions-framework's own server reads CloudEvents up to CLOUD_EVENT_MAX_BYTES and no further. A
 * 1 GiB gzip bomb (about 1 MB on the wire) in structured or binary mode is answered 413 problem+json before
 * the function runs, with this process's memory flat; a real-sized event is still delivered.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createUploadsApp, loadUploadsAppConfig } from '../../functions/uploads/app.ts';
import { createCohortStore } from '../../shared/cohorts/create-store.ts';
import { CLOUD_EVENT_MAX_BYTES } from '../../shared/http/framework-adapter.ts';
import { type Answer, bomb, measured, postBytes } from '../harness/bombs.ts';

let server: Server;
let dir: string;
let gzipBomb: Buffer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nih-ce-bomb-'));
  Object.assign(process.env, {
    UPLOADS_BUCKET: 'ce-bomb-uploads',
    COHORT_STORE: 'duckdb',
    DUCKDB_PATH: join(dir, 'cohorts.duckdb'),
  });
  // The cloud entry opens BigQuery only; this is its app with the DuckDB store factory.
  cloudEvent(
    'processUpload',
    createUploadsApp({ config: loadUploadsAppConfig(), openStore: createCohortStore }).handler,
  );
  server = getTestServer('processUpload');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gzipBomb = await bomb('gzip', 1024);
});
after(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const CONTEXT = {
  specversion: '1.0',
  id: 'bomb-1',
  source: '//storage.googleapis.com/projects/_/buckets/another-bucket',
  type: 'google.cloud.storage.object.v1.finalized',
  subject: 'objects/a.csv',
  time: '2026-01-01T00:00:00Z',
};

function assert413(a: Answer): void {
  assert.equal(a.status, 413, a.text.slice(0, 300));
  assert.match(String(a.headers['content-type']), /^application\/problem\+json/);
  const p = JSON.parse(a.text) as { status: number; detail: string };
  assert.equal(p.status, 413);
  assert.match(p.detail, new RegExp(`limit is ${CLOUD_EVENT_MAX_BYTES} bytes`));
}

describe('processUpload and a 1 GiB CloudEvent gzip bomb', () => {
  const modes: [string, Record<string, string>][] = [
    ['structured (application/cloudevents+json)', { 'content-type': 'application/cloudevents+json' }],
    [
      'binary (ce-* headers, application/json data)',
      {
        'content-type': 'application/json',
        ...Object.fromEntries(Object.entries(CONTEXT).map(([k, v]) => [`ce-${k}`, v])),
      },
    ],
  ];
  for (const [mode, headers] of modes) {
    it(`${mode}: 413 problem+json before the function runs, memory flat`, async (t) => {
      const m = await measured(() =>
        postBytes(server, { path: '/', headers: { ...headers, 'content-encoding': 'gzip' }, body: gzipBomb }),
      );
      t.diagnostic(
        `${mode}: ${m.result.status} in ${m.ms.toFixed(0)} ms, peak RSS +${m.rssMiB.toFixed(1)} MiB, ` +
          `peak heap+buffers +${m.heapMiB.toFixed(1)} MiB`,
      );
      assert413(m.result);
      assert.ok(m.heapMiB < 32, `live heap + buffers grew ${m.heapMiB.toFixed(0)} MiB`);
      assert.ok(m.rssMiB < 64, `RSS grew ${m.rssMiB.toFixed(0)} MiB`);
    });
  }

  it('a Storage event of 512 KiB (far above a real one) is still read and handled', async () => {
    const event = {
      ...CONTEXT,
      data: {
        bucket: 'another-bucket',
        name: 'a.csv',
        generation: '1',
        metadata: { pad: 'x'.repeat(512 * 1024) },
      },
    };
    const a = await postBytes(server, {
      path: '/',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: Buffer.from(JSON.stringify(event)),
    });
    // Another bucket's event is acknowledged and ignored by the processor: the function ran.
    assert.equal(a.status, 204, a.text.slice(0, 300));
  });
});
