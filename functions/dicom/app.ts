/**
 * The dicom function, assembled in one place from its validated configuration: the cloud entry (index.ts),
 * the local server and the tests all build it here. It reads an image's DICOM identity from Firestore (over
 * REST, like the labels function) and proxies WADO-RS to the configured store with its own credentials.
 */
import { type DicomConfig, loadDicomConfig } from '../../shared/dicom/config.ts';
import { createDicomwebStore, type DicomwebStore } from '../../shared/dicom/dicomweb.ts';
import { notConfiguredProblem } from '../../shared/dicom/errors.ts';
import { tokenSource } from '../../shared/dicom/token.ts';
import { type HttpConfig, loadHttpConfig } from '../../shared/http/config.ts';
import { ServiceUnavailableError } from '../../shared/http/errors.ts';
import { createRouter, type Route } from '../../shared/http/router.ts';
import { type LabelsConfig, loadLabelsConfig } from '../../shared/labels/config.ts';
import { fromImageDoc, READ_FIELDS } from '../../shared/labels/doc.ts';
import { isStoreUnavailable, withDeadline } from '../../shared/labels/errors.ts';
import { createRestFirestore, type RestFirestore } from '../../shared/labels/firestore-rest.ts';
import { logger as defaultLogger, type Logger } from '../../shared/log.ts';
import type { DicomIdentity, ImageId } from '../../shared/model/index.ts';
import { createDicomRoutes } from './routes.ts';

/** Everything the dicom function reads from the environment. */
export interface DicomAppConfig {
  dicom: DicomConfig;
  labels: LabelsConfig;
  http: HttpConfig;
}

export function loadDicomAppConfig(env: Record<string, string | undefined> = process.env): DicomAppConfig {
  return { dicom: loadDicomConfig(env), labels: loadLabelsConfig(env), http: loadHttpConfig(env) };
}

export interface DicomAppDeps {
  config: DicomAppConfig;
  restFirestore?: RestFirestore;
  /** Default: a WADO-RS client of the configured base, or none (503) when there is none. */
  store?: DicomwebStore | undefined;
  /** What the routes answer when there is no store; default: which variables to set. */
  problem?: string;
  logger?: Logger;
}

export interface DicomApp {
  routes: Route[];
  handler: ReturnType<typeof createRouter>;
  store: DicomwebStore | undefined;
}

export function createDicomApp(deps: DicomAppDeps): DicomApp {
  const { dicom, labels, http } = deps.config;
  const log = deps.logger ?? defaultLogger.child({ function: 'dicom' });
  const rest = deps.restFirestore ?? createRestFirestore(labels);
  const store =
    'store' in deps
      ? deps.store
      : dicom.base
        ? createDicomwebStore({ ...dicom, base: dicom.base, token: tokenSource(dicom.auth) })
        : undefined;
  const problem = deps.problem ?? notConfiguredProblem();
  if (store) log.info('DICOMweb store configured', { base: store.base, auth: dicom.auth });
  else log.warn('DICOM access is not configured; the DICOM routes answer 503', { detail: problem });

  async function identity(imageId: ImageId): Promise<DicomIdentity | null | undefined> {
    try {
      const doc = await withDeadline(
        rest.get(labels.collection, imageId, READ_FIELDS),
        labels.timeoutMs,
        'reading the image',
      );
      if (!doc) return undefined;
      return fromImageDoc(imageId, doc.fields).record.dicom ?? null;
    } catch (err) {
      if (isStoreUnavailable(err)) {
        throw new ServiceUnavailableError('Firestore is unavailable; try again shortly.', { cause: err });
      }
      throw err;
    }
  }

  const routes = createDicomRoutes({ identity, store, problem });
  return { routes, handler: createRouter(routes, { logger: log, ...http }), store };
}
