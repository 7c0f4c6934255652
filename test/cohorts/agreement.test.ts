/**
 * Label quality on the embedded DuckDB store, checked against counts taken straight from the raw expert CSV
 * files (test/cohorts/raw-expert.ts: plain node, not our parsers): the real files when NIH_DATA_DIR is set,
 * else the synthetic set written to a temp folder in the same formats. Also POST /v1/cohorts:agreement
 * in-process, with its 400s.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createCohortsRoutes } from '../../functions/cohorts/routes.ts';
import type { AgreementQuery, AgreementResult } from '../../shared/cohorts/agreement.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import { createRouter } from '../../shared/http/router.ts';
import { createLogger } from '../../shared/log.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { nihDataDir } from '../helpers/env.ts';
import { type Cells, type RawExpert, readRawExpert, tally, valuesOf } from './raw-expert.ts';

const Z = 1.959963984540054;
const quiet = createLogger({}, () => {});
let dir: string;
let tmp: string | undefined;
let raw: RawExpert;
let store: CohortStore;

http(
  'cohorts-agreement-test',
  createRouter(createCohortsRoutes({ store: async () => store, logger: quiet }), { logger: quiet }),
);

before(async () => {
  const real = nihDataDir();
  if (real) dir = real;
  else {
    tmp = await mkdtemp(join(tmpdir(), 'cohorts-agreement-'));
    dir = tmp;
    await writeSyntheticDataset(dir, { images: 3000, seed: 14 });
  }
  raw = readRawExpert(dir);
  store = await createDuckDbCohortStore({ tokens: createPageTokens('agreement-test-secret-0123456789') });
  await store.load((await loadDatasetDir(dir)).records.map(toCohortRows));
});
after(async () => {
  await store?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const agree = (q: Omit<AgreementQuery, 'filter'> & { filter?: unknown }) =>
  store.agreement({ ...q, filter: CohortFilterSchema.parse(q.filter ?? {}) });
const cells = (): Cells => ({ tp: 0, fp: 0, fn: 0, tn: 0 });
const inMetadata = (id: string) => raw.nih.has(id);

/**
 * The statistics re-derived from a matrix, independently of shared/stats: proportions by definition, the
 * Wilson bounds as the two roots of (p - x/n)^2 = z^2 p (1 - p) / n (checked by substitution), kappa from
 * its definition.
 */
function assertProportion(
  got: { estimate: number | null; lower: number | null; upper: number | null },
  x: number,
  n: number,
  what: string,
) {
  if (n === 0) return assert.deepEqual(got, { estimate: null, lower: null, upper: null }, what);
  const p = x / n;
  assert.ok(Math.abs(got.estimate! - p) < 1e-12, `${what}: ${got.estimate} vs ${p}`);
  for (const b of [got.lower!, got.upper!]) {
    const residual = (b - p) ** 2 - (Z * Z * b * (1 - b)) / n;
    assert.ok(Math.abs(residual) < 1e-9, `${what}: bound ${b} is not a root (residual ${residual})`);
  }
  assert.ok(got.lower! <= p && p <= got.upper!, `${what}: ${p} inside [${got.lower}, ${got.upper}]`);
  if (x > 0 && x < n) assert.ok(got.lower! > 0 && got.upper! < 1, `${what}: interior bounds`);
}

function assertKappa(got: { estimate: number | null }, m: Cells, what: string) {
  const n = m.tp + m.fp + m.fn + m.tn;
  const po = (m.tp + m.tn) / n;
  const pe = ((m.tp + m.fp) * (m.tp + m.fn) + (m.fn + m.tn) * (m.fp + m.tn)) / (n * n);
  const want = (po - pe) / (1 - pe);
  assert.ok(Math.abs(got.estimate! - want) < 1e-9, `${what}: kappa ${got.estimate} vs ${want}`);
}

