/**
 * The real NIH and Google label files (NIH_DATA_DIR), each uploaded on its own through the Storage
 * emulator: after every upload, the Firestore documents and cohort rows equal what the bulk loaders
 * produce from the same files. Skipped without NIH_DATA_DIR (process.test.ts covers the same on
 * synthetic files).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mergeRecords } from '../../shared/dataset/index.ts';
import { IMAGES_COLLECTION } from '../../shared/labels/doc.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { parseFile } from '../../shared/parsers/index.ts';
import type { ParsedFile } from '../../shared/parsers/types.ts';
import { nihDataDir } from '../helpers/env.ts';
import {
  bulkCohortTables,
  bulkImageDocs,
  readCohortTables,
  readImageDocs,
  readJson,
  startUploadRig,
  type UploadRig,
} from './harness.ts';

const dir = nihDataDir();
const FILES = [
  'train_val_list.txt',
  'test_list.txt',
  'Data_Entry_2017_v2020.csv.gz',
  'BBox_List_2017.csv.gz',
  'google2019_nih-chest-xray-labels.csv.gz',
  'four_findings_expert_labels/validation_labels.csv',
  'four_findings_expert_labels/test_labels.csv',
  'four_findings_expert_labels/individual_readers.csv',
  'all_findings_expert_labels/test_labels.csv',
  'all_findings_expert_labels/test_individual_readers.csv',
];

describe('real NIH files, uploaded one by one', { skip: dir ? false : 'NIH_DATA_DIR not set' }, () => {
  let rig: UploadRig & { dir: string };
  const parsed: ParsedFile[] = [];
  const loaded: string[] = [];

  before(async () => {
    rig = await startUploadRig();
  });
  after(async () => {
    await rig?.stop();
  });

  async function expected(): Promise<ImageRecord[]> {
    return mergeRecords(parsed).records;
  }

  for (const name of FILES) {
    test(`${name}: loaded, and the touched documents equal the bulk loader's`, async () => {
      const path = join(dir!, name);
      const split = name.startsWith('test_list')
        ? 'test'
        : name.startsWith('train_val')
          ? 'train_val'
          : undefined;
      const file = await parseFile(path, split ? { split } : {});
      const d = await rig.upload(`nih/${name}`, await readFile(path));
      assert.equal(d.error, undefined, String(d.error));
      assert.equal(d.outcome?.status, 'loaded');
      const report = await readJson(rig.storage, `reports/nih/${name}.json`);
      const rows = report.rows as { parsed: number; loaded: number; rejected: number; staged: number };
      // The parser rejects no row of the real files; what can be refused is a conflicting duplicate (a
      // reader who labelled an image twice, differently), where the upload, like the bulk merger, keeps the
      // first and reports the rest.
      const refused = report.rejected as { reason: string }[];
      for (const r of refused) assert.match(r.reason, /conflicting duplicate/);
      assert.equal(rows.rejected, refused.length);
      assert.equal(rows.parsed, file.rows.length);
      assert.equal(rows.loaded + rows.staged + rows.rejected, file.rows.length);
      parsed.push(file);
      loaded.push(name);

      const records = await expected();
      const ids = [...new Set(file.rows.map((r) => ('metadata' in r ? r.metadata.imageId : r.imageId)))];
      const want = bulkImageDocs(records);
      const col = rig.db.collection(IMAGES_COLLECTION);
      for (let i = 0; i < ids.length; i += 500) {
        const snaps = await rig.db.getAll(...ids.slice(i, i + 500).map((id) => col.doc(id)));
        for (const s of snaps) assert.deepEqual(s.exists ? s.data() : undefined, want.get(s.id), s.id);
      }
      console.log(
        `# ${name}: ${rows.loaded} rows loaded in ${report.durationMs} ms, ${records.length} records`,
      );
    });
  }

  test('in the end every document and every cohort row equals the bulk load of the same files', async () => {
    const records = await expected();
    assert.equal(records.length, 112_120);
    const docs = await readImageDocs(rig.db);
    assert.equal(docs.size, records.length);
    assert.deepEqual(docs, bulkImageDocs(records));
    assert.deepEqual(await readCohortTables(rig.cohortPath), await bulkCohortTables(records, rig.dir));
  });
});
