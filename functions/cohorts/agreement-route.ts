/** POST /v1/cohorts:agreement: the route (parse -> store -> body); its schemas are in schemas.ts. */
import type { CohortStore } from '../../shared/cohorts/store.ts';
import { problemResponse } from '../../shared/http/problem.ts';
import type { Route } from '../../shared/http/router.ts';
import { jsonBody, parseInput } from '../../shared/http/validate.ts';
import { AgreementRequestSchema, AgreementResponseSchema } from './schemas.ts';

/** Runs a store call with the cohorts function's store guard (503 when the store is unavailable). */
type Guarded = <T>(work: (s: CohortStore) => Promise<T>) => Promise<T>;

export function agreementRoute(guarded: Guarded): Route {
  return {
    method: 'POST',
    path: '/v1/cohorts:agreement',
    spec: {
      operationId: 'cohortAgreement',
      summary:
        "Label quality on a cohort: NIH label or each reader vs the adjudicated expert label (2x2 matrix, sensitivity, specificity, PPV, NPV with Wilson 95% intervals, Cohen's kappa with 95% CI; Fleiss' kappa across readers)",
      body: AgreementRequestSchema,
      responses: {
        200: { description: 'The agreement statistics', schema: AgreementResponseSchema },
        400: problemResponse(
          'Malformed filter, a finding that is not a label of the reference, or compare "nih" on a label without an NIH counterpart such as fracture (errors name the field)',
        ),
        503: problemResponse('The cohort store is unavailable; see Retry-After'),
      },
    },
    handler: async (req) => {
      const b = parseInput(AgreementRequestSchema, jsonBody(req), 'body');
      return { body: await guarded((st) => st.agreement(b)) };
    },
  };
}
