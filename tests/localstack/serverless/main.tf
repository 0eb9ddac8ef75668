# The replication module over a caller's table with the serverless backfill (backfill_mode = "serverless"), for
# tests/localstack/test_serverless_backfill.py and make bench: the table is filled before its stream, as in the lab.
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

variable "source_table_name" {
  description = "The caller's table, filled before its stream was enabled."
  type        = string
}

variable "max_concurrency" {
  description = "Segments copied at once."
  type        = number
  default     = 4
}

variable "lambda_timeout" {
  description = "Seconds per invocation of the backfill function: short, so that a segment takes several."
  type        = number
  default     = 30
}

module "replica" {
  source = "../../../modules/dynamodb-stream-replica"

  create_source_table    = false
  source_table_name      = var.source_table_name
  replica_table_name     = "${var.name}-replica"
  hash_key               = { name = "PK", type = "S" }
  lambda_package_path    = "${path.module}/../../../dist/ddbreplica_lambda.zip"
  lambda_function_name   = "${var.name}-replicator"
  on_failure_destination = null # no queue: its destroy waits minutes on LocalStack, and it is not under test

  backfill_mode            = "serverless"
  backfill_package_path    = "${path.module}/../../../dist/ddb_replica_backfill.zip"
  backfill_max_concurrency = var.max_concurrency
  backfill_lambda_timeout  = var.lambda_timeout
}

output "replica_table_name" {
  description = "The module's replica."
  value       = module.replica.replica_table_name
}

output "backfill" {
  description = "The serverless backfill, for ddb-replica backfill --serverless --backfill-json."
  value       = module.replica.backfill
}

output "roles" {
  description = "The serverless backfill's roles (the test replays their calls against their policies)."
  value       = [module.replica.backfill_function_role_arn, module.replica.backfill_state_machine_role_arn]
}
