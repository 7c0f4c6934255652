/**
 * The DuckDB cohort store against an independent in-memory evaluation (reference.ts), on the real NIH files
 * when NIH_DATA_DIR is set (else the synthetic dataset) and on hand-built records that cover unknown ages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import type { CohortFilter } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { BadRequestError } from '../../shared/http/errors.ts';
import { FINDINGS, type ImageRecord } from '../../shared/model/index.ts';
import { loadTestDataset } from './dataset.ts';
import { filterArb, HAND_PICKED } from './filters.ts';
import { handRecords } from './hand-records.ts';
import { expectedIds, expectedSummary } from './reference.ts';

const tokens = createPageTokens('test-secret-for-cohort-pages');

async function exportedIds(store: CohortStore, f: CohortFilter): Promise<string[]> {
  const ids: string[] = [];
  for await (const r of store.export(f)) ids.push(r.imageId);
  return ids;
}

/** Walks every page; returns the ids in the order served and the number of pages. */
async function walk(store: CohortStore, f: CohortFilter, pageSize: number) {
  const ids: string[] = [];
  let token: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await store.query(f, pageSize, token);
    pages++;
    assert.ok(page.images.length <= pageSize, 'a page never exceeds pageSize');
    ids.push(...page.images.map((i) => i.imageId));
    if (page.nextPageToken === null) break;
    assert.equal(page.images.length, pageSize, 'only the last page may be short');
    token = page.nextPageToken;
  }
  return { ids, pages };
}

function suite(name: string, getRecords: () => Promise<ImageRecord[]>, opts: { randomRuns: number }) {
  describe(name, () => {
    let records: ImageRecord[];
    let byId: Map<string, ImageRecord>;
    let store: CohortStore;

    before(async () => {
      records = await getRecords();
      byId = new Map(records.map((r) => [r.imageId, r]));
      store = await createDuckDbCohortStore({ tokens });
      const counts = await store.load(records.map(toCohortRows));
      assert.equal(counts.images, records.length);
    });
    after(() => store?.close());

    it('loads one row per image and one per reader label', async () => {
      const readers = records.reduce(
        (n, r) => n + r.expert.readers.reduce((m, x) => m + Object.keys(x.labels).length, 0),
        0,
      );
      assert.deepEqual(await store.stats(), { images: records.length, readers });
    });

    for (const [label, f] of HAND_PICKED) {
      it(`${label}: same image set, totals, first page and summary as the in-memory evaluation`, async () => {
        const want = expectedIds(records, f);
        assert.deepEqual(await exportedIds(store, f), want);
        const page = await store.query(f, 50);
        assert.equal(page.totalImages, want.length);
        assert.equal(page.totalPatients, new Set(want.map((id) => byId.get(id)!.patientId)).size);
        assert.deepEqual(
          page.images,
          want.slice(0, 50).map((id) => {
            const r = byId.get(id)!;
            return {
              imageId: r.imageId,
              patientId: r.patientId,
              followUp: r.followUp,
              patientAge: r.patientAge,
              patientSex: r.patientSex,
              viewPosition: r.viewPosition,
              split: r.split,
              findings: FINDINGS.filter((n) => r.findings.includes(n)),
            };
          }),
        );
        assert.deepEqual(await store.summary(f), expectedSummary(records, f));
      });
    }

    for (const [label, f] of HAND_PICKED.slice(0, 12)) {
      it(`${label}: walking every page yields each matching image exactly once, in order`, async () => {
        const want = expectedIds(records, f);
        const pageSize = Math.max(1, Math.ceil(want.length / 6));
        const { ids, pages } = await walk(store, f, pageSize);
        assert.deepEqual(ids, want);
        assert.equal(pages, Math.max(1, Math.ceil(want.length / pageSize)));
      });
    }

    it(`random filters (${opts.randomRuns} runs): same image set, summary and page walk`, async () => {
      const patientIds = [...new Set(records.map((r) => r.patientId))];
      await fc.assert(
        fc.asyncProperty(filterArb(patientIds), fc.integer({ min: 1, max: 400 }), async (f, size) => {
          const want = expectedIds(records, f);
          assert.deepEqual(await exportedIds(store, f), want);
          assert.deepEqual(await store.summary(f), expectedSummary(records, f));
          const pageSize = Math.max(size, Math.ceil(want.length / 5));
          assert.deepEqual((await walk(store, f, pageSize)).ids, want);
        }),
        { numRuns: opts.randomRuns, seed: 20260417 },
      );
    });

    it('rejects a tampered page token and one issued for another filter with 400', async () => {
      const f = HAND_PICKED.find(([n]) => n === 'everything')![1];
      const page = await store.query(f, 1);
      assert.ok(page.nextPageToken);
      const [payload, sig] = page.nextPageToken.split('.');
      const forged = `${Buffer.from(JSON.stringify({ v: 1, a: '00000001_000', f: 'x' })).toString('base64url')}.${sig}`;
      for (const bad of [`${payload}.${sig!.slice(0, -2)}AA`, forged, 'garbage', `${payload}.`]) {
        await assert.rejects(store.query(f, 1, bad), (e: unknown) => e instanceof BadRequestError);
      }
      await assert.rejects(
        store.query({ sex: ['F'] }, 1, page.nextPageToken),
        (e: unknown) => e instanceof BadRequestError && /different filter/.test(e.message),
      );
    });
  });
}

suite(
  'DuckDB store on the dataset (NIH_DATA_DIR or synthetic)',
  async () => (await loadTestDataset()).records,
  {
    randomRuns: 20,
  },
);
suite('DuckDB store on hand-built records', async () => handRecords(800), { randomRuns: 120 });

describe('DuckDB store upsert', () => {
  it('replaces an image row and its reader rows, touching nothing else', async () => {
    const recs = handRecords(50);
    const store = await createDuckDbCohortStore({ tokens });
    try {
      await store.load(recs.map(toCohortRows));
      const before = await store.stats();
      const target = recs.find((r) => r.expert.readers.length > 0)!;
      const changed: ImageRecord = {
        ...target,
        findings: ['Hernia'],
        expert: { ...target.expert, readers: target.expert.readers.slice(0, 1) },
      };
      const extra: ImageRecord = {
        ...recs[0]!,
        imageId: '99999999_000' as never,
        patientId: 99_999_999 as never,
      };
      const counts = await store.upsert([changed, extra].map(toCohortRows));
      assert.equal(counts.images, 2);
      const after = await store.stats();
      assert.equal(after.images, before.images + 1);
      const removedReaders = target.expert.readers
        .slice(1)
        .reduce((n, r) => n + Object.keys(r.labels).length, 0);
      const addedReaders = extra.expert.readers.reduce((n, r) => n + Object.keys(r.labels).length, 0);
      assert.equal(after.readers, before.readers - removedReaders + addedReaders);
      assert.deepEqual(
        await exportedIds(store, { findings: { all: ['Hernia'] } }),
        expectedIds([...recs.map((r) => (r.imageId === target.imageId ? changed : r)), extra], {
          findings: { all: ['Hernia'] },
        }),
      );
      await assert.rejects(store.upsert([changed, changed].map(toCohortRows)), /more than once/);
    } finally {
      await store.close();
    }
  });
});
