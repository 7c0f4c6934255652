/**
 * Firestore (labels) and BigQuery (cohorts). Index definitions and table schemas come from shared/ through
 * `npm run gen:terraform` (terraform/generated/*.json), so the code and the deployment share one source.
 */

locals {
  # firestore.indexes.json format: { indexes: [{ collectionGroup, queryScope, fields: [{ fieldPath, order | arrayConfig }] }],
  #                                  fieldOverrides: [{ collectionGroup, fieldPath, indexes: [...] }] }
  firestore = jsondecode(file("${path.module}/generated/firestore-indexes.json"))
  firestore_indexes = {
    for i in local.firestore.indexes :
    join("-", concat([i.collectionGroup, i.queryScope], [for f in i.fields : "${f.fieldPath}.${try(f.order, f.arrayConfig)}"])) => i
  }
  firestore_field_overrides = { for o in local.firestore.fieldOverrides : "${o.collectionGroup}.${o.fieldPath}" => o }

  # { "<table id>": { description, schema: "<file in generated/>" } }
  cohort_tables = jsondecode(file("${path.module}/generated/bigquery-tables.json"))
}

resource "google_firestore_database" "labels" {
  project                 = var.project_id
  name                    = var.firestore.database_id
  location_id             = var.firestore.location_id
  type                    = "FIRESTORE_NATIVE"
  concurrency_mode        = "OPTIMISTIC"
  delete_protection_state = var.firestore.delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy         = var.firestore.delete_protection ? "ABANDON" : "DELETE"

  depends_on = [google_project_service.apis]
}

resource "google_firestore_index" "labels" {
  for_each = local.firestore_indexes

  project     = var.project_id
  database    = google_firestore_database.labels.name
  collection  = each.value.collectionGroup
  query_scope = each.value.queryScope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.fieldPath
      order        = try(fields.value.order, null)
      array_config = try(fields.value.arrayConfig, null)
    }
  }
}

# Fields exempt from (or with custom) single-field indexing; an empty indexes list means no index at all.
resource "google_firestore_field" "labels" {
  for_each = local.firestore_field_overrides

  project    = var.project_id
  database   = google_firestore_database.labels.name
  collection = each.value.collectionGroup
  field      = each.value.fieldPath

  index_config {
    dynamic "indexes" {
      for_each = each.value.indexes
      content {
        query_scope  = try(indexes.value.queryScope, null)
        order        = try(indexes.value.order, null)
        array_config = try(indexes.value.arrayConfig, null)
      }
    }
  }
}

resource "google_bigquery_dataset" "cohorts" {
  project                    = var.project_id
  dataset_id                 = var.bigquery.dataset_id
  location                   = var.bigquery.location
  description                = "NIH ChestX-ray14 cohort tables (NIH Clinical Center data; expert labels by Google Health)."
  delete_contents_on_destroy = !var.bigquery.deletion_protection
  labels                     = local.labels

  depends_on = [google_project_service.apis]
}

# Staging tables of the uploads' load-then-MERGE, apart from the cohort tables so that a default expiration
# can clean up the ones a failed load leaves behind without ever touching the cohort tables.
resource "google_bigquery_dataset" "staging" {
  project                     = var.project_id
  dataset_id                  = "${var.bigquery.dataset_id}_staging"
  location                    = var.bigquery.location
  description                 = "Short-lived staging tables of the upload function's loads; every table expires."
  default_table_expiration_ms = var.bigquery.staging_expiration_hours * 3600000
  delete_contents_on_destroy  = true
  labels                      = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_bigquery_table" "cohorts" {
  for_each = local.cohort_tables

  project             = var.project_id
  dataset_id          = google_bigquery_dataset.cohorts.dataset_id
  table_id            = each.key
  description         = each.value.description
  schema              = file("${path.module}/generated/${each.value.schema}")
  deletion_protection = var.bigquery.deletion_protection
  labels              = local.labels
}
