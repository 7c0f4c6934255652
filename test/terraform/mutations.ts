/** Deliberate breakages of a copy of terraform/: each must make the named check report a matching problem. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTerraform, type TfConfig } from './hcl.ts';

/** The checks of terraform.test.ts, by name. */
export type CheckName =
  | 'functions'
  | 'primitiveRoles'
  | 'publicAccess'
  | 'serviceAccountRoles'
  | 'variables'
  | 'bigQuerySchema'
  | 'uploadTrigger'
  | 'gateway'
  | 'generated'
  | 'secrets';

export interface Mutation {
  name: string;
  file: string;
  from: string | RegExp;
  to: string;
  fails: CheckName;
  message: RegExp;
}

export const MUTATIONS: Mutation[] = [
  {
    name: 'a basic role',
    file: 'iam.tf',
    from: 'role    = "roles/datastore.viewer"',
    to: 'role    = "roles/viewer"',
    fails: 'primitiveRoles',
    message: /roles\/viewer/,
  },
  {
    name: 'an allUsers invoker',
    file: 'functions.tf',
    from: 'invokers              = { gateway = google_service_account.gateway.member }',
    to: 'invokers              = { gateway = google_service_account.gateway.member, public = "allUsers" }',
    fails: 'publicAccess',
    message: /allUsers/,
  },
  {
    name: 'an allAuthenticatedUsers grant',
    file: 'iam.tf',
    from: 'member = google_service_account.functions["uploads"].member',
    to: 'member = "allAuthenticatedUsers"',
    fails: 'publicAccess',
    message: /allAuthenticatedUsers/,
  },
  {
    name: 'a variable without description',
    file: 'modules/function/variables.tf',
    from: /\n {2}description = "One line saying what the function does."/,
    to: '',
    fails: 'variables',
    message: /modules\/function: variable description has no description/,
  },
  {
    name: 'a variable without type',
    file: 'variables.tf',
    from: /(variable "region" \{)\n {2}type {8}= string/,
    to: '$1',
    fails: 'variables',
    message: /variable region has no type/,
  },
  {
    name: 'the wrong runtime',
    file: 'functions.tf',
    from: /runtime( +)= "nodejs24"/,
    to: 'runtime$1= "nodejs22"',
    fails: 'functions',
    message: /runtime is nodejs22/,
  },
  {
    name: 'a drifted BigQuery schema',
    file: 'generated/bigquery-cohort_images.json',
    from: '"type": "INTEGER"',
    to: '"type": "STRING"',
    fails: 'bigQuerySchema',
    message: /cohort_images.*differs from bigQueryTableSchema/,
  },
  {
    name: 'an entry point the bundle does not register',
    file: 'functions.tf',
    from: 'entry_point           = "signer"',
    to: 'entry_point           = "signUrls"',
    fails: 'functions',
    message: /entry point signUrls is not registered/,
  },
  {
    name: 'an extra role for a function',
    file: 'iam.tf',
    from: 'role    = "roles/serviceusage.serviceUsageConsumer"',
    to: 'role    = "roles/storage.admin"',
    fails: 'serviceAccountRoles',
    message: /cohorts: unexpected roles\/storage.admin on billing project/,
  },
  {
    name: 'a project-wide grant where a resource-level one is due',
    file: 'iam.tf',
    from: /resource "google_storage_bucket_iam_member" "uploads_object_reader" \{\n {2}bucket = google_storage_bucket.uploads.name/,
    to: 'resource "google_project_iam_member" "uploads_object_reader" {\n  project = var.project_id',
    fails: 'serviceAccountRoles',
    message: /uploads: unexpected roles\/storage.legacyObjectReader on project/,
  },
  {
    name: 'a trigger without the explicit retry policy',
    file: 'functions.tf',
    from: /\n +retry_policy += "RETRY_POLICY_RETRY"/,
    to: '',
    fails: 'uploadTrigger',
    message: /retry_policy is undefined/,
  },
  {
    name: 'a trigger on another bucket',
    file: 'functions.tf',
    from: 'filters               = { bucket = google_storage_bucket.uploads.name }',
    to: 'filters               = { bucket = google_storage_bucket.sources.name }',
    fails: 'uploadTrigger',
    message: /bucket filter is google_storage_bucket.sources.name/,
  },
  {
    name: 'a second function for the same folder',
    file: 'functions.tf',
    from: 'module "labels" {',
    to: 'module "labels_copy" {\n  source         = "./modules/function"\n  source_archive = { bucket = "b", object = google_storage_bucket_object.source["labels"].output_name }\n}\n\nmodule "labels" {',
    fails: 'functions',
    message: /functions\/labels: 2 function resources/,
  },
  {
    name: 'a gateway operation sent to the wrong function',
    file: 'gateway.tf',
    from: 'backend_signer  = module.signer.uri',
    to: 'backend_signer  = module.labels.uri',
    fails: 'gateway',
    message: /gateway backend is labels, but functions\/signer serves it/,
  },
  {
    name: 'a secret value written into the state',
    file: 'main.tf',
    from: 'secret_data_wo         = ephemeral.random_password.page_token.result',
    to: 'secret_data            = "not-so-secret"',
    fails: 'secrets',
    message: /sets secret_data, which is kept in state/,
  },
  {
    name: 'an HMAC key created by Terraform',
    file: 'main.tf',
    from: 'resource "google_secret_manager_secret" "hmac" {',
    to: 'resource "google_storage_hmac_key" "signer" {\n  service_account_email = module.signer.service_account_email\n}\n\nresource "google_secret_manager_secret" "hmac" {',
    fails: 'secrets',
    message: /google_storage_hmac_key.signer would keep its secret/,
  },
];

/** The checks of the deploy-from-zero and least-exposure tests (offline.test.ts). */
export type DeployCheckName = 'ordering' | 'schema' | 'exposure';

export interface DeployMutation extends Omit<Mutation, 'fails'> {
  fails: DeployCheckName;
}

/**
 * Runs `check` on a parsed copy of `terraformDir` with one mutation applied (the copy exists while it runs).
 * Throws when the mutation changes nothing, so that a mutation outdated by an edit of terraform/ cannot
 * pass silently.
 */
export async function withMutated<T>(
  terraformDir: string,
  m: Pick<Mutation, 'name' | 'file' | 'from' | 'to'>,
  check: (c: TfConfig) => T | Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'nih-cxr-tf-broken-'));
  try {
    cpSync(terraformDir, dir, { recursive: true, filter: (src) => !src.includes('/.terraform') });
    const path = join(dir, m.file);
    const original = readFileSync(path, 'utf8');
    const broken = original.replace(m.from, m.to);
    if (broken === original) throw new Error(`mutation "${m.name}" changed nothing in ${m.file}`);
    writeFileSync(path, broken);
    return await check(await loadTerraform(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const DEPLOY_MUTATIONS: DeployMutation[] = [
  // Ordering of a first apply on an empty project.
  {
    name: 'a service account created before IAM is enabled',
    file: 'iam.tf',
    from: /(display_name = "\$\{var.name_prefix\} function builds"[\s\S]*?)\n\n {2}depends_on = \[google_project_service.apis\]/,
    to: '$1',
    fails: 'ordering',
    message: /^google_service_account.build does not wait for google_project_service.apis/,
  },
  {
    name: 'a data source read before Storage is enabled',
    file: 'iam.tf',
    from: /(data "google_storage_project_service_account" "gcs" \{\n {2}project = var.project_id)\n\n {2}depends_on = \[google_project_service.apis\]/,
    to: '$1',
    fails: 'ordering',
    message: /^data.google_storage_project_service_account.gcs does not wait/,
  },
  {
    name: 'Cloud Resource Manager left disabled',
    file: 'main.tf',
    from: '    "cloudresourcemanager.googleapis.com",\n',
    to: '',
    fails: 'ordering',
    message: /cloudresourcemanager.googleapis.com is not enabled/,
  },
  {
    name: 'no Eventarc service agent',
    file: 'main.tf',
    from: 'service_agents = toset(["eventarc.googleapis.com", "pubsub.googleapis.com"])',
    to: 'service_agents = toset(["pubsub.googleapis.com"])',
    fails: 'ordering',
    message: /no google_project_service_identity for eventarc.googleapis.com/,
  },
  {
    name: 'a trigger created without the propagation wait',
    file: 'functions.tf',
    from: '    time_sleep.service_agents,\n',
    to: '',
    fails: 'ordering',
    message:
      /module.uploads.google_cloudfunctions2_function.this: its event trigger does not wait for a time_sleep/,
  },
  {
    name: "a wait that does not cover the Eventarc agent's grant",
    file: 'main.tf',
    from: '    google_project_iam_member.eventarc_service_agent,\n',
    to: '',
    fails: 'ordering',
    message: /does not come after google_project_iam_member.eventarc_service_agent/,
  },
  {
    name: 'a function that mounts a secret before its accessor grant',
    file: 'functions.tf',
    from: '    google_secret_manager_secret_iam_member.cohorts_hmac_secret,\n',
    to: '',
    fails: 'ordering',
    message:
      /module.cohorts.google_cloudfunctions2_function.this does not wait for google_secret_manager_secret_iam_member.cohorts_hmac_secret/,
  },
  {
    name: 'a function that starts before its BigQuery grant',
    file: 'functions.tf',
    from: '    google_project_iam_member.labels_datastore_viewer,\n',
    to: '',
    fails: 'ordering',
    message:
      /module.labels.google_cloudfunctions2_function.this does not wait for google_project_iam_member.labels_datastore_viewer/,
  },
  {
    name: "the gateway's managed service enabled before its config",
    file: 'gateway.tf',
    from: '\n\n  depends_on = [google_api_gateway_api_config.this]',
    to: '',
    fails: 'ordering',
    message: /google_project_service.gateway_managed_service is enabled before the gateway config/,
  },
  {
    name: "a grant to the function module's own output (a cycle)",
    file: 'iam.tf',
    from: 'member  = google_service_account.functions["cohorts"].member',
    to: 'member  = module.cohorts.service_account_email',
    fails: 'ordering',
    message: /dependency cycle: .*module.cohorts/,
  },
  // The providers' schemas.
  {
    name: 'an unknown argument',
    file: 'modules/function/main.tf',
    from: 'all_traffic_on_latest_revision   = true',
    to: 'all_traffic_on_latest_revisions  = true',
    fails: 'schema',
    message:
      /google_cloudfunctions2_function.this.service_config: unknown argument all_traffic_on_latest_revisions/,
  },
  {
    name: 'an unknown block',
    file: 'data.tf',
    from: '  index_config {',
    to: '  index_configs {',
    fails: 'schema',
    message: /google_firestore_field.labels: unknown block index_configs/,
  },
  {
    name: 'a missing required argument',
    file: 'iam.tf',
    from: '  role   = "roles/storage.legacyObjectReader"\n',
    to: '',
    fails: 'schema',
    message: /google_storage_bucket_iam_member.uploads_object_reader: missing required argument role/,
  },
  {
    name: 'a missing required argument of a nested block',
    file: 'iam.tf',
    from: '    title       = "labels database only"\n',
    to: '',
    fails: 'schema',
    message: /google_project_iam_member.uploads_datastore_user.condition: missing required argument title/,
  },
  {
    name: 'an event trigger without event_type (required since provider 7.0)',
    file: 'modules/function/main.tf',
    from: '      event_type            = event_trigger.value.event_type\n',
    to: '',
    fails: 'schema',
    message: /google_cloudfunctions2_function.this.event_trigger: missing required argument event_type/,
  },
  {
    name: 'service_config.service set (an output-only attribute since provider 7.0)',
    file: 'modules/function/main.tf',
    from: '    all_traffic_on_latest_revision   = true\n',
    to: '    all_traffic_on_latest_revision   = true\n    service                          = var.name\n',
    fails: 'schema',
    message: /google_cloudfunctions2_function.this.service_config: unknown argument service/,
  },
  {
    name: 'a misspelt resource type',
    file: 'data.tf',
    from: 'resource "google_bigquery_dataset" "staging" {',
    to: 'resource "google_bigquery_datasets" "staging" {',
    fails: 'schema',
    message: /unknown resource type google_bigquery_datasets/,
  },
  {
    name: 'a google-beta resource under the google provider',
    file: 'main.tf',
    from: /(resource "google_project_service_identity" "agents" \{\n) {2}provider = google-beta\n/,
    to: '$1',
    fails: 'schema',
    message:
      /google_project_service_identity.agents: unknown resource type google_project_service_identity \(google /,
  },
  {
    name: 'a reference to an attribute the resource does not have',
    file: 'gateway.tf',
    from: 'service            = google_api_gateway_api.this.managed_service',
    to: 'service            = google_api_gateway_api.this.managed_service_name',
    fails: 'schema',
    message: /google_api_gateway_api has no attribute managed_service_name/,
  },
  {
    name: 'a reference to an undeclared variable',
    file: 'functions.tf',
    from: 'region                = var.region',
    to: 'region                = var.regoin',
    fails: 'schema',
    message: /var.regoin is not declared/,
  },
  {
    name: 'a reference to a module output that does not exist',
    file: 'gateway.tf',
    from: 'backend_labels  = module.labels.uri',
    to: 'backend_labels  = module.labels.url',
    fails: 'schema',
    message: /module.labels has no output url/,
  },
  {
    name: 'a module argument the module does not declare',
    file: 'functions.tf',
    from: 'ingress_settings      = "ALLOW_INTERNAL_ONLY"',
    to: 'ingress               = "ALLOW_INTERNAL_ONLY"',
    fails: 'schema',
    message: /module uploads: unknown argument ingress/,
  },
  {
    name: 'a module call without a required variable',
    file: 'functions.tf',
    from: '  entry_point           = "labels"\n',
    to: '',
    fails: 'schema',
    message: /module labels: missing required argument entry_point/,
  },
  {
    name: 'an unknown provider argument',
    file: 'examples/basic/main.tf',
    from: 'user_project_override = true',
    to: 'user_project_overide  = true',
    fails: 'schema',
    message: /provider google: unknown argument user_project_overide/,
  },
  // Least exposure.
  {
    name: 'an API key created by Terraform',
    file: 'gateway.tf',
    from: '# Clients allowed to enable the API',
    to: 'resource "google_apikeys_key" "client" {\n  name = "client"\n}\n\n# Clients allowed to enable the API',
    fails: 'exposure',
    message: /google_apikeys_key.client would keep its secret in the Terraform state/,
  },
  {
    name: 'a key string in an output',
    file: 'outputs.tf',
    from: 'output "function_uris" {',
    to: 'output "key" {\n  value = google_apikeys_key.client.key_string\n}\n\noutput "function_uris" {',
    fails: 'exposure',
    message: /output key shows secret material/,
  },
  {
    name: 'the HMAC secret mounted in a function that signs nothing',
    file: 'functions.tf',
    from: '  labels                = local.labels\n',
    to: '  labels                = local.labels\n  secret_environment_variables = { HMAC_SECRET = { secret = google_secret_manager_secret.hmac.secret_id } }\n',
    fails: 'exposure',
    message: /^labels mounts HMAC_SECRET but signs nothing/,
  },
  {
    name: 'an HTTP function without the CORS origins',
    file: 'functions.tf',
    from: '    CORS_ORIGINS          = local.cors_origins\n',
    to: '',
    fails: 'exposure',
    message: /^labels: CORS_ORIGINS is not set from var.api.cors_origins/,
  },
  {
    name: 'clients not let own their keys (one shared quota)',
    file: 'gateway.tf',
    from: 'role         = "roles/servicemanagement.serviceConsumer"',
    to: 'role         = "roles/servicemanagement.serviceController"',
    fails: 'exposure',
    message: /no per-client quota/,
  },
  {
    name: 'objectAdmin on the uploads bucket again',
    file: 'iam.tf',
    from: 'role   = "roles/storage.legacyObjectReader"',
    to: 'role   = "roles/storage.objectAdmin"',
    fails: 'exposure',
    message: /uploads: unexpected roles\/storage.objectAdmin on bucket uploads/,
  },
  {
    name: 'datastore.user on the whole project again',
    file: 'iam.tf',
    from: /\n\n {2}condition \{\n {4}title {7}= "labels database only"\n[^\n]*\n[^\n]*\n {2}\}/,
    to: '',
    fails: 'exposure',
    message: /uploads: unexpected roles\/datastore.user on project(;|$)/,
  },
  {
    name: 'report writes allowed anywhere in the bucket',
    file: 'iam.tf',
    from: '/objects/quarantine/',
    to: '/objects/',
    fails: 'exposure',
    message:
      /uploads may write under \["","reports\/"\], but shared\/uploads writes under reports\/ and quarantine\//,
  },
];
