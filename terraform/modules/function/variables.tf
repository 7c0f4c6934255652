variable "project_id" {
  type        = string
  description = "Project that holds the function, its Cloud Run service and its service account."
}

variable "region" {
  type        = string
  description = "Region of the function, e.g. us-central1."
}

variable "name" {
  type        = string
  description = "Function name (also the name of its Cloud Run service): lower case, digits and dashes."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,47}[a-z0-9]$", var.name))
    error_message = "name must be 2-49 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "description" {
  type        = string
  description = "One line saying what the function does."
}

variable "entry_point" {
  type        = string
  description = "Name the bundle registers with functions-framework http() or cloudEvent()."

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_-]{0,62}$", var.entry_point))
    error_message = "entry_point must be a valid functions-framework function name."
  }
}

variable "runtime" {
  type        = string
  description = "Cloud Run functions runtime; the bundles are built for Node.js 24."
  default     = "nodejs24"

  validation {
    condition     = var.runtime == "nodejs24"
    error_message = "The bundles target Node.js 24: runtime must be nodejs24."
  }
}

variable "source_archive" {
  type = object({
    bucket = string
    object = string
  })
  description = "Bucket and object name of the zipped bundle; the object name carries the content hash so that changed code redeploys."
}

variable "service_account_email" {
  type        = string
  description = "Email of the service account the function runs as: one for this function alone, created and granted its roles by the caller before the function (depends_on)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]+\\.iam\\.gserviceaccount\\.com$", var.service_account_email))
    error_message = "service_account_email must be a user-managed service account (NAME@PROJECT.iam.gserviceaccount.com)."
  }
}

variable "build_service_account" {
  type        = string
  description = "Full resource name (projects/P/serviceAccounts/EMAIL) of the service account Cloud Build uses; null uses the project default."
  default     = null
}

variable "resources" {
  type = object({
    memory          = optional(string, "256Mi")
    cpu             = optional(string, "1")
    timeout_seconds = optional(number, 60)
    min_instances   = optional(number, 0)
    max_instances   = optional(number, 10)
    concurrency     = optional(number, 80)
  })
  description = "Memory, CPU, request timeout, instance bounds and requests per instance."
  default     = {}

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.resources.memory))
    error_message = "resources.memory must look like 256Mi or 1Gi."
  }
  validation {
    condition     = var.resources.timeout_seconds >= 1 && var.resources.timeout_seconds <= (var.event_trigger == null ? 3600 : 540)
    error_message = "resources.timeout_seconds must be 1-3600 for HTTP functions and 1-540 for event functions."
  }
  validation {
    condition     = var.resources.min_instances >= 0 && var.resources.max_instances >= 1 && var.resources.min_instances <= var.resources.max_instances
    error_message = "Need 0 <= min_instances <= max_instances and max_instances >= 1."
  }
  validation {
    condition     = var.resources.concurrency >= 1 && var.resources.concurrency <= 1000 && (var.resources.concurrency == 1 || tonumber(var.resources.cpu) >= 1)
    error_message = "concurrency must be 1-1000, and more than 1 needs at least one CPU."
  }
}

variable "environment_variables" {
  type        = map(string)
  description = "Plain environment variables of the running function (never secrets)."
  default     = {}
}

variable "secret_environment_variables" {
  type = map(object({
    secret  = string
    version = optional(string, "latest")
    enabled = optional(bool, true)
  }))
  description = "Environment variables read from Secret Manager secrets of this project, by variable name; enabled = false leaves one out (e.g. until its secret has a version)."
  default     = {}
}

variable "ingress_settings" {
  type        = string
  description = "Who can reach the function's URL on the network; IAM still decides who may invoke it."
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress_settings)
    error_message = "ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "invokers" {
  type        = map(string)
  description = "Members granted roles/run.invoker on this function only, by a static key (e.g. { gateway = \"serviceAccount:...\" })."
  default     = {}

  validation {
    condition     = alltrue([for m in values(var.invokers) : !contains(["allUsers", "allAuthenticatedUsers"], m)])
    error_message = "Functions are never publicly invokable: allUsers and allAuthenticatedUsers are not allowed."
  }
}

variable "event_trigger" {
  type = object({
    event_type            = string
    trigger_region        = string
    retry_policy          = string
    service_account_email = string
    filters               = map(string)
  })
  description = "Eventarc trigger of a CloudEvent function (null for an HTTP function); retry_policy has no default on purpose."
  default     = null

  validation {
    condition     = var.event_trigger == null || contains(["RETRY_POLICY_RETRY", "RETRY_POLICY_DO_NOT_RETRY"], try(var.event_trigger.retry_policy, ""))
    error_message = "event_trigger.retry_policy must be RETRY_POLICY_RETRY or RETRY_POLICY_DO_NOT_RETRY."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels set on the function."
  default     = {}
}
