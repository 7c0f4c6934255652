/**
 * Fuzzer of POST /v1/cohorts:agreement (DuckDB): random filters, findings, references and comparisons, valid
 * and not. An accepted request's matrices are checked against a plain count over the rig's records (the
 * in-memory filter evaluation of test/cohorts/reference.ts and the records' own labels and reads); a
 * finding outside the reference, or without an NIH counterpart, must be a 400.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AgreementRequestSchema, AgreementResponseSchema } from '../../functions/cohorts/schemas.ts';
import type { AgreementQuery } from '../../shared/cohorts/agreement.ts';
import { ALL_FINDINGS_LABELS, READER_LABELS } from '../../shared/cohorts/reader-labels.ts';
import { FOUR_FINDINGS, type FourFinding, type ImageRecord } from '../../shared/model/index.ts';
import { filterArb } from '../cohorts/filters.ts';
import { matches } from '../cohorts/reference.ts';
import { nastyString } from './arbitraries.ts';
import { bodyOutcome } from './cohorts-fuzz.ts';
import type { FuzzRig } from './rig.ts';
import { type FuzzCase, jsonOf, postParts, type RouteFuzz, toRequest } from './route-fuzz.ts';

type Cells = { tp: number; fp: number; fn: number; tn: number };
const add = (m: Cells, test: boolean, truth: boolean) => {
  if (test && truth) m.tp++;
  else if (test) m.fp++;
  else if (truth) m.fn++;
  else m.tn++;
};

/** The adjudicated truth of the label on a record, or undefined when the record does not carry it. */
function truthOf(r: ImageRecord, q: AgreementQuery): boolean | undefined {
  if (q.reference === 'fourFindings') return r.expert.fourFindings?.[q.finding as FourFinding];
  const af = r.expert.allFindings;
  if (!af) return undefined;
  if (q.finding === 'abnormal' || q.finding === 'other') return af[q.finding];
  return af.findings[q.finding as keyof typeof af.findings];
}

/** The NIH side, spelled out here from docs/api.md's mapping. */
function nihOf(r: ImageRecord, finding: string): boolean {
  const has = (n: string) => (r.findings as string[]).includes(n);
  if (finding === 'pneumothorax') return has('Pneumothorax');
  if (finding === 'noduleOrMass') return has('Nodule') || has('Mass');
  if (finding === 'abnormal') return r.findings.length > 0;
  return has(finding);
}

function expected(records: readonly ImageRecord[], q: AgreementQuery) {
  const nih: Cells = { tp: 0, fp: 0, fn: 0, tn: 0 };
  const readers = new Map<string, Cells & { images: number; hedged: number }>();
  let images = 0;
  for (const r of records) {
    const truth = truthOf(r, q);
    if (truth === undefined || !matches(r, q.filter)) continue;
    images++;
    if (q.compare === 'nih') add(nih, nihOf(r, q.finding), truth);
    for (const read of r.expert.readers) {
      const v = read.study === q.reference ? read.labels[q.finding] : undefined;
      if (v === undefined) continue;
      const e = readers.get(read.readerId) ?? { tp: 0, fp: 0, fn: 0, tn: 0, images: 0, hedged: 0 };
      readers.set(read.readerId, e);
      e.images++;
      if (v === 'HEDGE') e.hedged++;
      else add(e, v === 'YES', truth);
    }
  }
  return { images, nih, readers };
}

export const agreementFuzz: RouteFuzz = {
  route: 'POST /v1/cohorts:agreement',
  cases: (rig: FuzzRig) => {
    // Mostly a finding of the chosen reference (so that most requests are answerable), else anything.
    const consistent = fc.constantFrom('fourFindings', 'allFindings').chain((reference) =>
      fc.record({
        filter: filterArb(rig.patientIds),
        reference: fc.constant(reference),
        finding: fc.constantFrom(...(reference === 'fourFindings' ? FOUR_FINDINGS : ALL_FINDINGS_LABELS)),
        compare: fc.constantFrom('nih', 'readers'),
      }),
    );
    const anything = fc.record(
      {
        filter: filterArb(rig.patientIds),
        finding: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom(...READER_LABELS) },
          { weight: 1, arbitrary: fc.oneof(nastyString, fc.constantFrom('Fracture', 'No Finding', 1, null)) },
        ),
        reference: fc.constantFrom('fourFindings', 'allFindings', 'nih', ''),
        compare: fc.constantFrom('nih', 'readers', 'reader'),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof({ weight: 3, arbitrary: consistent }, { weight: 1, arbitrary: anything });
    return postParts('/v1/cohorts:agreement', body).map((p): FuzzCase => {
      const req = toRequest(p);
      const o = bodyOutcome(req, [p.method, 'POST', p.path.variant], (v) =>
        AgreementRequestSchema.safeParse(v),
      );
      return {
        req,
        expect: o.expect,
        verify: (res) => {
          rig.storeFilters.length = 0;
          if (res.status !== 200 || !o.data) return;
          const got = AgreementResponseSchema.parse(jsonOf(res));
          const want = expected(rig.records, o.data);
          assert.equal(got.images, want.images);
          if (got.compare === 'nih') assert.deepEqual(got.matrix, want.nih);
          else {
            assert.deepEqual(
              got.readers.map((r) => [r.readerId, r.matrix, r.images, r.hedged]),
              [...want.readers.entries()]
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .map(([id, e]) => [id, { tp: e.tp, fp: e.fp, fn: e.fn, tn: e.tn }, e.images, e.hedged]),
            );
          }
        },
      };
    });
  },
};
