/**
 * The DuckDB store's read cache (shared/cohorts/read-cache.ts): answers repeat without a query, and never
 * outlive a write. Expected totals and summaries come from the in-memory evaluation (reference.ts) of the
 * records as they are after each write, not from the store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CompiledSql } from '../../shared/cohorts/compile.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import type { CohortFilter } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { createReadCache } from '../../shared/cohorts/read-cache.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { handRecords } from './hand-records.ts';
import { expectedIds, expectedSummary } from './reference.ts';

const tokens = createPageTokens('test-secret-for-cohort-pages');
const EFFUSION: CohortFilter = { findings: { any: ['Effusion'] } };

describe('read cache (unit)', () => {
  it('answers a repeated read from memory, and runs it again after a write', async () => {
    const cache = createReadCache(100);
    let runs = 0;
    const q: CompiledSql = { sql: 'SELECT 1', params: { a: { type: 'INT64', value: 1 } }, columns: ['x'] };
    const run = async () => {
      runs++;
      return [{ x: runs }];
    };
    assert.deepEqual(await cache.rows(q, run), [{ x: 1 }]);
    assert.deepEqual(await cache.rows(q, run), [{ x: 1 }]);
    assert.equal(runs, 1);
    await cache.write(async () => {});
    assert.deepEqual(await cache.rows(q, run), [{ x: 2 }]);
    assert.equal(runs, 2);
  });

  it('does not keep a read that a write overlapped, nor serve from memory during a write', async () => {
    const cache = createReadCache(100);
    const q = { sql: 'SELECT 2', params: {}, columns: ['x'] };
    let release!: () => void;
    const slow = cache.rows(q, () => new Promise((r) => (release = () => r([{ x: 'before' }]))));
    await cache.write(async () => {});
    release();
    assert.deepEqual(await slow, [{ x: 'before' }]);
    assert.deepEqual(await cache.rows(q, async () => [{ x: 'after' }]), [{ x: 'after' }], 'not kept');
    let finishWrite!: () => void;
    const writing = cache.write(() => new Promise<void>((r) => (finishWrite = r)));
    assert.deepEqual(await cache.rows(q, async () => [{ x: 'during' }]), [{ x: 'during' }]);
    finishWrite();
    await writing;
    assert.deepEqual(await cache.rows(q, async () => [{ x: 'later' }]), [{ x: 'later' }]);
  });

  it('keeps and serves nothing once closed', async () => {
    const cache = createReadCache(100);
    const q: CompiledSql = { sql: 'SELECT 3', params: {}, columns: ['x'] };
    await cache.rows(q, async () => [{ x: 1 }]);
    cache.close();
    await assert.rejects(
      cache.rows(q, async () => {
        throw new Error('closed store');
      }),
      /closed store/,
    );
    assert.equal(cache.size, 0);
  });

  it('holds at most maxRows rows', async () => {
    const cache = createReadCache(10);
    for (let i = 0; i < 20; i++) {
      await cache.rows({ sql: `SELECT ${i}`, params: {}, columns: [] }, async () => [{ i }, { i }]);
    }
    assert.ok(cache.size <= 3, `${cache.size} entries of 3 rows each (2 rows + 1) within 10`);
  });
});

describe('DuckDB store with its read cache', () => {
  let records: ImageRecord[];
  let store: CohortStore;
  before(async () => {
    records = handRecords(400, 11);
    store = await createDuckDbCohortStore({ tokens });
    await store.load(records.map(toCohortRows));
  });
  after(() => store?.close());

  const check = async (rs: ImageRecord[], f: CohortFilter) => {
    const want = expectedIds(rs, f);
    const page = await store.query(f, 25);
    assert.equal(page.totalImages, want.length);
    assert.deepEqual(
      page.images.map((i) => i.imageId),
      want.slice(0, 25),
    );
    assert.deepEqual(await store.summary(f), expectedSummary(rs, f));
  };

  it('serves pages and summaries that follow every upsert and load', async () => {
    await check(records, EFFUSION);
    await check(records, EFFUSION); // from the cache: still the reference's answer
    // Half of the images gain Effusion, the other half lose it.
    const changed = records.map((r, i) => ({
      ...r,
      findings:
        i % 2 === 0
          ? [...new Set([...r.findings, 'Effusion' as const])]
          : r.findings.filter((x) => x !== 'Effusion'),
      noFinding: i % 2 === 0 ? false : r.findings.filter((x) => x !== 'Effusion').length === 0,
    })) as ImageRecord[];
    await store.upsert(changed.map(toCohortRows));
    await check(changed, EFFUSION);
    await store.load(records.slice(0, 100).map(toCohortRows));
    await check(records.slice(0, 100), EFFUSION);
    await check(records.slice(0, 100), {});
  });
});