function assertNih(got: AgreementResult, m: Cells, images: number, what: string) {
  assert.equal(got.compare, 'nih');
  if (got.compare !== 'nih') return;
  assert.deepEqual(got.matrix, m, `${what}: matrix`);
  assert.equal(got.images, images, `${what}: images`);
  assertProportion(got.sensitivity, m.tp, m.tp + m.fn, `${what} sensitivity`);
  assertProportion(got.specificity, m.tn, m.tn + m.fp, `${what} specificity`);
  assertProportion(got.ppv, m.tp, m.tp + m.fp, `${what} ppv`);
  assertProportion(got.npv, m.tn, m.tn + m.fn, `${what} npv`);
  assertKappa(got.kappa, m, what);
}

describe('agreement vs the raw CSV files', () => {
  for (const set of ['test', 'all'] as const) {
    it(`NIH Pneumothorax vs four-findings pneumothorax (${set}): matrix and statistics`, async () => {
      const m = cells();
      let images = 0;
      for (const [id, f] of raw.four) {
        if (!inMetadata(id) || (set === 'test' && f.set !== 'test')) continue;
        images++;
        tally(m, raw.nih.get(id)!.includes('Pneumothorax'), f.labels.pneumothorax!);
      }
      assert.ok(m.tp > 0 && m.fp + m.fn > 0, `a matrix worth checking: ${JSON.stringify(m)}`);
      const filter = set === 'test' ? { expert: { fourFindings: { set: ['test'] } } } : {};
      const got = await agree({ filter, finding: 'pneumothorax', reference: 'fourFindings', compare: 'nih' });
      assertNih(got, m, images, `pneumothorax ${set}`);
    });
  }

  for (const finding of ['Mass', 'Effusion'] as const) {
    it(`NIH ${finding} vs all-findings ${finding}: matrix and statistics`, async () => {
      const m = cells();
      let images = 0;
      for (const [id, truth] of raw.all) {
        if (!inMetadata(id)) continue;
        images++;
        tally(m, raw.nih.get(id)!.includes(finding), truth[finding]!);
      }
      const got = await agree({ finding, reference: 'allFindings', compare: 'nih' });
      assertNih(got, m, images, finding);
    });
  }

  it('noduleOrMass counts NIH Nodule or Mass; abnormal is "not No Finding"', async () => {
    const nm = cells();
    for (const [id, f] of raw.four) {
      const nih = raw.nih.get(id);
      if (nih) tally(nm, nih.includes('Nodule') || nih.includes('Mass'), f.labels.noduleOrMass!);
    }
    const ab = cells();
    for (const [id, truth] of raw.all) {
      const nih = raw.nih.get(id);
      if (nih) tally(ab, nih.length > 0, truth.abnormal!);
    }
    const a = await agree({ finding: 'noduleOrMass', reference: 'fourFindings', compare: 'nih' });
    const b = await agree({ finding: 'abnormal', reference: 'allFindings', compare: 'nih' });
    assert.deepEqual(a.compare === 'nih' && a.matrix, nm);
    assert.deepEqual(b.compare === 'nih' && b.matrix, ab);
  });

  /** Per reader matrices (HEDGE apart) and Fleiss' kappa, from the raw reads of one label. */
  function expectedReaders(
    reads: Map<string, Map<string, Record<string, string>>>,
    truthOf: (id: string) => boolean | undefined,
    label: string,
  ) {
    const per = new Map<string, Cells & { images: number; hedged: number }>();
    let fleissImages = 0;
    let sumP = 0;
    const totals = { YES: 0, NO: 0, HEDGE: 0 };
    for (const [id, byReader] of reads) {
      const truth = truthOf(id);
      if (truth === undefined || !inMetadata(id)) continue;
      for (const [reader, labels] of byReader) {
        const r = per.get(reader) ?? { tp: 0, fp: 0, fn: 0, tn: 0, images: 0, hedged: 0 };
        per.set(reader, r);
        r.images++;
        const v = labels[label];
        if (v === 'HEDGE') r.hedged++;
        else tally(r, v === 'YES', truth);
      }
      const vs = valuesOf(byReader as never, label);
      if (vs.length < 2) continue;
      fleissImages++;
      const n = vs.length;
      let sq = 0;
      for (const c of ['YES', 'NO', 'HEDGE'] as const) {
        const k = vs.filter((v) => v === c).length;
        totals[c] += k;
        sq += k * k;
      }
      sumP += (sq - n) / (n * (n - 1));
    }
    const all = totals.YES + totals.NO + totals.HEDGE;
    const pe = (['YES', 'NO', 'HEDGE'] as const).reduce((a, c) => a + (totals[c] / all) ** 2, 0);
    const fleiss = (sumP / fleissImages - pe) / (1 - pe);
    return { per, fleiss, fleissImages, totals };
  }

  it("each reader's matrix for abnormal (all findings), and Fleiss' kappa of the five readers", async () => {
    const want = expectedReaders(raw.allReads, (id) => raw.all.get(id)?.abnormal, 'abnormal');
    const got = await agree({ finding: 'abnormal', reference: 'allFindings', compare: 'readers' });
    assert.equal(got.compare, 'readers');
    if (got.compare !== 'readers') return;
    assert.deepEqual(
      got.readers.map((r) => r.readerId),
      [...want.per.keys()].sort(),
    );
    assert.equal(got.readers.length, 5);
    for (const r of got.readers) {
      const w = want.per.get(r.readerId)!;
      assert.deepEqual(r.matrix, { tp: w.tp, fp: w.fp, fn: w.fn, tn: w.tn }, `reader ${r.readerId}`);
      assert.equal(r.images, w.images);
      assert.equal(r.hedged, 0);
      assertProportion(r.sensitivity, w.tp, w.tp + w.fn, `reader ${r.readerId} sensitivity`);
      assertProportion(r.specificity, w.tn, w.tn + w.fp, `reader ${r.readerId} specificity`);
      assertKappa(r.kappa, w, `reader ${r.readerId}`);
    }
    assert.equal(got.fleiss.images, want.fleissImages);
    assert.deepEqual(got.fleiss.reads, want.totals);
    assert.ok(
      Math.abs(got.fleiss.kappa! - want.fleiss) < 1e-9,
      `fleiss ${got.fleiss.kappa} vs ${want.fleiss}`,
    );
  });

  it("each reader's matrix for pneumothorax (four findings): HEDGE reads reported apart, Fleiss with three categories", async () => {
    const want = expectedReaders(
      raw.fourReads,
      (id) => raw.four.get(id)?.labels.pneumothorax,
      'pneumothorax',
    );
    const got = await agree({ finding: 'pneumothorax', reference: 'fourFindings', compare: 'readers' });
    if (got.compare !== 'readers') return assert.fail('readers answer');
    assert.equal(got.readers.length, want.per.size);
    for (const r of got.readers) {
      const w = want.per.get(r.readerId)!;
      assert.deepEqual(
        [r.matrix, r.images, r.hedged],
        [{ tp: w.tp, fp: w.fp, fn: w.fn, tn: w.tn }, w.images, w.hedged],
        `reader ${r.readerId}`,
      );
    }
    assert.ok(want.totals.HEDGE > 0, 'the data has HEDGE reads');
    assert.deepEqual(got.fleiss.reads, want.totals);
    assert.ok(Math.abs(got.fleiss.kappa! - want.fleiss) < 1e-9);
  });
});

