/** Deliberate breakages of a copy of terraform/: each must make the named check report a matching problem. */
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
    from: 'member = module.uploads.service_account_member',
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
    from: /resource "google_storage_bucket_iam_member" "uploads_object_admin" \{\n {2}bucket = google_storage_bucket.uploads.name/,
    to: 'resource "google_project_iam_member" "uploads_object_admin" {\n  project = var.project_id',
    fails: 'serviceAccountRoles',
    message: /uploads: unexpected roles\/storage.objectAdmin on project/,
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
