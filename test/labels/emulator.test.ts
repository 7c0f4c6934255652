import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Firestore } from '@google-cloud/firestore';
import { type FirestoreEmulator, startFirestoreEmulator } from '../../scripts/emulators/firestore.ts';

/** Pids whose command line mentions `--port=PORT` (the emulator script and its JVM). */
function emulatorPids(port: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmd.includes(`--port=${port}`) && state !== 'Z') pids.push(Number(p));
    } catch {
      // exited while scanning
    }
  }
  return pids;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return cond();
}

describe('Firestore emulator launcher', () => {
  let emu: FirestoreEmulator;
  let db: Firestore;
  before(async () => {
    emu = await startFirestoreEmulator({ projectId: 'demo-launcher' });
    db = new Firestore({ projectId: emu.projectId, host: emu.host, ssl: false });
  });
  after(async () => {
    await db?.terminate();
    await emu?.stop();
  });

  test('answers on 127.0.0.1 at a free port and stores documents', async () => {
    assert.match(emu.host, /^127\.0\.0\.1:\d+$/);
    await db.doc('images/a').set({ n: 1 });
    assert.equal((await db.doc('images/a').get()).get('n'), 1);
  });

  test('reset() deletes every document', async () => {
    await db.doc('images/b').set({ n: 2 });
    await emu.reset();
    const count = await db.collection('images').count().get();
    assert.equal(count.data().count, 0);
  });

  test('no JVM outlives a parent killed with SIGKILL', async () => {
    const code = `
      import { startFirestoreEmulator } from ${JSON.stringify(new URL('../../scripts/emulators/firestore.ts', import.meta.url).href)};
      const e = await startFirestoreEmulator();
      console.log(e.host);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const host = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
      child.once('exit', () => reject(new Error('child exited before starting the emulator')));
    });
    const port = host.split(':')[1]!;
    assert.ok(emulatorPids(port).length >= 1, 'emulator running');
    child.kill('SIGKILL');
    assert.ok(
      await waitFor(() => emulatorPids(port).length === 0, 15_000),
      'emulator gone after parent died',
    );
  });
  test('a port already in use fails fast with the emulator log, leaving nothing running', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const port = (busy.address() as AddressInfo).port;
    try {
      const t = Date.now();
      await assert.rejects(startFirestoreEmulator({ port }), /failed to start[\s\S]*BindException/);
      assert.ok(Date.now() - t < 30_000);
      assert.ok(await waitFor(() => emulatorPids(String(port)).length === 0, 10_000));
    } finally {
      busy.close();
    }
  });

  test('stop() ends the JVM and its script; a second stop() is harmless', async () => {
    const port = emu.host.split(':')[1]!;
    assert.ok(emulatorPids(port).length >= 1);
    await db.terminate();
    await emu.stop();
    assert.deepEqual(emulatorPids(port), []);
    await emu.stop();
    assert.equal(
      await fetch(`http://${emu.host}/`).then(
        () => 'up',
        () => 'down',
      ),
      'down',
    );
  });
});
