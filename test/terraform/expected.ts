/** What the deployment is meant to grant, stated once here: the tests compare the configuration with it. */
import { expr } from './hcl.ts';

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
  uploads: [
    'roles/storage.objectAdmin on bucket uploads',
    'roles/datastore.user on project',
    'roles/bigquery.dataEditor on dataset cohorts',
    'roles/bigquery.jobUser on project',
  ],
  uploads_trigger: ['roles/eventarc.eventReceiver on project', 'roles/run.invoker on function uploads'],
  gateway: [
    'roles/run.invoker on function labels',
    'roles/run.invoker on function cohorts',
    'roles/run.invoker on function signer',
  ],
  build: ['roles/run.builder on project'],
  'gcs service agent': ['roles/pubsub.publisher on project'],
};

/** Stand-in values for the expressions the configuration sets environment variables to. */
const SAMPLE_VALUES: Record<string, string> = {
  'var.project_id': 'nih-cxr-test',
  'local.billing_project': 'nih-cxr-billing',
  'google_firestore_database.labels.name': '(default)',
  'google_bigquery_dataset.cohorts.dataset_id': 'nih_cxr',
  'google_bigquery_dataset.cohorts.location': 'US',
  'google_storage_bucket.uploads.name': 'nih-cxr-test-nih-cxr-uploads',
  'tostring(var.bigquery.max_bytes_billed)': '1073741824',
  'tostring(var.functions.uploads.timeout_seconds + 60)': '600',
  // hmac_access_id is null by default: IAM signBlob, no HMAC secret mounted.
  'local.hmac_enabled ? "hmac" : "iam"': 'iam',
  'local.hmac_enabled ? var.hmac_access_id : ""': '',
  'local.hmac_enabled': 'false',
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
