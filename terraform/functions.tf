/**
 * The four functions, one module call per folder of functions/. Each runs as its own service account
 * (iam.tf), which holds exactly the roles it uses; each call depends on those grants, so that the first
 * revision starts with its permissions and secrets readable. The HTTP functions can be invoked only by the
 * gateway's service account, the upload function only by its Eventarc trigger's service account.
 */

module "labels" {
  source = "./modules/function"

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name_prefix}-labels"
  description           = "Image labels from Firestore: GET /v1/images/{imageId}, POST /v1/images:batchGet, GET /v1/patients/{patientId}/images."
  entry_point           = "labels"
  runtime               = "nodejs24"
  source_archive        = { bucket = google_storage_bucket.sources.name, object = google_storage_bucket_object.source["labels"].output_name }
  service_account_email = google_service_account.functions["labels"].email
  build_service_account = google_service_account.build.id
  resources             = var.functions.labels
  invokers              = { gateway = google_service_account.gateway.member }
  labels                = local.labels

  environment_variables = {
    GOOGLE_CLOUD_PROJECT  = var.project_id
    FIRESTORE_DATABASE_ID = google_firestore_database.labels.name
    CORS_ORIGINS          = local.cors_origins
    # The `links` of a record with a DICOM identity (no access to the store needed for a link).
    DICOM_STORE      = local.dicom_store
    DICOM_VIEWER_URL = var.dicom.viewer_url
  }

  depends_on = [
    google_project_iam_member.build_run_builder,
    google_project_iam_member.labels_datastore_viewer,
  ]
}

module "cohorts" {
  source = "./modules/function"

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name_prefix}-cohorts"
  description           = "Cohort queries on BigQuery: POST /v1/cohorts:query, :summary and :export (CSV/NDJSON, gs:// or signed URLs)."
  entry_point           = "cohorts"
  runtime               = "nodejs24"
  source_archive        = { bucket = google_storage_bucket.sources.name, object = google_storage_bucket_object.source["cohorts"].output_name }
  service_account_email = google_service_account.functions["cohorts"].email
  build_service_account = google_service_account.build.id
  resources             = var.functions.cohorts
  invokers              = { gateway = google_service_account.gateway.member }
  labels                = local.labels

  environment_variables = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    CORS_ORIGINS         = local.cors_origins
    COHORT_STORE         = "bigquery"
    BQ_DATASET           = google_bigquery_dataset.cohorts.dataset_id
    BQ_LOCATION          = google_bigquery_dataset.cohorts.location
    BQ_MAX_BYTES_BILLED  = tostring(var.bigquery.max_bytes_billed)
    # Exports with `urls: "signed"` sign in this function, like the signer does: it needs the HMAC secret too.
    BILLING_PROJECT = local.billing_project
    SIGNER          = local.hmac_enabled ? "hmac" : "iam"
    HMAC_ACCESS_ID  = local.hmac_enabled ? var.hmac_access_id : ""
    # The export's dicomLinks columns (no access to the store needed for a link).
    DICOM_STORE      = local.dicom_store
    DICOM_VIEWER_URL = var.dicom.viewer_url
  }
  secret_environment_variables = {
    # Pinned to the version Terraform wrote, so that rotating the secret redeploys the function.
    PAGE_TOKEN_SECRET = {
      secret  = google_secret_manager_secret.page_token.secret_id
      version = google_secret_manager_secret_version.page_token.version
    }
    HMAC_SECRET = { secret = google_secret_manager_secret.hmac.secret_id, enabled = local.hmac_enabled }
  }

  depends_on = [
    google_project_iam_member.build_run_builder,
    google_project_iam_member.cohorts_bigquery_job_user,
    google_bigquery_dataset_iam_member.cohorts_data_viewer,
    google_secret_manager_secret_iam_member.cohorts_page_token_secret,
    google_service_account_iam_member.cohorts_sign_blob_self,
    google_project_iam_member.cohorts_requester_pays,
    google_secret_manager_secret_iam_member.cohorts_hmac_secret,
  ]
}

