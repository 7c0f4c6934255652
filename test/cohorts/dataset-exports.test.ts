/**
 * Export formats for ML on the DuckDB store, checked against oracles the code does not produce: nih-csv
 * against the original metadata files' own lines (both layouts), Parquet read back by DuckDB's read_parquet
 * against the loaded records, the expert label columns against the records' labels, and the part column of a
 * split against the in-memory reference. Real NIH files when NIH_DATA_DIR is set, else the synthetic sample.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { CohortOptions, SplitSpec } from '../../shared/cohorts/dataset-options.ts';
import { createDuckDbCohortStore } from '../../shared/cohorts/duckdb-store.ts';
import { CSV_COLUMNS, type ExportFormat, exportChunks } from '../../shared/cohorts/export-writer.ts';
import { type CohortFilter, CohortFilterSchema } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { toCohortRows } from '../../shared/cohorts/rows.ts';
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import { attribution, FINDINGS, type ImageRecord } from '../../shared/model/index.ts';
import { type DatasetFixture, datasetFixture, rawMetadataLines } from './dataset-fixture.ts';
import { expectedCohort, splitPatients } from './dataset-reference.ts';

const tokens = createPageTokens('dataset-exports-test-secret');

async function exportBytes(
  store: CohortStore,
  f: CohortFilter,
  o: CohortOptions,
  format: ExportFormat,
  nihLayout?: 'v2020' | '2017',
): Promise<Buffer> {
  const parts: Buffer[] = [];
  const chunks = exportChunks(store.export(f, o), {
    format,
    urls: 'gs',
    imageFormat: 'png',
    expiresInSeconds: 0,
    nihLayout,
    part: o.split !== undefined,
  });
  for await (const c of chunks) parts.push(typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c));
  return Buffer.concat(parts);
}

/** Lines of a text export (its line ending given), the last empty one dropped. */
const linesOf = (b: Buffer, eol = '\n') => {
  const ls = b.toString('utf8').split(eol);
  assert.equal(ls.pop(), '', 'the export ends with a line ending');
  return ls;
};

