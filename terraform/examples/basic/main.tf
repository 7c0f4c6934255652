/**
 * The whole system in one project: `npm run deploy` (docs/deploy.md) builds the bundles, generates
 * terraform/generated/ and applies this configuration.
 */

provider "google" {
  project               = var.project_id
  region                = var.region
  billing_project       = var.project_id
  user_project_override = true
}

provider "google-beta" {
  project               = var.project_id
  region                = var.region
  billing_project       = var.project_id
  user_project_override = true
}

module "nih_cxr" {
  source = "../.."

  project_id      = var.project_id
  region          = var.region
  billing_project = var.billing_project
  build_dir       = "${path.module}/../../../dist/functions"
  hmac_access_id  = var.hmac_access_id

  api = {
    quota_requests_per_minute = var.quota_requests_per_minute
    consumers                 = var.api_consumers
    cors_origins              = var.cors_origins
  }
}
