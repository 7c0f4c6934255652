/**
 * Replays a hand-written BigQuery REST recording (test/recordings/bigquery/*.json) through the cohort
 * store's transport seam: each call must be the next exchange of the recording; every request (and every
 * uploaded NDJSON body) is kept for the test to inspect. No network is involved.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { BigQueryTransport, RestRequest } from '../../shared/cohorts/bigquery-transport.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'recordings', 'bigquery');

interface Exchange {
  method?: RestRequest['method'];
  path?: string;
  pathPattern?: string;
  upload?: boolean;
  response?: unknown;
  error?: { code: number; message: string; errors: { reason: string; message: string }[] };
}

export interface Replay {
  transport: BigQueryTransport;
  requests: RestRequest[];
  uploads: { job: unknown; lines: unknown[] }[];
  /** Throws unless every recorded exchange was used. */
  assertDone(): void;
}

export function replay(name: string): Replay {
  const rec = JSON.parse(readFileSync(join(DIR, name), 'utf8')) as { _note: string; exchanges: Exchange[] };
  assert.match(rec._note, /^HAND-WRITTEN RECORDING/, `${name} must say it is a hand-written recording`);
  const queue = [...rec.exchanges];
  const requests: RestRequest[] = [];
  const uploads: Replay['uploads'] = [];
  const answer = (x: Exchange) => {
    if (x.error) return Promise.reject(Object.assign(new Error(x.error.message), x.error));
    return Promise.resolve(structuredClone(x.response));
  };
  return {
    requests,
    uploads,
    transport: {
      async request(req) {
        requests.push(req);
        const x = queue.shift();
        assert.ok(x, `${name}: unexpected extra request ${req.method} ${req.path}`);
        assert.ok(!x.upload, `${name}: expected an upload, got ${req.method} ${req.path}`);
        assert.equal(req.method, x.method, `${name}: method of ${req.path}`);
        if (x.pathPattern) assert.match(req.path, new RegExp(x.pathPattern));
        else assert.equal(req.path, x.path);
        return answer(x);
      },
      async upload(job: unknown, data: Readable) {
        const x = queue.shift();
        assert.ok(x?.upload, `${name}: unexpected upload`);
        const entry = { job, lines: [] as unknown[] };
        uploads.push(entry);
        let text = '';
        for await (const chunk of data) text += chunk;
        entry.lines = text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l));
        return answer(x);
      },
    },
    assertDone() {
      assert.equal(queue.length, 0, `${name}: ${queue.length} recorded exchanges were not used`);
    },
  };
}
