import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { type DatasetLoadResult, loadDatasetDir } from '../../shared/dataset/index.ts';
import {
  AllFindingsLabelsSchema,
  BoundingBoxSchema,
  FINDINGS,
  FourFindingsLabelsSchema,
  ImageMetadataSchema,
  ReaderLabelsSchema,
} from '../../shared/model/index.ts';
import { type ParsedRow, parseFile } from '../../shared/parsers/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { GROUND_TRUTH_READERS } from '../../shared/sample/synthetic-labels.ts';

const FILES = [
  'BBox_List_2017.csv.gz',
  'Data_Entry_2017.csv.gz',
  'Data_Entry_2017_v2020.csv.gz',
  'all_findings_expert_labels/test_individual_readers.csv',
  'all_findings_expert_labels/test_labels.csv',
  'four_findings_expert_labels/individual_readers.csv',
  'four_findings_expert_labels/test_labels.csv',
  'four_findings_expert_labels/validation_labels.csv',
  'google2019_nih-chest-xray-labels.csv.gz',
  'test_list.txt',
  'train_val_list.txt',
];

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** Every parsed row checked against the zod schemas that the hand-written checks stand in for. */
function assertRowMatchesSchemas(row: ParsedRow): void {
  switch (row.kind) {
    case 'metadata_v2020':
    case 'metadata_2017':
      assert.deepEqual(ImageMetadataSchema.parse(row.metadata), row.metadata);
      return;
    case 'four_findings_labels':
      assert.deepEqual(ImageMetadataSchema.parse(row.metadata), row.metadata);
      assert.deepEqual(FourFindingsLabelsSchema.parse(row.fourFindings), row.fourFindings);
      return;
    case 'bounding_boxes':
      assert.deepEqual(BoundingBoxSchema.parse(row.box), row.box);
      return;
    case 'all_findings_labels':
      assert.deepEqual(AllFindingsLabelsSchema.parse(row.allFindings), row.allFindings);
      return;
    case 'four_findings_readers':
    case 'all_findings_readers':
      assert.deepEqual(ReaderLabelsSchema.parse(row.reader), row.reader);
      return;
    case 'image_list':
      return;
  }
}

