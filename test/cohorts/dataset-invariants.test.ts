/**
 * The invariants of the real Data_Entry_2017_v2020.csv that onePerPatient, samples and patient-disjoint splits
 * rely on, checked on the synthetic sample (three seeds) and, when NIH_DATA_DIR is set, on the real files: a
 * generator that broke one (patient 4 once had two images with follow-up 0) fails here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadDatasetDir } from '../../shared/dataset/index.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { writeSyntheticDataset } from '../../shared/sample/synthetic.ts';
import { nihDataDir } from '../helpers/env.ts';

/** Every broken invariant, as a readable line (empty when the records keep them all). */
function violations(records: readonly ImageRecord[]): string[] {
  const out: string[] = [];
  const byPatient = new Map<number, ImageRecord[]>();
  for (const r of records) {
    if (Number(r.imageId.slice(0, 8)) !== r.patientId) out.push(`${r.imageId}: patient ${r.patientId}`);
    const list = byPatient.get(r.patientId) ?? [];
    list.push(r);
    byPatient.set(r.patientId, list);
  }
  for (const [p, imgs] of byPatient) {
    const range = imgs.map((_, i) => i);
    const followUps = imgs.map((r) => r.followUp).sort((a, b) => a - b);
    if (followUps.join() !== range.join()) out.push(`patient ${p}: follow-ups ${followUps.join()}`);
    const suffixes = imgs.map((r) => Number(r.imageId.slice(9))).sort((a, b) => a - b);
    if (suffixes.join() !== range.join()) out.push(`patient ${p}: image suffixes ${suffixes.join()}`);
    if (new Set(imgs.map((r) => r.patientSex)).size !== 1) out.push(`patient ${p}: more than one sex`);
    if (new Set(imgs.map((r) => r.split)).size !== 1) out.push(`patient ${p}: in both splits`);
    const ages = [...imgs].sort((a, b) => a.followUp - b.followUp).map((r) => r.patientAge);
    if (ages.some((a, i) => a === null || (i > 0 && a < ages[i - 1]!))) {
      out.push(`patient ${p}: ages ${ages.join()} fall or are unknown as follow-ups rise`);
    }
  }
  return out;
}

async function synthetic(seed: number, images: number): Promise<ImageRecord[]> {
  const dir = await mkdtemp(join(tmpdir(), 'cohorts-invariants-'));
  try {
    await writeSyntheticDataset(dir, { images, seed });
    return (await loadDatasetDir(dir)).records;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('dataset invariants: (patient, follow-up) unique, follow-ups 0..n-1, one sex and split per patient', () => {
  for (const [seed, images] of [
    [42, 2000],
    [1, 3000],
    [2017, 300],
  ] as const) {
    it(`synthetic sample (seed ${seed}, ${images} images) keeps every invariant`, async () => {
      const records = await synthetic(seed, images);
      assert.equal(records.length, images);
      const renumbered = records.filter((r) => r.followUp !== Number(r.imageId.slice(9))).length;
      assert.ok(renumbered > 0, 'some follow-ups are renumbered, as in the real file');
      assert.deepEqual(violations(records), []);
    });
  }

  it('real Data_Entry_2017_v2020.csv keeps every invariant', { skip: !nihDataDir() }, async () => {
    const records = (await loadDatasetDir(nihDataDir()!)).records;
    assert.equal(records.length, 112_120);
    assert.deepEqual(violations(records), []);
  });

  it('the check fails on a duplicate follow-up and on a patient in both splits', () => {
    const base = {
      patientSex: 'M',
      split: 'train_val',
      patientAge: 40,
    } as const;
    const rec = (imageId: string, followUp: number, extra: Partial<ImageRecord> = {}) =>
      ({ ...base, imageId, patientId: Number(imageId.slice(0, 8)), followUp, ...extra }) as ImageRecord;
    assert.match(violations([rec('00000004_000', 0), rec('00000004_001', 0)]).join('\n'), /follow-ups 0,0/);
    assert.match(
      violations([rec('00000005_000', 0), rec('00000005_001', 1, { split: 'test' })]).join('\n'),
      /both splits/,
    );
    assert.match(
      violations([rec('00000006_000', 0, { patientAge: 50 }), rec('00000006_001', 1)]).join('\n'),
      /ages 50,40 fall/,
    );
  });
});
