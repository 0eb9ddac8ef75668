# The module with published versions and an alias (lambda_publish), for tests/terraform/test_lifecycle.py: a
# new package goes live, and an earlier version comes back, by moving the alias, never re-creating the mapping.
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

variable "name" {
  description = "Prefix of every resource name (unique per test run)."
  type        = string
}

variable "package" {
  description = "Path of the function's zip; another zip publishes another version."
  type        = string
}

variable "alias_version" {
  description = "The version the alias is pinned to, or null for the newest."
  type        = string
  default     = null
}

module "replica" {
  source = "../../../modules/dynamodb-stream-replica"

  source_table_name             = "${var.name}-logfile"
  replica_table_name            = "${var.name}-logfile-replica"
  hash_key                      = { name = "PK", type = "S" }
  lambda_package_path           = var.package
  lambda_function_name          = "${var.name}-replicator"
  lambda_publish                = true
  lambda_alias_function_version = var.alias_version
  on_failure_destination        = null # no queue: not under test here
}

output "event_source_mapping_uuid" {
  description = "The mapping, which must stay the same through every version change."
  value       = module.replica.event_source_mapping_uuid
}
