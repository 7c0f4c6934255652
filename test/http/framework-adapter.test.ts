/**
 * The functions-framework adapter's start-up self-check (issue 18, Build 2): it names the framework release
 * it was written against, and when one of its patches cannot apply it throws instead of letting the
 * framework serve unbounded bodies and HTML error pages. Nothing is upgraded here: each case breaks one
 * thing a patch relies on in the framework's own loaded copy of body-parser or express (and restores it),
 * and imports a fresh instance of the adapter module, as a new process would.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createLogger } from '../../shared/log.ts';

type Adapter = typeof import('../../shared/http/framework-adapter.ts');

const ADAPTER = new URL('../../shared/http/framework-adapter.ts', import.meta.url);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const frameworkMain = createRequire(import.meta.url).resolve('@google-cloud/functions-framework');
const fromFramework = createRequire(frameworkMain);
const logged: string[] = [];
const logger = createLogger({}, (l) => logged.push(l));
let instances = 0;
/** A fresh copy of the adapter module, with none of the state an earlier import left. */
const freshAdapter = async (): Promise<Adapter> => import(`${ADAPTER.href}?instance=${++instances}`);

// The framework's server, with its express and body-parser, is loaded (as by its CLI before a function).
assert.equal(typeof getTestServer, 'function');
const bodyParser = fromFramework('body-parser') as Record<string, unknown>;
const express = fromFramework('express') as { application: Record<string, unknown> };

const assertFails = (fn: () => void, ...phrases: RegExp[]) =>
  assert.throws(fn, (err: unknown) => {
    assert.equal((err as Error).name, 'FrameworkAdapterError');
    for (const p of [/written against 5\.0\.5/, ...phrases]) assert.match((err as Error).message, p);
    return true;
  });

describe('functions-framework adapter', () => {
  it('names the framework release it was written against, which is the one installed', async () => {
    const { FRAMEWORK_VERSION } = await freshAdapter();
    const pkg = join(dirname(dirname(dirname(frameworkMain))), 'package.json');
    assert.equal(FRAMEWORK_VERSION, JSON.parse(readFileSync(pkg, 'utf8')).version);
  });

  it('passes its self-check on the framework as installed', async () => {
    const a = await freshAdapter();
    a.adaptFramework({ maxBodyBytes: 1024, logger });
    assert.doesNotThrow(() => a.assertFrameworkAdapted());
  });

  it('throws at start-up when body-parser lacks a parser factory it patches', async () => {
    const raw = bodyParser.raw;
    delete bodyParser.raw;
    try {
      const a = await freshAdapter();
      assertFails(
        () => a.adaptFramework({ maxBodyBytes: 1024, logger }),
        /body-parser has no raw\(\) factory/,
      );
      // And a router would not serve past it either: each request re-runs the failed check.
      assertFails(() => a.assertFrameworkAdapted(), /raw/);
      assert.match(logged.at(-1) ?? '', /"severity":"ERROR".*FrameworkAdapterError/);
    } finally {
      bodyParser.raw = raw;
    }
  });

  it("throws at start-up when express's application.handle cannot be replaced", async () => {
    const saved = Object.getOwnPropertyDescriptor(express.application, 'handle')!;
    const original = saved.value as (...args: unknown[]) => unknown;
    Object.defineProperty(express.application, 'handle', {
      value: function handle(this: unknown, ...args: unknown[]) {
        return original.apply(this, args);
      },
      writable: false,
      configurable: true,
    });
    try {
      const a = await freshAdapter();
      assertFails(() => a.adaptFramework({ maxBodyBytes: 1024, logger }), /application\.handle/, /read only/);
    } finally {
      Object.defineProperty(express.application, 'handle', saved);
    }
  });

  it('crashes the process when the framework loads a body-parser it cannot patch after the function', () => {
    // The deferred path (a function imported before the framework loads its server): a subscriber that runs
    // before the adapter's takes `raw` off body-parser as the framework requires it; loading the framework's
    // server must then end the process with the adapter's error, not serve.
    const script = `
      import { subscribe } from 'node:diagnostics_channel';
      import { createRequire } from 'node:module';
      const main = createRequire(process.cwd() + '/package.json').resolve('@google-cloud/functions-framework');
      const dir = main.slice(0, main.lastIndexOf('/build/'));
      subscribe('tracing:module.require:end', (m) => {
        if (m.id === 'body-parser' && String(m.parentFilename).startsWith(dir)) delete m.result.raw;
      });
      const { adaptFramework } = await import(${JSON.stringify(ADAPTER.href)});
      adaptFramework({ maxBodyBytes: 1024 });
      const { getTestServer } = await import('@google-cloud/functions-framework/testing');
      await new Promise((r) => setTimeout(r, 200));
      console.log('SERVED', typeof getTestServer);
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.notEqual(run.status, 0, `exit ${run.status}: ${run.stdout}`);
    assert.doesNotMatch(run.stdout, /SERVED/);
    assert.match(run.stderr, /FrameworkAdapterError/);
    assert.match(run.stderr, /written against 5\.0\.5/);
    assert.match(run.stderr, /body-parser has no raw\(\) factory/);
  });
});
