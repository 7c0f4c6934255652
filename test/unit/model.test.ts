import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  gsUri,
  imageIdParts,
  normaliseFinding,
  PatientIdSchema,
  parseImageId,
} from '../../shared/model/index.ts';

describe('image ids', () => {
  it('accepts the NIH file name with or without .png', () => {
    assert.equal(parseImageId('00000001_000'), '00000001_000');
    assert.equal(parseImageId('00000001_000.png'), '00000001_000');
  });
  for (const bad of [
    '',
    '1_0',
    '../x',
    '00000001_000/../../other',
    '%2e%2e',
    '00000001_000.dcm',
    'gs://b/o',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.equal(parseImageId(bad), undefined));
  }
  it('splits into patient and follow-up', () => {
    assert.deepEqual(imageIdParts(parseImageId('00012345_007')!), { patientId: 12345, followUp: 7 });
  });
  it('builds object URIs only inside the dataset bucket', () => {
    assert.equal(
      gsUri(parseImageId('00000001_000')!, 'dicom'),
      'gs://gcs-public-data--healthcare-nih-chest-xray/dicom/00000001_000.dcm',
    );
  });
});

describe('finding names', () => {
  it('maps label-file spellings to NIH names', () => {
    assert.equal(normaliseFinding('Pleural Thickening'), 'Pleural_Thickening');
    assert.equal(normaliseFinding('pneumothorax'), 'Pneumothorax');
    assert.equal(normaliseFinding('Pneumonitis'), undefined);
  });
});

describe('patient ids', () => {
  for (const ok of [1, '1', '00000001', 30805]) {
    it(`accepts ${JSON.stringify(ok)}`, () => assert.ok(PatientIdSchema.safeParse(ok).success));
  }
  for (const bad of ['1e3', '0x10', ' 1', '', '0', 0, -1, 1.5, '123456789', 'abc']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.equal(PatientIdSchema.safeParse(bad).success, false));
  }
});
