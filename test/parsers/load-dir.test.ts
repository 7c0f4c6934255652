import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadDatasetDir, splitFromFileName } from '../../shared/dataset/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { BOX_HEADER, BOX_ROW, gz, lines } from './fixtures.ts';

describe('loadDatasetDir', () => {
  let dir: string;
  let linked: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nih-load-'));
    await writeSyntheticDataset(dir, { images: 60, seed: 5 });
    await writeFile(join(dir, 'notes.csv'), 'Name,Comment\nx,y\n');
    await writeFile(join(dir, 'README.md'), '# not data\n');
    await writeFile(join(dir, 'my_images.txt'), '00000001_000.png\n');
    const boxes = gz(lines([BOX_HEADER, ...Array.from({ length: 3000 }, () => BOX_ROW)]));
    await writeFile(join(dir, 'broken.csv.gz'), boxes.subarray(0, boxes.length - 200));
    linked = await mkdtemp(join(tmpdir(), 'nih-link-'));
    await symlink(join(dir, 'test_list.txt'), join(linked, 'test_list.txt'));
  });
  after(() => Promise.all([dir, linked].map((d) => rm(d, { recursive: true, force: true }))));

  it('skips unknown files and lists them with the reason', async () => {
    const r = await loadDatasetDir(dir);
    const skipped = Object.fromEntries(r.skipped.map((s) => [s.path, s.reason]));
    assert.match(skipped['notes.csv']!, /unknown header/);
    assert.match(skipped['my_images.txt']!, /neither test_list nor train_val_list/);
    assert.match(skipped['broken.csv.gz']!, /truncated gzip.*after \d+ rows, which were kept/);
    assert.equal(skipped['README.md'], undefined, 'only .csv, .txt and their .gz are looked at');
    const broken = r.files.find((f) => f.path === 'broken.csv.gz')!;
    assert.equal(broken.kind, 'bounding_boxes');
    assert.ok(broken.rows > 0 && broken.rows < 3000);
    assert.equal(r.records.length, 60);
  });

  it('follows symlinked files', async () => {
    const r = await loadDatasetDir(linked);
    assert.deepEqual(
      r.files.map((f) => [f.path, f.kind]),
      [['test_list.txt', 'image_list']],
    );
  });

  it('takes the split of an image list from its file name', () => {
    assert.equal(splitFromFileName('a/test_list.txt'), 'test');
    assert.equal(splitFromFileName('train_val_list.txt.gz'), 'train_val');
    assert.equal(splitFromFileName('list.txt'), undefined);
  });
});
