/**
 * A processed upload reaches every labels instance within LABELS_CACHE_CHECK_SECONDS: two labels functions
 * built by createLabelsApp (cache on, 1 s checks, real clock) serve an image from their caches, a bounding-box
 * file for it is processed by the real upload processor (Storage and Firestore emulators), which bumps the
 * version stamp, and both answer with the new box once a check interval has passed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createLabelsApp, loadLabelsAppConfig } from '../../functions/labels/app.ts';
import { loadRecords } from '../../shared/labels/loader.ts';
import { VERSION_COLLECTION } from '../../shared/labels/version-stamp.ts';
import { createLogger } from '../../shared/log.ts';
import { startUploadRig, type UploadRig } from '../uploads/harness.ts';
import { fixtureRecords } from './fixtures.ts';

let rig: UploadRig;
const records = fixtureRecords();
const image = records.find((r) => r.boundingBoxes.length === 0)!;
const servers: ReturnType<typeof getTestServer>[] = [];

before(async () => {
  rig = await startUploadRig();
  await loadRecords(rig.db, records, { throttle: false });
  const config = loadLabelsAppConfig({ ...rig.fs.env, LABELS_CACHE_CHECK_SECONDS: '1' });
  for (const name of ['labels-cache-a', 'labels-cache-b']) {
    http(name, createLabelsApp({ config, logger: createLogger({}, () => {}) }).handler);
    servers.push(getTestServer(name));
  }
});
after(async () => rig?.stop());

const boxes = async (s: ReturnType<typeof getTestServer>) =>
  (await request(s).get(`/v1/images/${image.imageId}`).expect(200)).body.boundingBoxes as { w: number }[];
const stamp = async () => (await rig.db.collection(VERSION_COLLECTION).doc('images').get()).get('stamp');

test('an upload processed after both instances cached the image is served by both within 1 s', async () => {
  for (const s of servers) assert.deepEqual(await boxes(s), []);
  const before = await stamp();
  const csv = `Image Index,Finding Label,Bbox [x,y,w,h],,,\r\n${image.imageId}.png,Mass,10,20,30,40\r\n`;
  const d = await rig.upload('incoming/boxes.csv', csv);
  assert.equal(d.error, undefined);
  assert.notEqual(await stamp(), before, 'the processor wrote a new version stamp');
  await new Promise((r) => setTimeout(r, 1000));
  for (const s of servers)
    assert.deepEqual(
      (await boxes(s)).map((b) => b.w),
      [30],
    );
});

// An upload whose rows are all unchanged bumps it too: a failed earlier attempt may have written those rows
// without bumping (shared/uploads/label-load.ts), and caches must not keep the older records until TTL.
test('an upload that changes no label still bumps the stamp', async () => {
  const before = await stamp();
  const csv = `Image Index,Finding Label,Bbox [x,y,w,h],,,\r\n${image.imageId}.png,Mass,10,20,30,40\r\n`;
  const d = await rig.upload('incoming/boxes-again.csv', csv);
  assert.equal(d.error, undefined);
  assert.notEqual(await stamp(), before);
});
