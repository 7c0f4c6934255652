variable "project_id" {
  type        = string
  description = "Project that holds every resource of the deployment."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id."
  }
}

variable "region" {
  type        = string
  description = "Region of the functions, the uploads bucket and its Eventarc trigger."
  default     = "us-central1"
}

variable "name_prefix" {
  type        = string
  description = "Prefix of function, service account and gateway names."
  default     = "nih-cxr"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,11}$", var.name_prefix))
    error_message = "name_prefix must be 2-12 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

variable "billing_project" {
  type        = string
  description = "Project billed for downloads from the requester-pays dataset bucket (userProject); null means project_id."
  default     = null
}

variable "build_dir" {
  type        = string
  description = "Folder holding manifest.json and the <name>-<hash>.zip bundles of `npm run build`; null means ../dist/functions next to this module."
  default     = null
}

variable "enable_apis" {
  type        = bool
  description = "Enable the Google APIs the deployment uses (turn off where a landing zone manages them)."
  default     = true
}

variable "iam_propagation_wait" {
  type        = string
  description = "How long to wait after creating the service agents and their grants before creating the Eventarc trigger (IAM changes take time to propagate), e.g. 60s."
  default     = "60s"

  validation {
    condition     = can(regex("^[0-9]+(s|m)$", var.iam_propagation_wait))
    error_message = "iam_propagation_wait must be a duration such as 60s or 2m."
  }
}

variable "functions" {
  type = object({
    # Settings from `npm run bench` (docs/deploy.md, "Instance settings"). Every HTTP function gets 1 vCPU:
    # gen2 serves concurrent requests on an instance only with at least one, and each request served by a
    # warm instance is a cold start saved, the latency our low-traffic callers actually see.
    labels = optional(object({
      # 128 MiB label cache (LABELS_CACHE_BYTES: the whole NIH set, ~85 MB counted, ~120 MB of heap) + ~80 MiB
      # Node/framework + up to 80 batchGets of 1,000 ids in flight (~0.7 MB body, ~3 MB while decoding
      # Firestore's reply): ~500 MB at worst. With the set cached, the load test's label p99 after its warm-up
      # fell from 0.75-1.1 s to 0.2-0.3 s (npm run bench -- load); 1Gi keeps that headroom (512Mi held 32 MiB).
      memory          = optional(string, "1Gi")
      cpu             = optional(string, "1")
      timeout_seconds = optional(number, 30)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 20)
      # A cached read costs under 0.3 ms of CPU for one image and under 0.8 ms for 100 (npm run bench --
      # labels, load generator in the same process); a miss waits on Firestore (REST, keep-alive; small
      # concurrent reads share a batchGet): 80 in flight keep one vCPU busy without queueing a request
      # behind more than ~60 ms of CPU.
      concurrency = optional(number, 80)
    }), {})
    cohorts = optional(object({
      # Query pages are small; exports stream rows (bounded buffers); DuckDB is local only.
      memory          = optional(string, "512Mi")
      cpu             = optional(string, "1")
      timeout_seconds = optional(number, 300)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 10)
      # Each request waits seconds on a BigQuery job; 20 caps the exports streaming at once per instance.
      concurrency = optional(number, 20)
    }), {})
    signer = optional(object({
      memory          = optional(string, "256Mi")
      cpu             = optional(string, "1")
      timeout_seconds = optional(number, 60)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 20)
      # HMAC signing is microseconds of CPU per URL and the IAM path waits on signBlob: 80 requests per
      # instance (was 40) means fewer instances, so fewer cold starts; memory stays small (no buffering).
      concurrency = optional(number, 80)
    }), {})
    dicom = optional(object({
      memory          = optional(string, "256Mi")
      cpu             = optional(string, "1")
      timeout_seconds = optional(number, 120)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 10)
      concurrency     = optional(number, 20)
    }), {})
    uploads = optional(object({
      memory          = optional(string, "1Gi")
      cpu             = optional(string, "1")
      timeout_seconds = optional(number, 540)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 5)
      concurrency     = optional(number, 1)
    }), {})
  })
  description = "Memory, CPU, timeout (s), instance bounds and per-instance concurrency of each function."
  default     = {}

  validation {
    condition     = var.functions.uploads.timeout_seconds <= 540
    error_message = "The upload function is event-driven: its timeout is at most 540 s."
  }
}

variable "uploads_bucket" {
  type = object({
    name                  = optional(string)
    force_destroy         = optional(bool, false)
    report_retention_days = optional(number, 0)
  })
  description = "Bucket that receives uploaded label files and images; name null means <project_id>-<name_prefix>-uploads. report_retention_days: age at which reports/ and quarantine/ objects are deleted (0 keeps them)."
  default     = {}

  validation {
    condition     = var.uploads_bucket.report_retention_days >= 0
    error_message = "report_retention_days must be 0 (keep) or a number of days."
  }
}

variable "firestore" {
  type = object({
    database_id       = optional(string, "(default)")
    location_id       = optional(string, "nam5")
    delete_protection = optional(bool, true)
  })
  description = "Firestore (native mode) database holding one document per image."
  default     = {}
}