module "signer" {
  source = "./modules/function"

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name_prefix}-signer"
  description           = "V4 signed URLs for the requester-pays dataset bucket: POST /v1/images:signUrls, GET /v1/images/{imageId}/content."
  entry_point           = "signer"
  runtime               = "nodejs24"
  source_archive        = { bucket = google_storage_bucket.sources.name, object = google_storage_bucket_object.source["signer"].output_name }
  service_account_email = google_service_account.functions["signer"].email
  build_service_account = google_service_account.build.id
  resources             = var.functions.signer
  invokers              = { gateway = google_service_account.gateway.member }
  labels                = local.labels

  environment_variables = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    CORS_ORIGINS         = local.cors_origins
    BILLING_PROJECT      = local.billing_project
    SIGNER               = local.hmac_enabled ? "hmac" : "iam"
    HMAC_ACCESS_ID       = local.hmac_enabled ? var.hmac_access_id : ""
  }
  secret_environment_variables = {
    HMAC_SECRET = { secret = google_secret_manager_secret.hmac.secret_id, enabled = local.hmac_enabled }
  }

  depends_on = [
    google_project_iam_member.build_run_builder,
    google_service_account_iam_member.signer_sign_blob_self,
    google_project_iam_member.signer_requester_pays,
    google_secret_manager_secret_iam_member.signer_hmac_secret,
  ]
}

module "uploads" {
  source = "./modules/function"

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name_prefix}-uploads"
  description           = "Loads label files and registers images finalized in the uploads bucket; writes reports/ and quarantine/."
  entry_point           = "processUpload"
  runtime               = "nodejs24"
  source_archive        = { bucket = google_storage_bucket.sources.name, object = google_storage_bucket_object.source["uploads"].output_name }
  service_account_email = google_service_account.functions["uploads"].email
  build_service_account = google_service_account.build.id
  resources             = var.functions.uploads
  ingress_settings      = "ALLOW_INTERNAL_ONLY"
  invokers              = { trigger = google_service_account.uploads_trigger.member }
  labels                = local.labels

  event_trigger = {
    event_type            = "google.cloud.storage.object.v1.finalized"
    trigger_region        = var.region
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.uploads_trigger.email
    filters               = { bucket = google_storage_bucket.uploads.name }
  }

  environment_variables = {
    GOOGLE_CLOUD_PROJECT  = var.project_id
    UPLOADS_BUCKET        = google_storage_bucket.uploads.name
    FIRESTORE_DATABASE_ID = google_firestore_database.labels.name
    COHORT_STORE          = "bigquery"
    BQ_DATASET            = google_bigquery_dataset.cohorts.dataset_id
    BQ_STAGING_DATASET    = google_bigquery_dataset.staging.dataset_id
    BQ_LOCATION           = google_bigquery_dataset.cohorts.location
    BQ_MAX_BYTES_BILLED   = tostring(var.bigquery.max_bytes_billed)
    # A lease outlives the attempt holding it, so that a live attempt is never taken over.
    UPLOAD_LEASE_SECONDS = tostring(var.functions.uploads.timeout_seconds + 60)
  }

  depends_on = [
    google_project_iam_member.build_run_builder,
    google_storage_bucket_iam_member.uploads_object_reader,
    google_storage_bucket_iam_member.uploads_object_writer,
    google_project_iam_member.uploads_datastore_user,
    google_bigquery_dataset_iam_member.uploads_data_editor,
    google_bigquery_dataset_iam_member.uploads_staging_editor,
    google_project_iam_member.uploads_bigquery_job_user,
    time_sleep.service_agents,
  ]
}

# The DICOM store is Google's (chc-nih-chest-xray): no grant of ours reaches it. Google grants read access to
# this function's service account after the access form (docs/deploy.md); until then the routes answer 403.
module "dicom" {
  source = "./modules/function"

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name_prefix}-dicom"
  description           = "DICOMweb for one image, proxied to the Healthcare API store: GET /v1/images/{imageId}/dicom/metadata, /rendered, /instance."
  entry_point           = "dicom"
  runtime               = "nodejs24"
  source_archive        = { bucket = google_storage_bucket.sources.name, object = google_storage_bucket_object.source["dicom"].output_name }
  service_account_email = google_service_account.functions["dicom"].email
  build_service_account = google_service_account.build.id
  resources             = var.functions.dicom
  invokers              = { gateway = google_service_account.gateway.member }
  labels                = local.labels

  environment_variables = {
    GOOGLE_CLOUD_PROJECT  = var.project_id
    FIRESTORE_DATABASE_ID = google_firestore_database.labels.name
    CORS_ORIGINS          = local.cors_origins
    DICOM_STORE           = local.dicom_store
    DICOM_VIEWER_URL      = var.dicom.viewer_url
  }

  depends_on = [
    google_project_iam_member.build_run_builder,
    google_project_iam_member.dicom_datastore_viewer,
  ]
}