async function withDuckDb<T>(fn: (run: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>) {
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  try {
    return await fn(
      async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[],
    );
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

/** The two expert label sets of a record, as every export but nih-csv carries them. */
function labelsOf(r: ImageRecord) {
  const ff = r.expert.fourFindings;
  const af = r.expert.allFindings;
  return {
    fourFindings: ff
      ? {
          set: ff.set,
          fracture: ff.fracture,
          pneumothorax: ff.pneumothorax,
          airspaceOpacity: ff.airspaceOpacity,
          noduleOrMass: ff.noduleOrMass,
        }
      : null,
    allFindings: af
      ? { abnormal: af.abnormal, other: af.other, findings: FINDINGS.filter((n) => af.findings[n]) }
      : null,
  };
}

describe('dataset exports (nih-csv, parquet, labels, parts)', () => {
  let fx: DatasetFixture;
  let store: CohortStore;
  let tmp: string;
  let byId: Map<string, ImageRecord>;
  before(async () => {
    fx = await datasetFixture();
    byId = new Map(fx.records.map((r) => [r.imageId as string, r]));
    store = await createDuckDbCohortStore({ tokens });
    await store.load(fx.records.map(toCohortRows));
    tmp = await mkdtemp(join(tmpdir(), 'cohorts-exports-'));
  });
  after(async () => {
    await store?.close();
    await fx?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('nih-csv of 1,000 sampled images: header and every field equal to the original v2020 lines', async (t) => {
    const { lines, eol } = rawMetadataLines(fx.dir, 'v2020');
    const original = new Map(lines.slice(1).map((l) => [l.slice(0, 12), l]));
    const out = linesOf(
      await exportBytes(store, {}, { sample: { size: 1000, seed: 'nih-csv' } }, 'nih-csv'),
      eol,
    );
    assert.equal(out[0], lines[0], 'the header, byte for byte');
    assert.equal(out.length, 1001);
    let fields = 0;
    for (const line of out.slice(1)) {
      const want = original.get(line.slice(0, 12));
      assert.ok(want, `${line.slice(0, 12)} is in the original file`);
      const [got, exp] = [line.split(','), want.split(',')];
      assert.equal(got.length, exp.length, line);
      got.forEach((v, i) => {
        assert.equal(v, exp[i], `${line.slice(0, 12)} field ${i} (${lines[0]!.split(',')[i]})`);
        fields++;
      });
    }
    t.diagnostic(`${fx.source}: 1,000 images, ${fields} fields equal to Data_Entry_2017_v2020.csv`);
  });

  it('nih-csv of the whole dataset has exactly the lines of Data_Entry_2017_v2020.csv, byte for byte', async () => {
    const { lines, eol } = rawMetadataLines(fx.dir, 'v2020');
    const text = (await exportBytes(store, {}, {}, 'nih-csv')).toString('utf8');
    assert.ok(!/^#/m.test(text), 'no comment lines');
    assert.ok(text.endsWith(eol) && !text.includes('\r'), 'LF line endings, the last line ended');
    const out = text.split(eol).slice(0, -1);
    assert.equal(out[0], lines[0]);
    // The file lists some patients' images in follow-up order; the export is in imageId order.
    const sorted = (xs: string[]) => [...xs].sort();
    assert.deepEqual(sorted(out.slice(1)), sorted(lines.slice(1)));
    assert.deepEqual(out.slice(1), sorted(out.slice(1)), 'ordered by imageId');
  });

  it('nih-csv in the 2017 layout equals Data_Entry_2017.csv except the ages the store keeps in years', async (t) => {
    const records2017 = (await loadDatasetDir(fx.dir, { metadata: '2017' })).records;
    const s2017 = await createDuckDbCohortStore({ tokens });
    try {
      await s2017.load(records2017.map(toCohortRows));
      const { lines, eol } = rawMetadataLines(fx.dir, '2017');
      assert.equal(eol, '\r\n');
      const out = linesOf(await exportBytes(s2017, {}, {}, 'nih-csv', '2017'), '\r\n');
      assert.equal(out[0], lines[0], 'the 2017 header, trailing comma included');
      assert.equal(out.length, lines.length);
      let ageOnly = 0;
      for (let i = 1; i < lines.length; i++) {
        if (out[i] === lines[i]) continue;
        const [got, exp] = [out[i]!.split(','), lines[i]!.split(',')];
        const differing = exp.map((v, k) => (v === got[k] ? -1 : k)).filter((k) => k >= 0);
        assert.deepEqual(differing, [4], `${exp[0]}: only Patient Age may differ`);
        // Months, days, or an impossible age the loader keeps as unknown.
        assert.match(exp[4]!, /^\d{3}[MD]$|^(1[2-9]\d|[2-9]\d\d)Y$/, `${exp[0]} age ${exp[4]}`);
        ageOnly++;
      }
      t.diagnostic(
        `${fx.source}: ${lines.length - 1 - ageOnly} of ${lines.length - 1} 2017 lines identical; ${ageOnly} differ in the age only`,
      );
    } finally {
      await s2017.close();
    }
  });

  it('Parquet of the whole dataset, read back by DuckDB read_parquet, equals the cohort', async (t) => {
    const file = join(tmp, 'all.parquet');
    await writeFile(file, await exportBytes(store, {}, {}, 'parquet'));
    await withDuckDb(async (run) => {
      const types = Object.fromEntries(
        (await run(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).map((r) => [
          r.column_name,
          r.column_type,
        ]),
      );
      assert.deepEqual(types, {
        imageId: 'VARCHAR',
        patientId: 'INTEGER',
        followUp: 'INTEGER',
        patientAge: 'INTEGER',
        patientSex: 'VARCHAR',
        viewPosition: 'VARCHAR',
        split: 'VARCHAR',
        findings: 'VARCHAR[]',
        hasBoundingBox: 'BOOLEAN',
        url: 'VARCHAR',
        urlExpiresAt: 'VARCHAR',
        ffSet: 'VARCHAR',
        ffFracture: 'BOOLEAN',
        ffPneumothorax: 'BOOLEAN',
        ffAirspaceOpacity: 'BOOLEAN',
        ffNoduleOrMass: 'BOOLEAN',
        afAbnormal: 'BOOLEAN',
        afOther: 'BOOLEAN',
        afFindings: 'VARCHAR[]',
      });
      const rows = await run(`SELECT * FROM read_parquet('${file}')`);
      assert.equal(rows.length, fx.records.length);
      const sorted = [...fx.records].sort((a, b) => (a.imageId < b.imageId ? -1 : 1));
      rows.forEach((row, i) => {
        const r = sorted[i]!;
        const l = labelsOf(r);
        assert.deepEqual(row, {
          imageId: r.imageId,
          patientId: r.patientId,
          followUp: r.followUp,
          patientAge: r.patientAge,
          patientSex: r.patientSex,
          viewPosition: r.viewPosition,
          split: r.split,
          findings: FINDINGS.filter((n) => r.findings.includes(n)),
          hasBoundingBox: r.boundingBoxes.length > 0,
          url: `gs://gcs-public-data--healthcare-nih-chest-xray/png/${r.imageId}.png`,
          urlExpiresAt: null,
          ffSet: l.fourFindings?.set ?? null,
          ffFracture: l.fourFindings?.fracture ?? null,
          ffPneumothorax: l.fourFindings?.pneumothorax ?? null,
          ffAirspaceOpacity: l.fourFindings?.airspaceOpacity ?? null,
          ffNoduleOrMass: l.fourFindings?.noduleOrMass ?? null,
          afAbnormal: l.allFindings?.abnormal ?? null,
          afOther: l.allFindings?.other ?? null,
          afFindings: l.allFindings?.findings ?? null,
        });
      });
      const kv = await run(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${file}')`);
      assert.deepEqual(JSON.parse(String(kv.find((x) => x.k === 'attribution')?.v)), attribution());
      const groups = await run(`SELECT DISTINCT row_group_id FROM parquet_metadata('${file}')`);
      assert.equal(groups.length, Math.ceil(fx.records.length / 10_000), 'one row group per 10,000 rows');
      t.diagnostic(
        `${fx.source}: ${rows.length} rows and ${groups.length} row groups read back, equal to the records`,
      );
    });
  });

  it('csv and ndjson carry both expert label sets as columns, empty where an image has none', async () => {
    const ndjson = linesOf(await exportBytes(store, {}, {}, 'ndjson'))
      .slice(1)
      .map((l) => JSON.parse(l));
    assert.equal(ndjson.length, fx.records.length);
    let labelled = 0;
    for (const row of ndjson) {
      const l = labelsOf(byId.get(row.imageId)!);
      assert.deepEqual({ fourFindings: row.fourFindings, allFindings: row.allFindings }, l, row.imageId);
      assert.equal(row.nih, undefined, 'the NIH layout fields stay out of ndjson');
      if (l.fourFindings || l.allFindings) labelled++;
    }
    assert.ok(labelled > 0);
    const csv = linesOf(
      await exportBytes(store, CohortFilterSchema.parse({ expert: { fourFindings: {} } }), {}, 'csv'),
    );
    const header = csv.find((l) => !l.startsWith('#'))!;
    assert.deepEqual(header.split(','), [...CSV_COLUMNS]);
    for (const line of csv.slice(csv.indexOf(header) + 1)) {
      const v = Object.fromEntries(header.split(',').map((h, i) => [h, line.split(',')[i]]));
      const l = labelsOf(byId.get(v.imageId!)!);
      const b = (x: boolean | undefined) => (x === undefined ? '' : String(x));
      assert.deepEqual(
        [
          v.ffSet,
          v.ffFracture,
          v.ffPneumothorax,
          v.ffAirspaceOpacity,
          v.ffNoduleOrMass,
          v.afAbnormal,
          v.afOther,
          v.afFindings,
        ],
        [
          l.fourFindings!.set,
          b(l.fourFindings?.fracture),
          b(l.fourFindings?.pneumothorax),
          b(l.fourFindings?.airspaceOpacity),
          b(l.fourFindings?.noduleOrMass),
          b(l.allFindings?.abnormal),
          b(l.allFindings?.other),
          l.allFindings ? l.allFindings.findings.join('|') : '',
        ],
        v.imageId,
      );
    }
  });

  it('export with split adds the reference part to every row, in every format', async () => {
    const f = CohortFilterSchema.parse({ findings: { any: ['Effusion'] } });
    const split: SplitSpec = { seed: 'parts', parts: { train: 0.8, test: 0.2 }, stratifyBy: ['sex'] };
    const o = { onePerPatient: 'firstFollowUp' as const, split };
    const cohort = expectedCohort(fx.records, f, o);
    const ref = splitPatients(cohort, split);
    const want = cohort.map((r) => [r.imageId, Object.keys(split.parts)[ref.get(r.patientId)!]]);
    const csv = linesOf(await exportBytes(store, f, o, 'csv')).filter((l) => !l.startsWith('#'));
    assert.equal(csv[0]!.split(',').at(-1), 'part');
    assert.deepEqual(
      csv.slice(1).map((l) => [l.split(',')[0], l.split(',').at(-1)]),
      want,
    );
    const nd = linesOf(await exportBytes(store, f, o, 'ndjson'))
      .slice(1)
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      nd.map((r) => [r.imageId, r.part]),
      want,
    );
    const nih = linesOf(await exportBytes(store, f, o, 'nih-csv'));
    assert.equal(nih[0]!.split(',').at(-1), 'part');
    assert.deepEqual(
      nih.slice(1).map((l) => [l.slice(0, 12), l.split(',').at(-1)]),
      want,
    );
    const file = join(tmp, 'split.parquet');
    await writeFile(file, await exportBytes(store, f, o, 'parquet'));
    await withDuckDb(async (run) => {
      const rows = await run(`SELECT imageId, part FROM read_parquet('${file}')`);
      assert.deepEqual(
        rows.map((r) => [r.imageId, r.part]),
        want,
      );
    });
  });
});
