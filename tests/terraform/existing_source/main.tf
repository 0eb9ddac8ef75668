# A caller's table and the module reading it (create_source_table = false), created in one apply, for
# tests/terraform/test_lifecycle.py: a later edit of the table (a tag) must not replace the event source mapping.
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

variable "tag" {
  description = "A tag value of the caller's table; changing it is the edit under test."
  type        = string
}

variable "by_stream_arn" {
  description = "Pass the table's stream ARN (source_stream_arn), or only its name."
  type        = bool
}

resource "aws_dynamodb_table" "caller" {
  # checkov:skip=CKV_AWS_119: a LocalStack test table; encryption is not under test.
  # checkov:skip=CKV_AWS_28: a LocalStack test table; backups are not under test.
  name             = "${var.name}-orders"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "PK"
  stream_enabled   = true
  stream_view_type = "NEW_IMAGE"

  attribute {
    name = "PK"
    type = "S"
  }

  tags = { edited = var.tag }
}

module "replica" {
  source = "../../../modules/dynamodb-stream-replica"

  create_source_table    = false
  source_table_name      = aws_dynamodb_table.caller.name
  source_stream_arn      = var.by_stream_arn ? aws_dynamodb_table.caller.stream_arn : null
  replica_table_name     = "${var.name}-orders-replica"
  hash_key               = { name = "PK", type = "S" }
  lambda_package_path    = "${path.module}/../../../dist/ddbreplica_lambda.zip"
  lambda_function_name   = "${var.name}-replicator"
  on_failure_destination = null # no queue: its destroy waits minutes on LocalStack, and it is not under test
}
