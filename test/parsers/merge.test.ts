import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeRecords } from '../../shared/dataset/index.ts';
import { ImageRecordSchema, type Split } from '../../shared/model/index.ts';
import { type ParsedFile, parseFile } from '../../shared/parsers/index.ts';
import {
  ALL_READERS_HEADER,
  ALL_READERS_ROW,
  BOX_HEADER,
  BOX_ROW,
  FOUR_HEADER,
  FOUR_READERS_HEADER,
  FOUR_READERS_ROW,
  FOUR_ROW,
  lines,
  METADATA_HEADER,
  streamOf,
  V2020_ROW,
  Y2017_ROW,
} from './fixtures.ts';

const file = (rows: string[], split?: Split): Promise<ParsedFile> =>
  parseFile(streamOf(lines(rows)), split ? { split } : {});

const IMG13 = '00000013_008';
const META13 = '00000013_008.png,No Finding,8,13,60,M,AP,3056,2544,0.139,0.139';

async function base(): Promise<ParsedFile[]> {
  return [
    await file([METADATA_HEADER, V2020_ROW, META13]),
    await file(['00000001_000.png'], 'train_val'),
    await file([`${IMG13}.png`], 'test'),
  ];
}

describe('mergeRecords', () => {
  it('builds records that match ImageRecordSchema, sorted by imageId', async () => {
    const r = mergeRecords([...(await base()).reverse(), await file([FOUR_HEADER, FOUR_ROW])]);
    assert.deepEqual(
      r.records.map((x) => x.imageId),
      ['00000001_000', IMG13],
    );
    for (const rec of r.records) ImageRecordSchema.parse(rec);
    assert.deepEqual(r.records[1]!.expert.fourFindings, {
      set: 'test',
      fracture: false,
      pneumothorax: false,
      airspaceOpacity: true,
      noduleOrMass: false,
    });
    assert.deepEqual(r.records[1]!.files, {
      png: `gs://gcs-public-data--healthcare-nih-chest-xray/png/${IMG13}.png`,
      dicom: `gs://gcs-public-data--healthcare-nih-chest-xray/dicom/${IMG13}.dcm`,
    });
    assert.deepEqual(r.problems, []);
  });

  it('merges identical label rows from two files silently and reports conflicting ones', async () => {
    const same = await file([FOUR_HEADER, FOUR_ROW]);
    const again = await file([FOUR_HEADER, FOUR_ROW]);
    const other = await file([FOUR_HEADER, FOUR_ROW.replace('NO,NO,YES,NO,test', 'YES,NO,YES,NO,test')]);
    assert.deepEqual(mergeRecords([...(await base()), same, again]).problems, []);
    const r = mergeRecords([...(await base()), same, other]);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.file, 'four_findings_labels');
    assert.equal(r.problems[0]!.imageId, IMG13);
    assert.match(r.problems[0]!.reason, /conflicting four-findings labels.*kept the first/);
    assert.equal(r.records[1]!.expert.fourFindings!.fracture, false);
  });

  it('keeps one reader entry per (study, readerId) and reports a reader who disagrees with themself', async () => {
    const readers = await file([
      FOUR_READERS_HEADER,
      FOUR_READERS_ROW,
      FOUR_READERS_ROW,
      FOUR_READERS_ROW.replace('4295367682', '4295232296'),
      FOUR_READERS_ROW.replace(',YES,HEDGE,', ',NO,HEDGE,'),
    ]);
    const r = mergeRecords([...(await base()), readers]);
    const rec = r.records.find((x) => x.imageId === IMG13)!;
    assert.deepEqual(
      rec.expert.readers.map((x) => x.readerId),
      ['4295367682', '4295232296'],
    );
    assert.deepEqual(rec.expert.readers[0]!.labels, {
      fracture: 'NO',
      pneumothorax: 'YES',
      airspaceOpacity: 'YES',
      noduleOrMass: 'HEDGE',
    });
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!.reason, /reader 4295367682 labelled the image twice, differently/);
    assert.equal(r.problems[0]!.line, 5);
  });

  it('maps all-findings reader Abnormal 1/0 to YES/NO and Pleural Thickening to its NIH name', async () => {
    const meta = await file([
      METADATA_HEADER,
      '00029560_000.png,No Finding,0,29560,50,F,PA,2048,2500,0.168,0.168',
    ]);
    const r = mergeRecords([
      meta,
      await file(['00029560_000.png'], 'test'),
      await file([ALL_READERS_HEADER, ALL_READERS_ROW]),
    ]);
    const labels = r.records[0]!.expert.readers[0]!.labels;
    assert.equal(labels.abnormal, 'YES');
    assert.equal(labels.Pleural_Thickening, 'YES');
    assert.equal(labels.other, 'NO');
    assert.equal(Object.keys(labels).length, 16);
  });

  it('reports label rows for images not in the metadata, and leaves out images in no split', async () => {
    const [meta] = await base();
    const r = mergeRecords([
      meta!,
      await file(['00000001_000.png'], 'train_val'),
      await file(['00000099_000.png'], 'test'),
      await file([FOUR_HEADER, FOUR_ROW.replaceAll('00000013', '00000077').replace(',13,', ',77,')]),
    ]);
    assert.deepEqual(
      r.records.map((x) => x.imageId),
      ['00000001_000'],
    );
    assert.deepEqual(
      r.problems.map((p) => [p.file, p.imageId, p.reason]),
      [
        ['image_list', IMG13, 'in neither train_val_list.txt nor test_list.txt; record left out'],
        ['four_findings_labels', '00000077_008', 'four-findings labels for an image not in the metadata'],
        ['image_list', '00000099_000', 'split for an image not in the metadata'],
      ],
    );
  });

  it('attaches bounding boxes, with the BBox file spelling Infiltrate mapped to Infiltration', async () => {
    const boxes = await file([
      BOX_HEADER,
      BOX_ROW.replace('00013118_008', '00000001_000'),
      BOX_ROW.replace('00013118_008', '00000001_000'),
    ]);
    const r = mergeRecords([...(await base()), boxes]);
    assert.deepEqual(r.records[0]!.boundingBoxes, [
      {
        finding: 'Infiltration',
        x: 225.084745762712,
        y: 547.019216763771,
        w: 86.7796610169491,
        h: 79.1864406779661,
      },
    ]);
    assert.deepEqual(r.problems, [], 'an identical repeated box merges silently');
  });

  it('reports an image listed in both splits', async () => {
    const r = mergeRecords([...(await base()), await file(['00000001_000.png'], 'test')]);
    assert.equal(r.records[0]!.split, 'train_val');
    assert.match(r.problems[0]!.reason, /in both splits: train_val .* and test .*; kept train_val/);
  });

  it('reports 2017 vs v2020 field differences, ignoring float noise and zero padding', async () => {
    const y2017 = await file([
      `${METADATA_HEADER},`,
      Y2017_ROW,
      '00000013_008.png,Mass,008,00000013,412Y,M,AP,3056,2544,0.139,0.139',
    ]);
    const [v2020, ...rest] = await base();
    for (const order of [
      [v2020!, y2017],
      [y2017, v2020!],
    ]) {
      const r = mergeRecords([...order, ...rest]);
      assert.deepEqual(r.differences, [
        { imageId: '00000001_000', field: 'patientAge', v2017: 58, v2020: 57 },
        { imageId: IMG13, field: 'patientAge', v2017: null, v2020: 60 },
        { imageId: IMG13, field: 'findings', v2017: ['Mass'], v2020: [] },
      ]);
      assert.equal(r.records[0]!.patientAge, 57, 'v2020 wins by default');
      assert.deepEqual(r.problems, []);
    }
    const r2017 = mergeRecords([v2020!, y2017, ...rest], { metadata: '2017' });
    assert.equal(r2017.records[0]!.patientAge, 58);
    assert.deepEqual(r2017.records[1]!.findings, ['Mass']);
    assert.equal(r2017.differences.length, 3);
  });

  it('uses whichever metadata file is given, and reports images only one of them has', async () => {
    const y2017 = await file([`${METADATA_HEADER},`, Y2017_ROW]);
    const [v2020, ...rest] = await base();
    const only2017 = mergeRecords([y2017, ...rest], { metadata: 'v2020' });
    assert.equal(only2017.records.length, 1);
    assert.equal(only2017.records[0]!.patientAge, 58);
    const both = mergeRecords([v2020!, y2017, ...rest]);
    assert.deepEqual(
      both.problems.map((p) => [p.file, p.imageId, p.reason]),
      [['metadata_v2020', IMG13, 'not in the 2017 metadata']],
    );
  });
});
