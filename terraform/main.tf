/**
 * nih-cxr: four Cloud Run functions (labels, cohorts, signer, uploads) behind an API Gateway, with the
 * uploads bucket, Firestore, BigQuery and the HMAC secret they use. Every function runs as its own service
 * account; iam.tf grants each one only the roles it uses. Nothing here is publicly invokable.
 */

locals {
  billing_project = coalesce(var.billing_project, var.project_id)
  build_dir       = coalesce(var.build_dir, "${path.module}/../dist/functions")
  gateway_region  = coalesce(var.api.gateway_region, var.region)
  uploads_bucket  = coalesce(var.uploads_bucket.name, "${var.project_id}-${var.name_prefix}-uploads")
  labels          = merge(var.labels, { app = var.name_prefix })
  # The HMAC secret is mounted only once hmac_access_id is set: until then the secret has no version.
  hmac_enabled = var.hmac_access_id != null
  # CORS_ORIGINS of the HTTP functions: they answer the preflights the gateway passes through.
  cors_origins = join(",", var.api.cors_origins)

  # One bundle per folder of functions/; `npm run build` writes manifest.json: { "<folder>": { "zip": "<folder>-<sha256>.zip", ... } }.
  function_folders = toset(["labels", "cohorts", "signer", "uploads", "dicom"])
  # DICOM_STORE / DICOM_VIEWER_URL of the dicom function, and of labels for the `links` of a record.
  dicom_store = var.dicom.store == null ? "" : var.dicom.store
  bundles     = jsondecode(file("${local.build_dir}/manifest.json"))

  apis = toset([
    "apigateway.googleapis.com",
    "apikeys.googleapis.com",
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "eventarc.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicecontrol.googleapis.com",
    "servicemanagement.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
  ])

  # Google-managed service agents the Eventarc storage trigger needs before it can be created.
  service_agents = toset(["eventarc.googleapis.com", "pubsub.googleapis.com"])
}

# Every resource below waits for these (depends_on or a reference to something that does): on an empty
# project the first apply would otherwise race the enablement. docs/deploy.md lists the ordering rules.
resource "google_project_service" "apis" {
  for_each = var.enable_apis ? local.apis : toset([])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# Service agents are created lazily by Google, sometimes minutes after the API is enabled; the Eventarc
# trigger fails until they exist (terraform-provider-google #14584, #25294). Create them explicitly.
resource "google_project_service_identity" "agents" {
  provider = google-beta
  for_each = local.service_agents

  project = var.project_id
  service = each.value

  depends_on = [google_project_service.apis]
}

# IAM grants to new identities take a while to propagate; the trigger is created only after this wait.
resource "time_sleep" "service_agents" {
  create_duration = var.iam_propagation_wait

  depends_on = [
    google_project_service_identity.agents,
    google_project_iam_member.eventarc_service_agent,
    google_project_iam_member.gcs_pubsub_publisher,
    google_project_iam_member.uploads_trigger_event_receiver,
  ]
}

# Function sources: one zip per bundle, named by its content hash so that changed code redeploys.
resource "google_storage_bucket" "sources" {
  project                     = var.project_id
  name                        = "${var.project_id}-${var.name_prefix}-sources"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # build artefacts only: every zip can be rebuilt from the repository
  labels                      = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "source" {
  for_each = local.function_folders

  bucket       = google_storage_bucket.sources.name
  name         = local.bundles[each.key].zip
  source       = "${local.build_dir}/${local.bundles[each.key].zip}"
  content_type = "application/zip"
}

# Uploaded label files and images; the upload function writes reports/ and quarantine/ here too.
resource "google_storage_bucket" "uploads" {
  project                     = var.project_id
  name                        = local.uploads_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.uploads_bucket.force_destroy
  labels                      = local.labels

  dynamic "lifecycle_rule" {
    for_each = var.uploads_bucket.report_retention_days > 0 ? ["reports/", "quarantine/"] : []
    content {
      condition {
        age            = var.uploads_bucket.report_retention_days
        matches_prefix = [lifecycle_rule.value]
      }
      action {
        type = "Delete"
      }
    }
  }

  depends_on = [google_project_service.apis]
}

# The HMAC secret of the signer's fast path. Terraform creates the secret only: its value is added out of
# band (`gcloud secrets versions add`, docs/deploy.md), so it never enters the Terraform state.
resource "google_secret_manager_secret" "hmac" {
  project   = var.project_id
  secret_id = "${var.name_prefix}-hmac-secret"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

# Key of the cohorts function's tamper-checked page tokens. Terraform generates it (an ephemeral value) and
# writes it through a write-only attribute: it appears in neither the plan nor the state. Bump
# var.page_token_secret_version to rotate it (outstanding page tokens then stop working).
resource "google_secret_manager_secret" "page_token" {
  project   = var.project_id
  secret_id = "${var.name_prefix}-page-token-secret"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

ephemeral "random_password" "page_token" {
  length  = 48
  special = false
}

resource "google_secret_manager_secret_version" "page_token" {
  secret                 = google_secret_manager_secret.page_token.id
  secret_data_wo         = ephemeral.random_password.page_token.result
  secret_data_wo_version = var.page_token_secret_version
}
