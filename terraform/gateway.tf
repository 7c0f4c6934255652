/**
 * API Gateway in front of the three HTTP functions. Its OpenAPI 2.0 config is generated from the same route
 * specs (zod schemas) as the OpenAPI 3.1 document; every operation needs an API key and counts against a
 * per-consumer-project quota. The gateway calls the functions as its own service account.
 */

locals {
  # generated/api-gateway.json is a template: ${backend_<function>} marks each operation's backend address.
  gateway_spec = jsondecode(templatefile("${path.module}/generated/api-gateway.json", {
    backend_labels  = module.labels.uri
    backend_cohorts = module.cohorts.uri
    backend_signer  = module.signer.uri
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

# API keys are checked against the API's managed service, which must be enabled in the project.
resource "google_project_service" "gateway_managed_service" {
  project            = var.project_id
  service            = google_api_gateway_api.this.managed_service
  disable_on_destroy = false
}

resource "google_apikeys_key" "clients" {
  for_each = var.api.keys

  project      = var.project_id
  name         = each.key
  display_name = each.value

  restrictions {
    api_targets {
      service = google_api_gateway_api.this.managed_service
    }
  }

  depends_on = [google_project_service.gateway_managed_service]
}
