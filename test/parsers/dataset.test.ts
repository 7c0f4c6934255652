import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { type DatasetLoadResult, loadDatasetDir } from '../../shared/dataset/index.ts';
import { ImageRecordSchema } from '../../shared/model/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { nihDataDir } from '../helpers/env.ts';

/** The real files when NIH_DATA_DIR is set, else the synthetic ones: the same checks run on both. */
const real = nihDataDir();
const label = real ? 'real NIH files' : 'synthetic files';

/** Raw lines of a file, header included, read the simple way (whole file, zlib, split): not the parser. */
function rawLines(dir: string, name: string): string[] {
  const buf = readFileSync(join(dir, name));
  const text = (name.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
  return text.split(/\r?\n/).filter((l) => l !== '');
}

function tally(values: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

describe(`dataset loaded from the ${label}`, () => {
  let dir: string;
  let tmp: string | undefined;
  let loaded: DatasetLoadResult;

  before(async () => {
    if (real) dir = real;
    else {
      tmp = await mkdtemp(join(tmpdir(), 'nih-synthetic-'));
      await writeSyntheticDataset(tmp, { seed: 7 });
      dir = tmp;
    }
    loaded = await loadDatasetDir(dir);
  });
  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('finds every file, each parsing with zero rejected rows', () => {
    assert.deepEqual(loaded.skipped, []);
    assert.deepEqual(loaded.files.map((f) => f.kind).sort(), [
      'all_findings_labels',
      'all_findings_readers',
      'bounding_boxes',
      'four_findings_labels',
      'four_findings_labels',
      'four_findings_labels',
      'four_findings_readers',
      'image_list',
      'image_list',
      'metadata_2017',
      'metadata_v2020',
    ]);
    for (const f of loaded.files) assert.deepEqual(f.rejected, [], f.path);
  });

  it('parses one row per data line of every file', () => {
    for (const f of loaded.files) {
      const raw = rawLines(dir, f.path).length - (f.kind === 'image_list' ? 0 : 1);
      const skipped = f.warnings.filter((w) => /row skipped/.test(w.reason)).length;
      assert.equal(f.rows + skipped, raw, f.path);
    }
  });

  it('counts images, patients, findings, views, sexes and splits as a raw count of the CSV does', () => {
    const rows = rawLines(dir, 'Data_Entry_2017_v2020.csv.gz')
      .slice(1)
      .map((l) => l.split(','));
    const recs = loaded.records;
    assert.equal(recs.length, rows.length);
    assert.equal(new Set(recs.map((r) => r.patientId)).size, new Set(rows.map((r) => r[3])).size);
    assert.deepEqual(
      tally(recs.flatMap((r) => (r.findings.length === 0 ? ['No Finding'] : r.findings))),
      tally(rows.flatMap((r) => r[1]!.split('|'))),
    );
    assert.deepEqual(tally(recs.map((r) => r.viewPosition)), tally(rows.map((r) => r[6]!)));
    assert.deepEqual(tally(recs.map((r) => r.patientSex)), tally(rows.map((r) => r[5]!)));
    assert.deepEqual(tally(recs.map((r) => r.split)), {
      train_val: rawLines(dir, 'train_val_list.txt').length,
      test: rawLines(dir, 'test_list.txt').length,
    });
    assert.equal(
      recs.reduce((n, r) => n + r.boundingBoxes.length, 0),
      rawLines(dir, 'BBox_List_2017.csv.gz').length - 1,
    );
  });

  it('counts expert labels and reader rows as a raw count does', () => {
    const fourRows = rawLines(dir, 'four_findings_expert_labels/individual_readers.csv').length - 1;
    const allRows = rawLines(dir, 'all_findings_expert_labels/test_individual_readers.csv').length - 1;
    const parsed = (p: string) => loaded.files.find((f) => f.path === p)!.rows;
    assert.equal(parsed('four_findings_expert_labels/individual_readers.csv'), fourRows);
    assert.equal(parsed('all_findings_expert_labels/test_individual_readers.csv'), allRows);
    const readers = loaded.records.flatMap((r) => r.expert.readers);
    const conflicts = loaded.problems.filter((p) => /labelled the image twice/.test(p.reason)).length;
    // Repeated (image, reader) rows merge into one entry; the conflicting ones are problems.
    assert.ok(readers.filter((r) => r.study === 'fourFindings').length + conflicts <= fourRows);
    assert.equal(readers.filter((r) => r.study === 'allFindings').length, allRows);
    const setOf = (name: string) =>
      tally(
        rawLines(dir, `four_findings_expert_labels/${name}`)
          .slice(1)
          .map((l) => l.split(',').at(-1)!),
      );
    const sets = tally(
      loaded.records.flatMap((r) => (r.expert.fourFindings ? [r.expert.fourFindings.set] : [])),
    );
    assert.deepEqual(sets, {
      test: setOf('test_labels.csv').test,
      validation: setOf('validation_labels.csv').val,
    });
    assert.equal(
      loaded.records.filter((r) => r.expert.allFindings).length,
      rawLines(dir, 'all_findings_expert_labels/test_labels.csv').length - 1,
    );
  });

  it('reports the 2017 vs v2020 differences, including every impossible 2017 age', () => {
    const y2017 = loaded.files.find((f) => f.kind === 'metadata_2017')!;
    const impossible = y2017.warnings.filter((w) => /impossible age/.test(w.reason)).length;
    assert.ok(impossible > 0);
    const fields = tally(loaded.differences.map((d) => d.field));
    assert.ok((fields.patientAge ?? 0) > 0 && (fields.followUp ?? 0) > 0 && (fields.findings ?? 0) > 0);
    assert.equal(
      loaded.differences.filter((d) => d.field === 'patientAge' && d.v2017 === null).length,
      impossible,
    );
  });

  it('produces records that all satisfy ImageRecordSchema', () => {
    for (const r of loaded.records) {
      const parsed = ImageRecordSchema.safeParse(r);
      assert.ok(parsed.success, `${r.imageId}: ${parsed.error?.message}`);
    }
  });

  it('only reports the known problems', () => {
    // Both the real and the synthetic reader files have readers who labelled an image twice, differently.
    assert.ok(loaded.problems.length > 0);
    for (const p of loaded.problems) assert.match(p.reason, /labelled the image twice, differently/);
  });

  it('matches the documented counts of the real files', { skip: !real && 'NIH_DATA_DIR is unset' }, () => {
    const recs = loaded.records;
    assert.equal(recs.length, 112_120);
    assert.equal(new Set(recs.map((r) => r.patientId)).size, 30_805);
    const rows = (p: string) => loaded.files.find((f) => f.path === p)!.rows;
    assert.equal(rows('four_findings_expert_labels/individual_readers.csv'), 13_081);
    assert.equal(rows('all_findings_expert_labels/test_individual_readers.csv'), 4_050);
    assert.equal(recs.filter((r) => r.expert.allFindings).length, 810);
    // The Google README says 2,412 validation images; validation_labels.csv has 2,414 distinct ones.
    const sets = tally(recs.flatMap((r) => (r.expert.fourFindings ? [r.expert.fourFindings.set] : [])));
    assert.deepEqual(sets, { test: 1_962, validation: 2_414 });
    // Four (image, reader) pairs appear twice with different labels in individual_readers.csv.
    assert.equal(loaded.problems.length, 4);
    assert.equal(
      recs.flatMap((r) => r.expert.readers).filter((r) => r.study === 'fourFindings').length,
      13_077,
    );
  });
});
