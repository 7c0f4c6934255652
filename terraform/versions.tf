terraform {
  # Write-only attributes and ephemeral resources (the page-token secret) need Terraform 1.11.
  required_version = ">= 1.11.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.36.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "7.36.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
    time = {
      source  = "hashicorp/time"
      version = "0.13.1"
    }
  }
}