variable "bigquery" {
  type = object({
    dataset_id               = optional(string, "nih_cxr")
    location                 = optional(string, "US")
    deletion_protection      = optional(bool, true)
    max_bytes_billed         = optional(number, 1073741824)
    staging_expiration_hours = optional(number, 24)
  })
  description = "BigQuery dataset of the cohort tables; max_bytes_billed caps every query job (default 1 GiB; the tables are tens of MB). Staging tables of uploads go to <dataset_id>_staging, whose tables expire after staging_expiration_hours."
  default     = {}

  validation {
    condition     = var.bigquery.max_bytes_billed >= 10485760 && var.bigquery.max_bytes_billed <= 1099511627776
    error_message = "bigquery.max_bytes_billed must be between 10 MiB and 1 TiB."
  }

  validation {
    condition     = var.bigquery.staging_expiration_hours >= 1 && var.bigquery.staging_expiration_hours <= 720
    error_message = "bigquery.staging_expiration_hours must be 1-720: longer than any load, short enough to clean up."
  }

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]{0,1015}$", var.bigquery.dataset_id))
    error_message = "bigquery.dataset_id must be letters, digits and underscores."
  }
}

variable "hmac_access_id" {
  type        = string
  description = "Access id of the signer's HMAC key; set it only after adding the secret's version out of band (docs/deploy.md). null signs with IAM signBlob."
  default     = null
}

variable "page_token_secret_version" {
  type        = number
  description = "Version of the generated page-token secret; increase it to rotate the secret (outstanding page tokens stop working)."
  default     = 1

  validation {
    condition     = var.page_token_secret_version >= 1 && floor(var.page_token_secret_version) == var.page_token_secret_version
    error_message = "page_token_secret_version must be a positive whole number."
  }
}

variable "api" {
  type = object({
    gateway_region            = optional(string)
    quota_requests_per_minute = optional(number, 600)
    consumers                 = optional(map(string), {})
    cors_origins              = optional(list(string), [])
  })
  description = "API Gateway: region (null means var.region); request quota per minute of each consumer project (the project that owns the API key); consumers: client id => IAM member (user:, group:, serviceAccount: or domain:) allowed to enable the API in its own project and create its own keys there, so that each client has its own quota; cors_origins: browser origins allowed to call the API (https://host[:port], or \"*\"). API keys are never created by Terraform (docs/deploy.md)."
  default     = {}

  validation {
    condition     = var.api.quota_requests_per_minute >= 1
    error_message = "api.quota_requests_per_minute must be at least 1."
  }
  validation {
    condition     = alltrue([for k in keys(var.api.consumers) : can(regex("^[a-z][a-z0-9-]{0,62}$", k))])
    error_message = "api.consumers ids must be lower case letters, digits and '-'."
  }
  validation {
    condition     = alltrue([for m in values(var.api.consumers) : can(regex("^(user|group|serviceAccount|domain):[^,\\s]+$", m))])
    error_message = "api.consumers members must be user:, group:, serviceAccount: or domain: members (never public)."
  }
  validation {
    condition     = alltrue([for o in var.api.cors_origins : o == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]+)?$", o))])
    error_message = "api.cors_origins entries must be origins such as https://app.example.org (no path), or \"*\"."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels set on every resource that takes labels."
  default     = {}
}

variable "dicom" {
  type = object({
    store      = optional(string, "projects/chc-nih-chest-xray/locations/us-central1/datasets/nih-chest-xray/dicomStores/nih-chest-xray")
    viewer_url = optional(string, "https://viewer.ohif.org/viewer?StudyInstanceUIDs={studyInstanceUid}")
  })
  description = "Cloud Healthcare API DICOM store the dicom function reads (projects/P/locations/L/datasets/D/dicomStores/S; null: the DICOM routes answer 503), and the viewer link template of a record ({studyInstanceUid}, {seriesInstanceUid}, {sopInstanceUid}, {imageId}, {dicomweb}). Read access to the NIH store is granted by Google on request (docs/deploy.md)."
  default     = {}

  validation {
    condition     = var.dicom.store == null || can(regex("^projects/([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]/locations/[a-z0-9-]{1,63}/datasets/[A-Za-z0-9_.-]{1,256}/dicomStores/[A-Za-z0-9_.-]{1,256}$", var.dicom.store))
    error_message = "dicom.store must be projects/<project>/locations/<location>/datasets/<dataset>/dicomStores/<store>."
  }

  validation {
    condition     = can(regex("^https?://[^\\s?#]+", var.dicom.viewer_url)) && alltrue([for f in regexall("\\{([a-zA-Z]+)\\}", var.dicom.viewer_url) : contains(["studyInstanceUid", "seriesInstanceUid", "sopInstanceUid", "imageId", "dicomweb"], f[0])])
    error_message = "dicom.viewer_url must be an http(s) URL template using only {studyInstanceUid}, {seriesInstanceUid}, {sopInstanceUid}, {imageId} and {dicomweb}."
  }
}
