/**
 * A 200 MB upload (a PNG streamed from a generator, with a bad CRC in its last IDAT so that it is read to
 * the end and then rejected): reported and quarantined, with the processing process's memory flat.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

  // Live memory is measured after a forced collection, so that garbage awaiting GC does not count.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const live = () => {
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss, live: m.heapUsed + m.external };
  };
  const base = live();
  let peakLive = base.live;
  let peakRss = base.rss;
  const timer = setInterval(() => {
    const m = live();
    peakLive = Math.max(peakLive, m.live);
    peakRss = Math.max(peakRss, m.rss);
  }, 100);
  const started = performance.now();
  const outcome = await rig.processor.process(delivery.event);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  const liveGrowthMb = (peakLive - base.live) / 2 ** 20;
  const rssGrowthMb = (peakRss - base.rss) / 2 ** 20;
  console.log(
    `# 200 MB object processed in ${seconds.toFixed(1)} s; live memory (heap + external, after GC) grew by at most ${liveGrowthMb.toFixed(1)} MB, RSS by ${rssGrowthMb.toFixed(1)} MB`,
  );

  assert.equal(outcome.status, 'rejected');
  const report = await readJson(rig.storage, 'reports/big/huge.png.json');
  assert.match(String(report.reason), /chunk IDAT CRC mismatch/);
  assert.ok(Number(report.offset) > SIZE - (2 << 20), `offset ${report.offset} near the end`);
  assert.ok(await exists(rig.storage, 'quarantine/big/huge.png'));
  // Flat: stream buffers in flight (about 30 MB measured here), never in proportion to the 200 MB object.
  assert.ok(liveGrowthMb < 64, `live memory grew by ${liveGrowthMb.toFixed(1)} MB while streaming 200 MB`);
});
