# Schema drift between a source and its replica, for tests/e2e/test_e2e.py: the source has no GSI, so any
# GSI_1_PK type is accepted there; the replica's GSI_1 is keyed by a string, so a numeric GSI_1_PK is rejected
# (ValidationException) when the function writes it. That record must reach the on-failure queue with its
# stream coordinates while every other item replicates. The fix: replica_index_key = "GSI_1_HOST" keys the
# index by another attribute (removing every index would not do: the AWS provider leaves the indexes of a
# table whose configuration has none), after which `ddb-replica redrive` replays the failed batch.
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

variable "replica_index_key" {
  description = "The string attribute that keys the replica's GSI_1: GSI_1_PK refuses the numeric one; another fixes the cause."
  type        = string
  default     = "GSI_1_PK"
}

variable "lambda_package_path" {
  description = "The function's zip (dist/ddbreplica_lambda.zip)."
  type        = string
}

module "replica" {
  source = "../../../modules/dynamodb-stream-replica"

  source_table_name    = "${var.name}-source"
  replica_table_name   = "${var.name}-replica"
  lambda_function_name = "${var.name}-fn"
  lambda_package_path  = var.lambda_package_path
  hash_key             = { name = "PK", type = "S" }

  source_billing_mode              = "PAY_PER_REQUEST"
  replica_billing_mode             = "PAY_PER_REQUEST"
  point_in_time_recovery_enabled   = false
  source_global_secondary_indexes  = []
  replica_global_secondary_indexes = [{ name = "GSI_1", hash_key = { name = var.replica_index_key, type = "S" }, projection_type = "ALL" }]

  event_source_mapping = {
    maximum_retry_attempts = 1
  }
}

output "source_table_name" {
  description = "Source table."
  value       = module.replica.source_table_name
}

output "replica_table_name" {
  description = "Replica table."
  value       = module.replica.replica_table_name
}

output "source_table_stream_arn" {
  description = "Source stream."
  value       = module.replica.source_table_stream_arn
}

output "on_failure_queue_url" {
  description = "On-failure queue."
  value       = module.replica.on_failure_queue_url
}

# What `ddb-replica status` and `redrive --outputs-json` read besides the above.
output "lambda_function_name" {
  description = "The replication function."
  value       = module.replica.lambda_function_name
}

output "event_source_mapping_uuid" {
  description = "The stream's mapping."
  value       = module.replica.event_source_mapping_uuid
}

output "lambda_cloudwatch_log_group_name" {
  description = "The function's log group."
  value       = module.replica.lambda_cloudwatch_log_group_name
}

output "alarm_names" {
  description = "The module's alarms, by kind."
  value       = module.replica.alarm_names
}
