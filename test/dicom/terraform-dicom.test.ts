/**
 * Terraform's `dicom` variable and the function's start-up check agree: the same store paths pass both
 * validations (the HCL regex, read from terraform/variables.tf, evaluated as RE2 would), and the defaults
 * are the NIH store and the OHIF viewer link the code documents.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../scripts/function-folders.ts';
import {
  DEFAULT_VIEWER_URL,
  DICOM_STORE_PATH,
  loadDicomConfig,
  NIH_DICOM_STORE,
} from '../../shared/dicom/config.ts';

const tf = readFileSync(join(REPO_ROOT, 'terraform', 'variables.tf'), 'utf8');
const hclString = (s: string) => s.replaceAll('\\\\', '\\');
const storeRegex = new RegExp(
  hclString(/can\(regex\("(\^projects[^"]+)", var\.dicom\.store\)\)/.exec(tf)![1]!),
);
const defaultOf = (name: string) =>
  hclString(new RegExp(`${name}\\s*=\\s*optional\\(string, "([^"]+)"\\)`).exec(tf)![1]!);

describe('terraform var.dicom', () => {
  it('defaults to the NIH store and the OHIF viewer link', () => {
    assert.equal(defaultOf('store'), NIH_DICOM_STORE);
    assert.equal(defaultOf('viewer_url'), DEFAULT_VIEWER_URL);
  });

  const paths: [string, boolean][] = [
    [NIH_DICOM_STORE, true],
    ['projects/example.com:my-proj/locations/europe-west4/datasets/d_1.x/dicomStores/s-2', true],
    ['projects/chc-nih-chest-xray/datasets/nih-chest-xray/dicomStores/nih-chest-xray', false],
    ['projects/Bad/locations/us/datasets/d/dicomStores/s', false],
    ['projects/p-1234/locations/us/datasets/d/dicomStores/s/dicomWeb', false],
    ['https://healthcare.googleapis.com/v1/projects/p-1234/locations/us/datasets/d/dicomStores/s', false],
    ['projects/p-1234/locations/us/datasets/d/dicomStores/', false],
  ];
  for (const [path, ok] of paths) {
    it(`${ok ? 'accepts' : 'refuses'} ${path}, in Terraform and at start-up alike`, () => {
      assert.equal(storeRegex.test(path), ok, 'terraform validation');
      assert.equal(DICOM_STORE_PATH.test(path), ok, 'DICOM_STORE_PATH');
      if (ok) assert.equal(loadDicomConfig({ DICOM_STORE: path }).store, path);
      else assert.throws(() => loadDicomConfig({ DICOM_STORE: path }), /DICOM_STORE/);
    });
  }
});
