# The module's own source table, for tests/terraform/test_lifecycle.py: a change of its stream view type must
# move the mapping to the new stream, and handing it over to the caller (create_source_table true -> false) by
# the documented path (`state rm`, the module README's "Keeping the tables") must keep it, data and all.
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

variable "stream_view_type" {
  description = "The source table's stream view type."
  type        = string
  default     = "NEW_IMAGE"
}

variable "allow_stream_replacement" {
  description = "Whether the plan may re-create the source table's stream (a view type change)."
  type        = bool
  default     = false
}

variable "create_source_table" {
  description = "Whether the module creates (owns) the source table."
  type        = bool
}

module "replica" {
  source = "../../../modules/dynamodb-stream-replica"

  create_source_table      = var.create_source_table
  source_stream_view_type  = var.stream_view_type
  allow_stream_replacement = var.allow_stream_replacement
  source_table_name        = "${var.name}-logfile"
  replica_table_name       = "${var.name}-logfile-replica"
  hash_key                 = { name = "PK", type = "S" }
  lambda_package_path      = "${path.module}/../../../dist/ddbreplica_lambda.zip"
  lambda_function_name     = "${var.name}-replicator"
  on_failure_destination   = null # no queue: its destroy waits minutes on LocalStack, and it is not under test
}
