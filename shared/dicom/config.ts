/**
 * Environment of the DICOM access: where the DICOMweb store is, how to authenticate to it, the limits of the
 * proxy, and the viewer link template. Read once at start-up; every variable is optional so that an
 * unconfigured function still starts and answers 503 naming what to set.
 */
import * as z from 'zod';
import { envInt, envString, loadConfig } from '../config.ts';

/** The Cloud Healthcare API DICOM store that holds the NIH images (access granted by Google on request). */
export const NIH_DICOM_STORE =
  'projects/chc-nih-chest-xray/locations/us-central1/datasets/nih-chest-xray/dicomStores/nih-chest-xray';
/** Google's form for access to the NIH Chest X-ray DICOM store. */
export const NIH_ACCESS_FORM =
  'https://cloud.google.com/healthcare-api/docs/resources/public-datasets/nih-chest';
export const HEALTHCARE_API = 'https://healthcare.googleapis.com/v1';

/** projects/P/locations/L/datasets/D/dicomStores/S, each id as the Healthcare API allows it. */
export const DICOM_STORE_PATH =
  /^projects\/(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]{1,63}\/datasets\/[A-Za-z0-9_.-]{1,256}\/dicomStores\/[A-Za-z0-9_.-]{1,256}$/;

/** Default viewer link: an OHIF viewer opening the image's study. */
export const DEFAULT_VIEWER_URL = 'https://viewer.ohif.org/viewer?StudyInstanceUIDs={studyInstanceUid}';
const VIEWER_FIELDS = ['studyInstanceUid', 'seriesInstanceUid', 'sopInstanceUid', 'imageId', 'dicomweb'];

const httpUrl = (v: string) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash;
  } catch {
    return false;
  }
};

export const DicomConfigSchema = z
  .object({
    /** A Healthcare API DICOM store path; the base becomes https://healthcare.googleapis.com/v1/<path>/dicomWeb. */
    DICOM_STORE: envString().refine((v) => v === undefined || DICOM_STORE_PATH.test(v), {
      message: 'must be projects/<project>/locations/<location>/datasets/<dataset>/dicomStores/<store>',
    }),
    /** Any DICOMweb base URL (a local Orthanc: http://127.0.0.1:8042/dicom-web); wins over DICOM_STORE. */
    DICOMWEB_BASE: envString().refine((v) => v === undefined || httpUrl(v), {
      message: 'must be an http(s) URL without query or fragment, such as http://127.0.0.1:8042/dicom-web',
    }),
    /** `google`: an OAuth token of the function's own identity; `none`: no credentials; `auto`: by host. */
    DICOMWEB_AUTH: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z.enum(['auto', 'google', 'none']).default('auto'),
    ),
    /** Deadline of one store request, until the response starts and between two chunks. */
    DICOMWEB_TIMEOUT_MS: envInt(20_000, 100, 300_000),
    /** Largest DICOM instance or rendered image the proxy passes on; larger is cut off (502-free: 503). */
    DICOM_MAX_BYTES: envInt(64 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    /** Largest DICOM JSON metadata response. */
    DICOM_MAX_METADATA_BYTES: envInt(1024 * 1024, 1024, 64 * 1024 * 1024),
    /** Viewer link of an image; {studyInstanceUid}, {seriesInstanceUid}, {sopInstanceUid}, {imageId}, {dicomweb}. */
    DICOM_VIEWER_URL: envString().refine(
      (v) =>
        v === undefined ||
        (httpUrl(v.replace(/\{[a-zA-Z]+\}/g, 'x').split('?')[0]!) &&
          [...v.matchAll(/\{([a-zA-Z]+)\}/g)].every((m) => VIEWER_FIELDS.includes(m[1]!))),
      { message: `must be an http(s) URL template using only {${VIEWER_FIELDS.join('}, {')}}` },
    ),
  })
  .transform((e) => {
    // DICOMWEB_BASE wins: it may front the store (a proxy, a regional endpoint) or be another store.
    const base =
      e.DICOMWEB_BASE?.replace(/\/+$/, '') ??
      (e.DICOM_STORE ? `${HEALTHCARE_API}/${e.DICOM_STORE}/dicomWeb` : undefined);
    const google = base !== undefined && new URL(base).hostname === 'healthcare.googleapis.com';
    return {
      /** DICOMweb base URL without a trailing slash; undefined = not configured. */
      base,
      store: e.DICOM_STORE,
      auth: e.DICOMWEB_AUTH === 'auto' ? (google ? 'google' : 'none') : e.DICOMWEB_AUTH,
      timeoutMs: e.DICOMWEB_TIMEOUT_MS,
      maxBytes: e.DICOM_MAX_BYTES,
      maxMetadataBytes: e.DICOM_MAX_METADATA_BYTES,
      viewerUrl: e.DICOM_VIEWER_URL ?? DEFAULT_VIEWER_URL,
    } as const;
  });
export type DicomConfig = z.output<typeof DicomConfigSchema>;

/** What the labels function needs to put links on a record: the base and the viewer template. */
export function loadDicomLinkConfig(env: Record<string, string | undefined> = process.env) {
  const c = loadDicomConfig(env);
  return { base: c.base, viewerUrl: c.viewerUrl };
}

export function loadDicomConfig(env: Record<string, string | undefined> = process.env): DicomConfig {
  return loadConfig(DicomConfigSchema, env);
}