describe('disputed and hedged images vs the raw CSV files', () => {
  const FOUR = ['fracture', 'pneumothorax', 'airspaceOpacity', 'noduleOrMass'] as const;
  /** Images with reads and the study's adjudicated labels (the images the filters can select). */
  const count =
    (reads: RawExpert['fourReads'], labelled: Map<string, unknown>, test: (vs: string[]) => boolean) =>
    (label: string) =>
      [...reads].filter(([id, r]) => inMetadata(id) && labelled.has(id) && test(valuesOf(r, label))).length;
  const disputed = (vs: string[]) => new Set(vs).size > 1;
  const hedged = (vs: string[]) => vs.includes('HEDGE');

  it('summary: disputed and hedged counts per four-findings label, disputed per all-findings label', async () => {
    const s = await store.summary({});
    for (const l of FOUR) {
      const [d, h] = [count(raw.fourReads, raw.four, disputed)(l), count(raw.fourReads, raw.four, hedged)(l)];
      assert.equal(s.expert.fourFindings.disputed[l], d, `disputed ${l}`);
      assert.equal(s.expert.fourFindings.hedged[l], h, `hedged ${l}`);
    }
    for (const l of Object.keys(s.expert.allFindings.disputed)) {
      const got = s.expert.allFindings.disputed[l as keyof typeof s.expert.allFindings.disputed];
      assert.equal(got, count(raw.allReads, raw.all, disputed)(l), `all-findings disputed ${l}`);
    }
    assert.ok(
      s.expert.fourFindings.hedged.pneumothorax > 0 && s.expert.fourFindings.disputed.noduleOrMass > 0,
    );
  });

  it('filters: expert.fourFindings.disputed / hedged select exactly those images', async () => {
    for (const l of FOUR) {
      const d = await store.query(
        CohortFilterSchema.parse({ expert: { fourFindings: { disputed: [l] } } }),
        1,
      );
      const fourDisputed = [...raw.fourReads].filter(
        ([id, r]) => inMetadata(id) && raw.four.has(id) && disputed(valuesOf(r, l)),
      ).length;
      assert.equal(d.totalImages, fourDisputed, `disputed ${l}`);
      const h = await store.query(CohortFilterSchema.parse({ expert: { fourFindings: { hedged: [l] } } }), 1);
      const fourHedged = [...raw.fourReads].filter(
        ([id, r]) => inMetadata(id) && raw.four.has(id) && hedged(valuesOf(r, l)),
      ).length;
      assert.equal(h.totalImages, fourHedged, `hedged ${l}`);
    }
  });

  it("expert.reader selects the images of one reader's read", async () => {
    const [reader] = [...raw.allReads.values().next().value!.keys()];
    const want = [...raw.allReads].filter(([id, r]) => inMetadata(id) && r.get(reader!)?.Effusion === 'YES');
    const got = await store.query(
      CohortFilterSchema.parse({ expert: { reader: { id: reader, finding: 'Effusion', value: 'YES' } } }),
      1000,
    );
    assert.deepEqual(
      got.images.map((i) => i.imageId),
      want.map(([id]) => id).sort(),
    );
  });
});

