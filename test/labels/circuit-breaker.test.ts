/**
 * The labels function's circuit breaker over a LabelRepo. The repo here is a plain object (a hand-written
 * stand-in whose outcome each test sets), as the breaker only sees the LabelRepo interface; the breaker over
 * the real Firestore client is exercised in test/faults/firestore-outage.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { createLabelsRoutes } from '../../functions/labels/routes.ts';
import { createRouter } from '../../shared/http/router.ts';
import { withCircuitBreaker } from '../../shared/labels/circuit-breaker.ts';
import { LabelStoreUnavailableError, withDeadline } from '../../shared/labels/errors.ts';
import type { LoadSummary } from '../../shared/labels/loader.ts';
import type { LabelRepo } from '../../shared/labels/repo.ts';
import { createLogger } from '../../shared/log.ts';
import type { ImageId, PatientId } from '../../shared/model/index.ts';

const ID = '00000001_000' as ImageId;
const unavailable = () => Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
const exhausted = () => Object.assign(new Error('8 RESOURCE_EXHAUSTED: Quota exceeded.'), { code: 8 });

function rig(openMs = 5000) {
  let t = 1_000_000;
  const state = { calls: 0, next: (): Promise<undefined> => Promise.resolve(undefined) };
  const repo: LabelRepo = {
    getImage: () => {
      state.calls++;
      return state.next();
    },
    getImages: (ids) => {
      state.calls++;
      return state.next().then(() => ids.map(() => undefined));
    },
    getPatientImages: () => {
      state.calls++;
      return state.next().then(() => []);
    },
    upsertRecords: async () => {
      state.calls++;
      const summary: LoadSummary = {
        total: 0,
        written: 0,
        skipped: 0,
        failed: 0,
        failures: [],
        seconds: 0,
        docsPerSecond: 0,
        aborted: false,
      };
      return summary;
    },
  };
  const breaker = withCircuitBreaker(repo, { openMs, now: () => t });
  return { breaker, state, advance: (ms: number) => (t += ms) };
}

describe('label store circuit breaker', () => {
  it('passes reads through while Firestore answers, and bad-request errors never open it', async () => {
    const { breaker, state } = rig();
    assert.equal(await breaker.getImage(ID), undefined);
    state.next = () => Promise.reject(Object.assign(new Error('3 INVALID_ARGUMENT'), { code: 3 }));
    await assert.rejects(breaker.getImage(ID), /INVALID_ARGUMENT/);
    await assert.rejects(breaker.getImage(ID), /INVALID_ARGUMENT/);
    assert.equal(state.calls, 3, 'every read reached the repo');
  });

  it('after an unavailable read, fails every read at once for openMs without trying Firestore', async () => {
    const { breaker, state, advance } = rig(5000);
    state.next = () => Promise.reject(unavailable());
    await assert.rejects(breaker.getImage(ID), /UNAVAILABLE/);
    advance(1200);
    for (const read of [
      () => breaker.getImage(ID),
      () => breaker.getImages([ID]),
      () => breaker.getPatientImages(1 as PatientId),
    ]) {
      await assert.rejects(read(), (err: unknown) => {
        assert.ok(err instanceof LabelStoreUnavailableError);
        assert.match(err.message, /not tried/);
        assert.equal(err.retryAfterSeconds, 4, 'the rest of the window, rounded up');
        return true;
      });
    }
    assert.equal(state.calls, 1);
  });

  it('then lets one probe through while others still fail fast; a good probe closes it', async () => {
    const { breaker, state, advance } = rig(5000);
    state.next = () => Promise.reject(unavailable());
    await assert.rejects(breaker.getImage(ID));
    advance(5000);
    let release: () => void = () => {};
    state.next = () => new Promise<undefined>((r) => (release = () => r(undefined)));
    const probe = breaker.getImage(ID);
    await assert.rejects(breaker.getImage(ID), /not tried/);
    release();
    assert.equal(await probe, undefined);
    state.next = () => Promise.resolve(undefined);
    assert.deepEqual(await breaker.getImages([ID, ID]), [undefined, undefined]);
    assert.equal(state.calls, 3, 'the first read, the probe, and the read after recovery');
  });

  it('a probe that finds Firestore still unavailable reopens it for another window', async () => {
    const { breaker, state, advance } = rig(5000);
    state.next = () => Promise.reject(unavailable());
    await assert.rejects(breaker.getImage(ID));
    advance(5000);
    await assert.rejects(breaker.getImage(ID), /UNAVAILABLE/);
    advance(4999);
    await assert.rejects(breaker.getImage(ID), /not tried/);
    assert.equal(state.calls, 2);
  });

  it('does not short-circuit loads, which retry on their own', async () => {
    const { breaker, state } = rig();
    state.next = () => Promise.reject(unavailable());
    await assert.rejects(breaker.getImage(ID));
    await breaker.upsertRecords([]);
    assert.equal(state.calls, 2);
  });

  it('RESOURCE_EXHAUSTED fails that read alone and never opens it, bare or wrapped by the read deadline', async () => {
    const { breaker, state } = rig(5000);
    state.next = () => Promise.reject(exhausted());
    await assert.rejects(breaker.getImage(ID), /RESOURCE_EXHAUSTED/);
    // As the Firestore repo raises it: withDeadline wraps the gRPC error in a LabelStoreUnavailableError.
    state.next = () => withDeadline(Promise.reject(exhausted()), 1000, 'Firestore get');
    await assert.rejects(breaker.getImages([ID]), (err: unknown) => {
      assert.ok(err instanceof LabelStoreUnavailableError);
      assert.doesNotMatch(err.message, /not tried/);
      return true;
    });
    state.next = () => Promise.resolve(undefined);
    assert.equal(await breaker.getImage(ID), undefined, 'the next read is tried at once');
    assert.equal(state.calls, 3, 'every read reached the repo');
  });

  it('a probe answered with RESOURCE_EXHAUSTED closes it: Firestore answered', async () => {
    const { breaker, state, advance } = rig(5000);
    state.next = () => Promise.reject(unavailable());
    await assert.rejects(breaker.getImage(ID));
    advance(5000);
    state.next = () => Promise.reject(exhausted());
    await assert.rejects(breaker.getImage(ID), /RESOURCE_EXHAUSTED/);
    state.next = () => Promise.resolve(undefined);
    assert.equal(await breaker.getImage(ID), undefined);
    assert.equal(state.calls, 3);
  });
});

describe('the labels routes over the breaker, when one caller exhausts the quota', () => {
  it("answers that request 503 with Retry-After, and serves the next caller's read", async () => {
    const { breaker, state } = rig(5000);
    const logger = createLogger({}, () => {});
    http('breaker-quota', createRouter(createLabelsRoutes({ meta: false, repo: breaker }), { logger }));
    const server = getTestServer('breaker-quota');
    state.next = () => withDeadline(Promise.reject(exhausted()), 1000, 'Firestore get');
    const heavy = await request(server).get(`/v1/images/${ID}`);
    assert.equal(heavy.status, 503, heavy.text);
    assert.match(heavy.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.match(heavy.headers['retry-after'] ?? '', /^[1-9]\d*$/);
    state.next = () => Promise.resolve(undefined);
    // Not short-circuited: the read reaches the store, which has no such image.
    const next = await request(server).get(`/v1/images/${ID}`);
    assert.equal(next.status, 404, next.text);
    assert.equal(state.calls, 2);
  });
});
