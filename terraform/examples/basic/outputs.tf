output "gateway_url" {
  description = "Base URL of the API."
  value       = module.nih_cxr.gateway_url
}

output "api_managed_service" {
  description = "Managed service of the API; create API keys restricted to it out of band (docs/deploy.md)."
  value       = module.nih_cxr.api_managed_service
}

output "uploads_bucket" {
  description = "Bucket to upload label files and images to."
  value       = module.nih_cxr.uploads_bucket
}

output "hmac_secret" {
  description = "Secret Manager secret for the signer's HMAC secret."
  value       = module.nih_cxr.hmac_secret
}

output "service_accounts" {
  description = "Service accounts the deployment created."
  value       = module.nih_cxr.service_accounts
}