describe('POST /v1/cohorts:agreement', () => {
  const post = (body: unknown) =>
    request(getTestServer('cohorts-agreement-test'))
      .post('/v1/cohorts:agreement')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(body));

  it('answers the statistics of the store for a filtered cohort', async () => {
    const body = { filter: { sex: ['F'] }, finding: 'Effusion', reference: 'allFindings', compare: 'nih' };
    const res = await post(body).expect(200);
    assert.deepEqual(res.body, await agree(body as never));
    assert.ok(res.body.images > 0);
  });

  const bad: [string, unknown, RegExp][] = [
    [
      'fracture has no NIH counterpart',
      { finding: 'fracture', reference: 'fourFindings', compare: 'nih' },
      /fracture has no NIH counterpart/,
    ],
    [
      'other has no NIH counterpart',
      { finding: 'other', reference: 'allFindings', compare: 'nih' },
      /no NIH counterpart/,
    ],
    [
      'a four-findings key with allFindings',
      { finding: 'pneumothorax', reference: 'allFindings', compare: 'readers' },
      /not an all-findings label/,
    ],
    [
      'an NIH name with fourFindings',
      { finding: 'Mass', reference: 'fourFindings', compare: 'nih' },
      /not a four-findings label/,
    ],
    [
      'an unknown finding',
      { finding: 'Fracture', reference: 'fourFindings', compare: 'nih' },
      /Invalid body.finding/,
    ],
    ['a missing compare', { finding: 'Mass', reference: 'allFindings' }, /body.compare/],
    [
      'a bad reader filter',
      {
        filter: { expert: { reader: { id: 'x', finding: 'Mass', value: 'YES' } } },
        finding: 'Mass',
        reference: 'allFindings',
        compare: 'nih',
      },
      /body.filter.expert.reader.id/,
    ],
  ];
  for (const [name, body, detail] of bad) {
    it(`400 problem+json naming the field: ${name}`, async () => {
      const res = await post(body);
      assert.equal(res.status, 400, res.text);
      assert.match(res.headers['content-type'] ?? '', /application\/problem\+json/);
      assert.match(res.text, detail);
      assert.ok(res.body.errors.length > 0, res.text);
    });
  }
});
