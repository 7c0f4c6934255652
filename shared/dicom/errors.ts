/** How the DICOM store's failures reach the caller: each a problem naming what to do. */
import { AppError, ServiceUnavailableError } from '../http/errors.ts';
import { NIH_ACCESS_FORM } from './config.ts';

/** The store is down, slow, or answered something that is not what DICOMweb promises: retry later. */
export class DicomStoreUnavailableError extends ServiceUnavailableError {
  constructor(detail: string, cause?: unknown) {
    super(detail, { retryAfterSeconds: 10, ...(cause === undefined ? {} : { cause }) });
  }
}

/** The store refused our credentials: access is granted by Google (or the store's owner), not by retrying. */
export class DicomAccessDeniedError extends AppError {
  constructor(status: number, base: string) {
    super(
      403,
      'Forbidden',
      `The DICOM store at ${base} answered ${status}: this function's service account has no access. ` +
        `Access to the NIH Chest X-ray DICOM store is granted by Google on request (${NIH_ACCESS_FORM}): ` +
        'request it for the service account the dicom function runs as (terraform output service_accounts.dicom), ' +
        'or set DICOM_STORE / DICOMWEB_BASE to a store it may read (docs/deploy.md).',
    );
  }
}

/** The request cannot be answered in any representation the caller accepts. */
export class NotAcceptableError extends AppError {
  constructor(detail: string) {
    super(406, 'Not Acceptable', detail, { errors: [{ path: 'header.accept', message: detail }] });
  }
}

/** What every DICOM route answers until a store is configured. */
export function notConfiguredProblem(): string {
  return (
    'DICOM access is not configured: set DICOM_STORE to a Cloud Healthcare API DICOM store ' +
    `(the NIH one needs access granted by Google: ${NIH_ACCESS_FORM}) or DICOMWEB_BASE to a DICOMweb server. ` +
    'Locally, npm start runs Orthanc when it is installed: apt-get install orthanc orthanc-dicomweb.'
  );
}
