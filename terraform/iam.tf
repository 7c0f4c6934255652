/**
 * Every grant of the deployment, one resource per (identity, role, resource), each on the narrowest resource
 * that works. Additive *_iam_member only: no authoritative bindings, no basic roles, nothing public.
 * The functions' service accounts live here, not in modules/function, so that each function's grants
 * (secret accessors included) exist before its first revision starts: functions.tf makes each module call
 * depend on its grants. Every identity waits for the APIs (IAM, Cloud Resource Manager) it is created with.
 */

resource "google_service_account" "functions" {
  for_each = local.function_folders

  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.key}"
  display_name = "${var.name_prefix}-${each.key} function"
  description  = "Runtime identity of the ${var.name_prefix}-${each.key} function; holds only the roles that function uses."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "gateway" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-gateway"
  display_name = "${var.name_prefix} API Gateway"
  description  = "Identity API Gateway uses to call the HTTP functions (run.invoker on those three only)."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "uploads_trigger" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-uploads-trigger"
  display_name = "${var.name_prefix} uploads Eventarc trigger"
  description  = "Identity of the Eventarc trigger that delivers uploads-bucket events to the upload function."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "${var.name_prefix} function builds"
  description  = "Identity Cloud Build uses to build the functions' containers from their source bundles."

  depends_on = [google_project_service.apis]
}

# labels: reads image documents.
resource "google_project_iam_member" "labels_datastore_viewer" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = google_service_account.functions["labels"].member
}

# dicom: reads image documents (for the DICOM identity). Its access to the DICOM store is granted by Google.
resource "google_project_iam_member" "dicom_datastore_viewer" {
  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = google_service_account.functions["dicom"].member
}

# cohorts: runs query jobs in the project, reads the cohort dataset only, reads its page-token key; exports
# with signed URLs sign like the signer (signBlob as itself, requester-pays billing, the HMAC secret).
resource "google_project_iam_member" "cohorts_bigquery_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.functions["cohorts"].member
}

resource "google_bigquery_dataset_iam_member" "cohorts_data_viewer" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.cohorts.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.functions["cohorts"].member
}

resource "google_secret_manager_secret_iam_member" "cohorts_page_token_secret" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.page_token.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.functions["cohorts"].member
}

resource "google_service_account_iam_member" "cohorts_sign_blob_self" {
  service_account_id = google_service_account.functions["cohorts"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.functions["cohorts"].member
}

resource "google_project_iam_member" "cohorts_requester_pays" {
  project = local.billing_project
  role    = "roles/serviceusage.serviceUsageConsumer"
  member  = google_service_account.functions["cohorts"].member
}

resource "google_secret_manager_secret_iam_member" "cohorts_hmac_secret" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.hmac.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.functions["cohorts"].member
}

# signer: signBlob as itself (no key), requester-pays billing, and the HMAC secret only.
resource "google_service_account_iam_member" "signer_sign_blob_self" {
  service_account_id = google_service_account.functions["signer"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.functions["signer"].member
}

resource "google_project_iam_member" "signer_requester_pays" {
  project = local.billing_project
  role    = "roles/serviceusage.serviceUsageConsumer"
  member  = google_service_account.functions["signer"].member
}

resource "google_secret_manager_secret_iam_member" "signer_hmac_secret" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.hmac.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.functions["signer"].member
}

# uploads: what shared/uploads calls, no more. Storage: reads an upload (objects.get: createReadStream, and
# the source of the quarantine copy); writes reports/<name>.json and quarantine/<name>, which a redelivery
# overwrites (objects.create + objects.delete), under those two prefixes only. It never lists, never
# changes metadata or IAM. Firestore: reads and writes documents of the labels database only.
resource "google_storage_bucket_iam_member" "uploads_object_reader" {
  bucket = google_storage_bucket.uploads.name
  role   = "roles/storage.legacyObjectReader"
  member = google_service_account.functions["uploads"].member
}

resource "google_project_iam_custom_role" "uploads_object_writer" {
  project     = var.project_id
  role_id     = "${replace(var.name_prefix, "-", "_")}_uploads_object_writer"
  title       = "${var.name_prefix} upload reports writer"
  description = "Create and overwrite objects (reports/, quarantine/) in the uploads bucket; granted with a prefix condition."
  permissions = ["storage.objects.create", "storage.objects.delete"]

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "uploads_object_writer" {
  bucket = google_storage_bucket.uploads.name
  role   = google_project_iam_custom_role.uploads_object_writer.name
  member = google_service_account.functions["uploads"].member

  condition {
    title       = "reports and quarantine only"
    description = "The upload function writes only its reports and quarantined copies."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.uploads.name}/objects/reports/\") || resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.uploads.name}/objects/quarantine/\")"
  }
}

resource "google_project_iam_member" "uploads_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.functions["uploads"].member

  condition {
    title       = "labels database only"
    description = "Firestore access to the labels database, not to every database of the project."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${google_firestore_database.labels.name}\""
  }
}

resource "google_bigquery_dataset_iam_member" "uploads_staging_editor" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.staging.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.functions["uploads"].member
}

resource "google_bigquery_dataset_iam_member" "uploads_data_editor" {
  project    = var.project_id
  dataset_id = google_bigquery_dataset.cohorts.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.functions["uploads"].member
}

resource "google_project_iam_member" "uploads_bigquery_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.functions["uploads"].member
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

# Google-managed service agents. Eventarc's needs its role before a trigger can be created (granted
# explicitly: a freshly created agent may not have it yet); Cloud Storage's publishes bucket events to Pub/Sub.
resource "google_project_iam_member" "eventarc_service_agent" {
  project = var.project_id
  role    = "roles/eventarc.serviceAgent"
  member  = google_project_service_identity.agents["eventarc.googleapis.com"].member
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
