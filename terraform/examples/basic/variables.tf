variable "project_id" {
  type        = string
  description = "Project to deploy into."
}

variable "region" {
  type        = string
  description = "Region of the functions, the uploads bucket and the gateway."
  default     = "us-central1"
}

variable "billing_project" {
  type        = string
  description = "Project billed for requester-pays downloads; null means project_id."
  default     = null
}

variable "hmac_access_id" {
  type        = string
  description = "Access id of the signer's HMAC key, once its secret version exists (docs/deploy.md); null signs with IAM signBlob."
  default     = null
}

variable "quota_requests_per_minute" {
  type        = number
  description = "Requests per minute each consumer project (API key owner) may send through the gateway."
  default     = 600
}

variable "api_consumers" {
  type        = map(string)
  description = "Client id => IAM member allowed to enable the API in its own project and create its own API keys there (its own quota)."
  default     = {}
}

variable "cors_origins" {
  type        = list(string)
  description = "Browser origins allowed to call the API through the gateway (e.g. https://app.example.org)."
  default     = []
}
