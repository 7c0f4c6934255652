/**
 * API Gateway in front of the three HTTP functions. Its OpenAPI 2.0 config is generated from the same route
 * specs (zod schemas) as the OpenAPI 3.1 document; every operation needs an API key and counts against a
 * per-consumer-project quota, except the CORS preflights (OPTIONS), which browsers send without a key and
 * the functions answer from CORS_ORIGINS. The gateway calls the functions as its own service account.
 *
 * API keys are not created here: a google_apikeys_key keeps its key string in the Terraform state. Each
 * client creates its own key in its own project (docs/deploy.md), which also gives each client its own
 * quota: API Gateway counts the quota per consumer project, the project that owns the key.
 */

locals {
  # generated/api-gateway.json is a template: ${backend_<function>} marks each operation's backend address.
  gateway_spec = jsondecode(templatefile("${path.module}/generated/api-gateway.json", {
    backend_labels  = module.labels.uri
    backend_cohorts = module.cohorts.uri
    backend_signer  = module.signer.uri
    backend_dicom   = module.dicom.uri
  }))
  gateway_management = local.gateway_spec["x-google-management"]
  gateway_document = jsonencode(merge(local.gateway_spec, {
    "x-google-management" = merge(local.gateway_management, {
      quota = {
        limits = [for l in local.gateway_management.quota.limits : merge(l, { values = { STANDARD = var.api.quota_requests_per_minute } })]
      }
    })
  }))
}

resource "google_api_gateway_api" "this" {
  provider = google-beta

  project      = var.project_id
  api_id       = "${var.name_prefix}-api"
  display_name = "${var.name_prefix} API"
  labels       = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_api_gateway_api_config" "this" {
  provider = google-beta

  project              = var.project_id
  api                  = google_api_gateway_api.this.api_id
  api_config_id_prefix = "${var.name_prefix}-"
  display_name         = "${var.name_prefix} API config"
  labels               = local.labels

  openapi_documents {
    document {
      path     = "openapi.json"
      contents = base64encode(local.gateway_document)
    }
  }

  gateway_config {
    backend_config {
      google_service_account = google_service_account.gateway.email
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_api_gateway_gateway" "this" {
  provider = google-beta

  project      = var.project_id
  region       = local.gateway_region
  gateway_id   = "${var.name_prefix}-gateway"
  display_name = "${var.name_prefix} gateway"
  api_config   = google_api_gateway_api_config.this.id
  labels       = local.labels
}

# API keys are checked against the API's managed service, which must be enabled in the project that owns the
# key. Enabling it needs the service to exist with its configuration, hence the explicit wait for the config.
resource "google_project_service" "gateway_managed_service" {
  project            = var.project_id
  service            = google_api_gateway_api.this.managed_service
  disable_on_destroy = false

  depends_on = [google_api_gateway_api_config.this]
}

# Clients allowed to enable the API in their own project and create keys there: one quota bucket each.
resource "google_endpoints_service_iam_member" "consumers" {
  for_each = var.api.consumers

  service_name = google_api_gateway_api.this.managed_service
  role         = "roles/servicemanagement.serviceConsumer"
  member       = each.value

  depends_on = [google_project_service.gateway_managed_service]
}
