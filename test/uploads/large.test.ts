/**
 * A 200 MB upload (a PNG streamed from a generator, with a bad CRC in its last IDAT so that it is read to
 * the end and then rejected): reported and quarantined, with the processing process's memory flat.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import { hugePng } from './fixtures.ts';
import { BUCKET, exists, readJson, startUploadRig, type UploadRig } from './harness.ts';

const SIZE = 200 * 1024 * 1024;
let rig: UploadRig;

before(async () => {
  rig = await startUploadRig({ autoProcess: false });
});
after(async () => {
  await rig?.stop();
});

test('a 200 MB object is read as a stream: rejected at its bad CRC, quarantined, memory flat', async () => {
  const file = rig.storage.bucket(BUCKET).file('big/huge.png');
  await pipeline(Readable.from(hugePng(SIZE, true)), file.createWriteStream({ resumable: true }));
  await rig.emulator.settled();
  const delivery = rig.deliveries.find((d) => (d.event.data as { name: string }).name === 'big/huge.png');
  assert.ok(delivery, 'the upload produced a finalized event');
  const size = Number((delivery.event.data as { size: string }).size);
  assert.ok(size > SIZE - (2 << 20), `object size ${size}`);

  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const peaks = { heapUsed: 0, external: 0, arrayBuffers: 0 };
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    for (const k of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[k] = Math.max(peaks[k], m[k]);
  }, 20);
  const started = performance.now();
  const outcome = await rig.processor.process(delivery.event);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  const growthMb = (peak - baseline) / 2 ** 20;
  const mb = (n: number) => (n / 2 ** 20).toFixed(0);
  console.log(
    `# 200 MB object processed in ${seconds.toFixed(1)} s; RSS growth ${growthMb.toFixed(1)} MB (peak heap ${mb(peaks.heapUsed)} MB, external ${mb(peaks.external)} MB)`,
  );

  assert.equal(outcome.status, 'rejected');
  const report = await readJson(rig.storage, 'reports/big/huge.png.json');
  assert.match(String(report.reason), /chunk IDAT CRC mismatch/);
  assert.ok(Number(report.offset) > SIZE - (2 << 20), `offset ${report.offset} near the end`);
  assert.ok(await exists(rig.storage, 'quarantine/big/huge.png'));
  // Flat: stream buffers only (about 50 MB measured here), far below the object's 200 MB.
  assert.ok(growthMb < 100, `RSS grew by ${growthMb.toFixed(1)} MB while streaming 200 MB`);
});
