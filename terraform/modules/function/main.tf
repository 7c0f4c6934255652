/**
 * One Cloud Run function (2nd gen) running as a service account of its own, which the caller creates and
 * grants exactly the roles the function uses, on the narrowest resource. The caller creates it (not this
 * module) so that the grants can exist before the function: pass them in the module call's depends_on.
 */

resource "google_cloudfunctions2_function" "this" {
  project     = var.project_id
  location    = var.region
  name        = var.name
  description = var.description
  labels      = var.labels

  build_config {
    runtime         = var.runtime
    entry_point     = var.entry_point
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = var.source_archive.bucket
        object = var.source_archive.object
      }
    }
  }

  service_config {
    service_account_email            = var.service_account_email
    available_memory                 = var.resources.memory
    available_cpu                    = var.resources.cpu
    timeout_seconds                  = var.resources.timeout_seconds
    min_instance_count               = var.resources.min_instances
    max_instance_count               = var.resources.max_instances
    max_instance_request_concurrency = var.resources.concurrency
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    environment_variables            = var.environment_variables

    dynamic "secret_environment_variables" {
      for_each = { for k, v in var.secret_environment_variables : k => v if v.enabled }
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  dynamic "event_trigger" {
    for_each = var.event_trigger == null ? [] : [var.event_trigger]
    content {
      event_type            = event_trigger.value.event_type
      trigger_region        = event_trigger.value.trigger_region
      retry_policy          = event_trigger.value.retry_policy
      service_account_email = event_trigger.value.service_account_email

      dynamic "event_filters" {
        for_each = event_trigger.value.filters
        content {
          attribute = event_filters.key
          value     = event_filters.value
        }
      }
    }
  }
}

# A 2nd gen function is served by a Cloud Run service of the same name; invoking it needs run.invoker there.
resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = var.invokers

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.name
  role     = "roles/run.invoker"
  member   = each.value
}
