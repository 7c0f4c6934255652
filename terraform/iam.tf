/**
 * Every grant of the deployment, one resource per (identity, role, resource), each on the narrowest resource
 * that works. Additive *_iam_member only: no authoritative bindings, no basic roles, nothing public.
 * The functions' own service accounts are created by modules/function; the ones below are the other identities.
 */

resource "google_service_account" "gateway" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-gateway"
  display_name = "${var.name_prefix} API Gateway"
  description  = "Identity API Gateway uses to call the HTTP functions (run.invoker on those three only)."
}

resource "google_service_account" "uploads_trigger" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-uploads-trigger"
  display_name = "${var.name_prefix} uploads Eventarc trigger"
  description  = "Identity of the Eventarc trigger that delivers uploads-bucket events to the upload function."
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "${var.name_prefix} function builds"
  description  = "Identity Cloud Build uses to build the functions' containers from their source bundles."
}

# labels: reads image documents.
resource "google_project_iam_member" "labels_datastore_viewer" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = module.labels.service_account_member
}

# cohorts: runs query jobs in the project, reads the cohort dataset only, reads its page-token key; exports
# with signed URLs sign like the signer (signBlob as itself, requester-pays billing, the HMAC secret).
resource "google_project_iam_member" "cohorts_bigquery_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = module.cohorts.service_account_member
}

resource "google_bigquery_dataset_iam_member" "cohorts_data_viewer" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.cohorts.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = module.cohorts.service_account_member
}

resource "google_secret_manager_secret_iam_member" "cohorts_page_token_secret" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.page_token.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = module.cohorts.service_account_member
}

resource "google_service_account_iam_member" "cohorts_sign_blob_self" {
  service_account_id = module.cohorts.service_account_name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = module.cohorts.service_account_member
}

resource "google_project_iam_member" "cohorts_requester_pays" {
  project = local.billing_project
  role    = "roles/serviceusage.serviceUsageConsumer"
  member  = module.cohorts.service_account_member
}

resource "google_secret_manager_secret_iam_member" "cohorts_hmac_secret" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.hmac.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = module.cohorts.service_account_member
}

# signer: signBlob as itself (no key), requester-pays billing, and the HMAC secret only.
resource "google_service_account_iam_member" "signer_sign_blob_self" {
  service_account_id = module.signer.service_account_name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = module.signer.service_account_member
}

resource "google_project_iam_member" "signer_requester_pays" {
  project = local.billing_project
  role    = "roles/serviceusage.serviceUsageConsumer"
  member  = module.signer.service_account_member
}

resource "google_secret_manager_secret_iam_member" "signer_hmac_secret" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.hmac.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = module.signer.service_account_member
}

# uploads: reads uploads and writes reports/ and quarantine/ in its bucket only, writes Firestore, loads the dataset.
resource "google_storage_bucket_iam_member" "uploads_object_admin" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.objectAdmin"
  member = module.uploads.service_account_member
}

resource "google_project_iam_member" "uploads_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = module.uploads.service_account_member
}

resource "google_bigquery_dataset_iam_member" "uploads_data_editor" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.cohorts.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = module.uploads.service_account_member
}

resource "google_project_iam_member" "uploads_bigquery_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = module.uploads.service_account_member
}

# The Eventarc trigger receives the events; its run.invoker on the upload function is granted by the module call.
resource "google_project_iam_member" "uploads_trigger_event_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.uploads_trigger.member
}

# Builds of the function containers.
resource "google_project_iam_member" "build_run_builder" {
  project = var.project_id
  role    = "roles/run.builder"
  member  = google_service_account.build.member
}

# Google-managed: Cloud Storage's service agent publishes bucket events for Eventarc.
data "google_storage_project_service_account" "gcs" {
  project = var.project_id

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "gcs_pubsub_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = data.google_storage_project_service_account.gcs.member
}
