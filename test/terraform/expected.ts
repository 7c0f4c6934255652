/** What the deployment is meant to grant, stated once here: the tests compare the configuration with it. */
import { expr } from './hcl.ts';

/** A Terraform interpolation as HCL writes it inside a string: tf('var.x') is the text `$` `{var.x}`. */
const tf = (reference: string): string => `\${${reference}}`;

/**
 * Identity -> its grants, as `role on scope`. Identities: a function's module call (its own service account),
 * a google_service_account by resource name, or a Google service agent.
 */
export const EXPECTED_GRANTS: Record<string, readonly string[]> = {
  labels: ['roles/datastore.viewer on project'],
  cohorts: [
    'roles/bigquery.jobUser on project',
    'roles/bigquery.dataViewer on dataset cohorts',
    'roles/secretmanager.secretAccessor on secret page_token',
    // Exports with `urls: "signed"` sign like the signer function does.
    'roles/iam.serviceAccountTokenCreator on service account cohorts',
    'roles/serviceusage.serviceUsageConsumer on billing project',
    'roles/secretmanager.secretAccessor on secret hmac',
  ],
  signer: [
    // signBlob as itself only: URLs are signed by the function's own identity, never another one.
    'roles/iam.serviceAccountTokenCreator on service account signer',
    // Requester pays: the downloads are billed to this project.
    'roles/serviceusage.serviceUsageConsumer on billing project',
    'roles/secretmanager.secretAccessor on secret hmac',
  ],
  // What shared/uploads/processor.ts calls: file.createReadStream() and the quarantine copy's source read
  // (objects.get); file.save() of reports/<name>.json and copy() to quarantine/<name>, both overwriting on a
  // redelivery (objects.create + objects.delete), under those two prefixes only; no list, no metadata, no IAM.
  uploads: [
    'roles/storage.legacyObjectReader on bucket uploads',
    `custom role uploads_object_writer (storage.objects.create, storage.objects.delete) on bucket uploads if resource.name.startsWith("projects/_/buckets/${tf('google_storage_bucket.uploads.name')}/objects/reports/") || resource.name.startsWith("projects/_/buckets/${tf('google_storage_bucket.uploads.name')}/objects/quarantine/")`,
    // Firestore: documents of the labels database only, not every database of the project.
    `roles/datastore.user on project if resource.name == "projects/${tf('var.project_id')}/databases/${tf('google_firestore_database.labels.name')}"`,
    'roles/bigquery.dataEditor on dataset cohorts',
    'roles/bigquery.dataEditor on dataset staging',
    'roles/bigquery.jobUser on project',
  ],
  // Reads image documents for their DICOM identity; the DICOM store itself is Google's, granted by Google.
  dicom: ['roles/datastore.viewer on project'],
  uploads_trigger: ['roles/eventarc.eventReceiver on project', 'roles/run.invoker on function uploads'],
  gateway: [
    'roles/run.invoker on function labels',
    'roles/run.invoker on function cohorts',
    'roles/run.invoker on function signer',
    'roles/run.invoker on function dicom',
  ],
  build: ['roles/run.builder on project'],
  'gcs service agent': ['roles/pubsub.publisher on project'],
  // Granted explicitly: a service agent created by google_project_service_identity may not hold it yet.
  'eventarc service agent': ['roles/eventarc.serviceAgent on project'],
  // Client principals allowed to enable the API in their own projects and create their own keys there.
  'api consumers': ['roles/servicemanagement.serviceConsumer on api managed service'],
};

/** Stand-in values for the expressions the configuration sets environment variables to. */
const SAMPLE_VALUES: Record<string, string> = {
  'var.project_id': 'nih-cxr-test',
  'local.billing_project': 'nih-cxr-billing',
  'google_firestore_database.labels.name': '(default)',
  'google_bigquery_dataset.cohorts.dataset_id': 'nih_cxr',
  'google_bigquery_dataset.cohorts.location': 'US',
  'google_bigquery_dataset.staging.dataset_id': 'nih_cxr_staging',
  // api.cors_origins is empty by default: no CORS headers.
  'local.cors_origins': '',
  'google_storage_bucket.uploads.name': 'nih-cxr-test-nih-cxr-uploads',
  'tostring(var.bigquery.max_bytes_billed)': '1073741824',
  'tostring(var.functions.uploads.timeout_seconds + 60)': '600',
  // hmac_access_id is null by default: IAM signBlob, no HMAC secret mounted.
  'local.hmac_enabled ? "hmac" : "iam"': 'iam',
  'local.hmac_enabled ? var.hmac_access_id : ""': '',
  'local.hmac_enabled': 'false',
  'local.dicom_store':
    'projects/chc-nih-chest-xray/locations/us-central1/datasets/nih-chest-xray/dicomStores/nih-chest-xray',
  'var.dicom.viewer_url': 'https://viewer.ohif.org/viewer?StudyInstanceUIDs={studyInstanceUid}',
};

/** Stand-in for every secret the configuration mounts as an environment variable. */
const SAMPLE_SECRET = 'sample-secret-value-0123456789abcdef0123456789';

/**
 * The environment a function's bundle starts with in the cloud: what Terraform sets (expressions replaced by
 * sample values, secrets by a sample secret) plus what Cloud Run sets. Loading the bundle with it shows that configuration passes the
 * function's start-up validation.
 */
export function sampleEnvironment(
  call: Record<string, unknown> | undefined,
  folder: string,
): Record<string, string> {
  const env: Record<string, string> = {
    K_SERVICE: `nih-cxr-${folder}`,
    K_REVISION: `nih-cxr-${folder}-00001`,
    PORT: '8080',
  };
  for (const [k, v] of Object.entries((call?.environment_variables ?? {}) as Record<string, unknown>)) {
    const e = expr(v);
    if (typeof v === 'string' && e === v) env[k] = v;
    else if (e !== undefined && e in SAMPLE_VALUES) env[k] = SAMPLE_VALUES[e]!;
    else throw new Error(`${folder}: no sample value for ${k} = ${String(v)}; add one to SAMPLE_VALUES`);
  }
  const secrets = (call?.secret_environment_variables ?? {}) as Record<string, { enabled?: unknown }>;
  for (const [k, v] of Object.entries(secrets)) {
    const enabled =
      v.enabled === undefined ? 'true' : String(SAMPLE_VALUES[expr(v.enabled) ?? ''] ?? v.enabled);
    if (enabled === 'true') env[k] = SAMPLE_SECRET;
  }
  return env;
}
