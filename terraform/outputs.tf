output "gateway_url" {
  description = "Public base URL of the API (send an API key as ?key= or the x-api-key header)."
  value       = "https://${google_api_gateway_gateway.this.default_hostname}"
}

output "api_keys" {
  description = "API key strings by key id; give each client its own."
  value       = { for k, v in google_apikeys_key.clients : k => v.key_string }
  sensitive   = true
}

output "function_uris" {
  description = "Cloud Run URLs of the functions (not publicly invokable; call through the gateway)."
  value = {
    labels  = module.labels.uri
    cohorts = module.cohorts.uri
    signer  = module.signer.uri
    uploads = module.uploads.uri
  }
}

output "service_accounts" {
  description = "Email of every service account the deployment created, by role in the system."
  value = {
    labels          = module.labels.service_account_email
    cohorts         = module.cohorts.service_account_email
    signer          = module.signer.service_account_email
    uploads         = module.uploads.service_account_email
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
