output "gateway_url" {
  description = "Public base URL of the API (send an API key as ?key= or the x-api-key header)."
  value       = "https://${google_api_gateway_gateway.this.default_hostname}"
}

output "api_managed_service" {
  description = "Managed service name of the API: API keys are created out of band, restricted to it (docs/deploy.md); Terraform never holds a key string."
  value       = google_api_gateway_api.this.managed_service
}

output "function_uris" {
  description = "Cloud Run URLs of the functions (not publicly invokable; call through the gateway)."
  value = {
    labels  = module.labels.uri
    cohorts = module.cohorts.uri
    signer  = module.signer.uri
    uploads = module.uploads.uri
    dicom   = module.dicom.uri
  }
}

output "service_accounts" {
  description = "Email of every service account the deployment created, by role in the system."
  value = {
    labels  = google_service_account.functions["labels"].email
    cohorts = google_service_account.functions["cohorts"].email
    signer  = google_service_account.functions["signer"].email
    uploads = google_service_account.functions["uploads"].email
    # Ask Google for read access to the NIH DICOM store for this account (docs/deploy.md).
    dicom           = google_service_account.functions["dicom"].email
    uploads_trigger = google_service_account.uploads_trigger.email
    gateway         = google_service_account.gateway.email
    build           = google_service_account.build.email
  }
}

output "uploads_bucket" {
  description = "Bucket to upload label files and images to (gs://NAME)."
  value       = google_storage_bucket.uploads.name
}

output "hmac_secret" {
  description = "Secret Manager secret that holds the signer's HMAC secret (add its version out of band)."
  value       = google_secret_manager_secret.hmac.id
}

output "page_token_secret" {
  description = "Secret Manager secret holding the cohorts function's page-token key (generated; never in state)."
  value       = google_secret_manager_secret.page_token.id
}

output "firestore_database" {
  description = "Firestore database of the image documents."
  value       = google_firestore_database.labels.name
}

output "bigquery_dataset" {
  description = "BigQuery dataset of the cohort tables (project:dataset)."
  value       = "${var.project_id}:${google_bigquery_dataset.cohorts.dataset_id}"
}

output "bigquery_staging_dataset" {
  description = "BigQuery dataset of the uploads' staging tables, each expiring after bigquery.staging_expiration_hours (project:dataset)."
  value       = "${var.project_id}:${google_bigquery_dataset.staging.dataset_id}"
}