describe('the synthetic dataset', () => {
  let a: string;
  let b: string;
  let c: string;
  let loaded: DatasetLoadResult;
  before(async () => {
    const dirs = await Promise.all([1, 2, 3].map(() => mkdtemp(join(tmpdir(), 'nih-syn-'))));
    [a, b, c] = [dirs[0]!, dirs[1]!, dirs[2]!];
    await writeSyntheticDataset(a, { seed: 42 });
    await writeSyntheticDataset(b, { seed: 42 });
    await writeSyntheticDataset(c, { seed: 43, images: 500 });
    loaded = await loadDatasetDir(a);
  });
  after(() => Promise.all([a, b, c].map((d) => rm(d, { recursive: true, force: true }))));

  it('has exactly the real files names', () => {
    assert.deepEqual(listFiles(a), FILES);
  });

  it('is byte-identical for a seed and differs for another', () => {
    for (const f of FILES) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f);
    assert.ok(!readFileSync(join(a, FILES[1]!)).equals(readFileSync(join(c, FILES[1]!))));
    assert.equal(loaded.records.length, 300);
  });

  it('is gzipped, CRLF and newline-terminated exactly where the real files are', () => {
    const expect: Record<string, { gzip: boolean; crlf: boolean; final: boolean }> = {
      'BBox_List_2017.csv.gz': { gzip: true, crlf: false, final: true },
      'Data_Entry_2017.csv.gz': { gzip: true, crlf: true, final: true },
      'Data_Entry_2017_v2020.csv.gz': { gzip: true, crlf: false, final: true },
      'all_findings_expert_labels/test_individual_readers.csv': { gzip: false, crlf: false, final: true },
      'all_findings_expert_labels/test_labels.csv': { gzip: false, crlf: false, final: true },
      'four_findings_expert_labels/individual_readers.csv': { gzip: false, crlf: true, final: true },
      'four_findings_expert_labels/test_labels.csv': { gzip: false, crlf: true, final: true },
      'four_findings_expert_labels/validation_labels.csv': { gzip: false, crlf: true, final: true },
      'google2019_nih-chest-xray-labels.csv.gz': { gzip: true, crlf: true, final: false },
      'test_list.txt': { gzip: false, crlf: false, final: false },
      'train_val_list.txt': { gzip: false, crlf: false, final: false },
    };
    for (const [f, e] of Object.entries(expect)) {
      const raw = readFileSync(join(a, f));
      assert.equal(raw[0] === 0x1f && raw[1] === 0x8b, e.gzip, `${f} gzip`);
      const text = (e.gzip ? gunzipSync(raw) : raw).toString('utf8');
      assert.equal(text.includes('\r\n'), e.crlf, `${f} CRLF`);
      const lf = text.split('\n').length - 1;
      assert.equal(text.split('\r\n').length - 1, e.crlf ? lf : 0, `${f}: one kind of line ending`);
      assert.equal(text.endsWith('\n'), e.final, `${f} final newline`);
    }
  });

  it('parses into rows that satisfy the zod schemas, with no rejection', async () => {
    for (const f of FILES) {
      const split = f === 'test_list.txt' ? 'test' : 'train_val';
      const p = await parseFile(join(a, f), { split });
      assert.deepEqual(p.rejected, [], f);
      assert.ok(p.rows.length > 0, f);
      for (const row of p.rows) assertRowMatchesSchemas(row);
    }
  });

  it('exercises every quirk of the real files', async () => {
    const y2017 = gunzipSync(readFileSync(join(a, 'Data_Entry_2017.csv.gz'))).toString();
    assert.match(y2017, /,\d{3}M,/, 'ages in months');
    assert.match(y2017, /,\d{3}D,/, 'ages in days');
    assert.match(y2017, /,00000001,/, 'zero-padded patient ids');
    assert.match(y2017, /OriginalImagePixelSpacing\[x,y\],\r\n/, 'the trailing comma of the 2017 header');
    const v2020 = gunzipSync(readFileSync(join(a, 'Data_Entry_2017_v2020.csv.gz'))).toString();
    assert.match(v2020, /0\.14300000000000002/, 'float noise');
    const boxes = gunzipSync(readFileSync(join(a, 'BBox_List_2017.csv.gz'))).toString();
    assert.match(boxes, /^Image Index,Finding Label,Bbox \[x,y,w,h\],,,\n/);
    assert.match(boxes, /,Infiltrate,/);
    const readers = readFileSync(join(a, 'four_findings_expert_labels/individual_readers.csv'), 'utf8');
    assert.match(readers, /HEDGE/);
    const all = readFileSync(join(a, 'all_findings_expert_labels/test_individual_readers.csv'), 'utf8');
    assert.match(all.split('\n')[0]!, /Pleural Thickening/);
    assert.match(all.split('\n')[1]!, /^\d{8}_\d{3}\.png,\d+,\d+,[01],/, 'Abnormal as 1/0');

    const warnings = loaded.files.flatMap((f) => f.warnings.map((w) => `${f.kind}: ${w.reason}`));
    assert.ok(warnings.some((w) => /^metadata_2017: .*impossible age/.test(w)));
    assert.ok(warnings.some((w) => /^four_findings_labels: .*impossible age/.test(w)));
    const fields = new Set(loaded.differences.map((d) => d.field));
    for (const f of ['patientAge', 'followUp', 'findings']) assert.ok(fields.has(f as never), f);
    for (const f of FINDINGS)
      assert.ok(
        loaded.records.some((r) => r.findings.includes(f)),
        f,
      );
    assert.deepEqual(new Set(loaded.records.map((r) => r.split)), new Set(['train_val', 'test']));
    assert.ok(loaded.records.some((r) => r.expert.fourFindings?.set === 'validation'));
    assert.ok(loaded.records.some((r) => r.expert.fourFindings?.set === 'test'));
    // One conflicting repeated reader row; the identical one merged silently.
    assert.equal(loaded.problems.length, 1);
  });

  it('gives every all-findings image five readers and the majority of the ground-truth three', () => {
    const withAll = loaded.records.filter((r) => r.expert.allFindings);
    assert.ok(withAll.length >= 5);
    for (const r of withAll) {
      assert.equal(r.viewPosition, 'PA');
      assert.equal(r.expert.fourFindings?.set, 'test');
      const all = r.expert.readers.filter((x) => x.study === 'allFindings');
      assert.equal(all.length, 5);
      const gt = all.filter((x) => GROUND_TRUTH_READERS.includes(x.readerId));
      assert.equal(gt.length, 3);
      for (const f of FINDINGS) {
        const yes = gt.filter((x) => x.labels[f] === 'YES').length;
        assert.equal(r.expert.allFindings!.findings[f], yes >= 2, `${r.imageId} ${f}`);
      }
      assert.equal(r.expert.allFindings!.abnormal, gt.filter((x) => x.labels.abnormal === 'YES').length >= 2);
    }
  });
});
