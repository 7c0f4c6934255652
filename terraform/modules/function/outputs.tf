output "name" {
  description = "Function name, also the name of its Cloud Run service."
  value       = google_cloudfunctions2_function.this.name
}

output "uri" {
  description = "HTTPS URL of the function's Cloud Run service (callers need run.invoker)."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}

output "service" {
  description = "Full resource name of the Cloud Run service behind the function."
  value       = google_cloudfunctions2_function.this.service_config[0].service
}

output "service_account_email" {
  description = "Email of the service account the function runs as."
  value       = google_cloudfunctions2_function.this.service_config[0].service_account_email
}
