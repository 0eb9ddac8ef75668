provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  lambda_package_path   = coalesce(var.lambda_package_path, "${path.module}/../../dist/ddbreplica_lambda.zip")
  backfill_package_path = coalesce(var.backfill_package_path, "${path.module}/../../dist/ddb_replica_backfill.zip")
  account_id            = data.aws_caller_identity.current.account_id
  partition             = data.aws_partition.current.partition

  tags = {
    example = "complete"
  }
}

################################################################################
# A customer managed key for tables, queue and log groups
################################################################################

resource "aws_kms_key" "this" {
  description             = "${var.name_prefix}: tables, on-failure queue and log groups"
  enable_key_rotation     = true
  deletion_window_in_days = 7

  # The default key policy (account root) lets IAM policies grant the key, which is how the modules give their
  # functions kms:Decrypt (tables, through DynamoDB) and kms:GenerateDataKey (queue, through SQS). CloudWatch Logs
  # needs its own statement.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountIAMPolicies"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsOfThisExample"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            # the functions' log groups, and the serverless backfill's state machine's
            "kms:EncryptionContext:aws:logs:arn" = [
              "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*",
              "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/vendedlogs/states/${var.name_prefix}-*",
            ]
          }
        }
      },
    ]
  })

  tags = local.tags
}

################################################################################
# 1. Every option, the module creating both tables
################################################################################

module "replica" {
  source = "../../modules/dynamodb-stream-replica"

  source_table_name  = "${var.name_prefix}-events"
  replica_table_name = "${var.name_prefix}-events-replica"
  hash_key           = { name = "PK", type = "S" }
  range_key          = { name = "SK", type = "S" }

  source_billing_mode     = "PAY_PER_REQUEST"
  source_stream_view_type = "NEW_AND_OLD_IMAGES"
  source_global_secondary_indexes = [
    {
      name            = "by_type"
      hash_key        = { name = "type", type = "S" }
      range_key       = { name = "created_at", type = "N" }
      projection_type = "KEYS_ONLY"
    },
  ]
  source_table_tags = { role = "source" }

  replica_billing_mode = "PAY_PER_REQUEST"
  replica_global_secondary_indexes = [
    {
      name      = "by_type"
      hash_key  = { name = "type", type = "S" }
      range_key = { name = "created_at", type = "N" }
    },
    {
      name               = "by_owner"
      hash_key           = { name = "owner", type = "S" }
      projection_type    = "INCLUDE"
      non_key_attributes = ["status"]
    },
  ]
  replica_table_tags = { role = "replica" }

  point_in_time_recovery_enabled = true
  deletion_protection_enabled    = var.deletion_protection_enabled
  kms_key_arn                    = aws_kms_key.this.arn

  lambda_function_name                  = "${var.name_prefix}-events"
  lambda_package_path                   = local.lambda_package_path
  lambda_runtime                        = "python3.13"
  lambda_architecture                   = "arm64"
  lambda_memory_size                    = 256
  lambda_timeout                        = 120
  lambda_reserved_concurrent_executions = var.lambda_reserved_concurrent_executions
  lambda_tracing_mode                   = "Active"
  lambda_publish                        = true # the mapping invokes the alias "live": roll out or back by moving it
  lambda_role_name                      = "${var.name_prefix}-events-${var.region}"
  cloudwatch_logs_retention_in_days     = 90
  cloudwatch_logs_kms_key_arn           = aws_kms_key.this.arn

  event_source_mapping = {
    batch_size                         = 500
    starting_position                  = "LATEST"
    maximum_batching_window_in_seconds = 5
    parallelization_factor             = 2
    bisect_batch_on_function_error     = true
    maximum_retry_attempts             = 5
    maximum_record_age_in_seconds      = 3600
    function_response_types            = ["ReportBatchItemFailures"]
    # Replicate only tenant items; every event type (INSERT, MODIFY, REMOVE) of them.
    filter_patterns = [
      jsonencode({ dynamodb = { Keys = { PK = { S = [{ prefix = "tenant#" }] } } } }),
    ]
  }

  on_failure_destination = {
    queue_name                = "${var.name_prefix}-events-failed-batches"
    message_retention_seconds = 1209600
  }

  # The backfill on Step Functions and Lambda: ddb-replica backfill --serverless --backfill-json (output backfill).
  backfill_mode            = "serverless"
  backfill_package_path    = local.backfill_package_path
  backfill_max_concurrency = 8
  backfill_lambda_timeout  = 900

  tags = local.tags
}

################################################################################
# 2. An existing source table (create_source_table = false) and an existing on-failure queue
################################################################################

# Stands in for a table that existed before the module: stream on with new images, encrypted with the CMK
# (the module reads the key from the table and grants it to its function).
resource "aws_dynamodb_table" "existing" {
  name             = "${var.name_prefix}-orders"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "PK"
  range_key        = "SK"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "PK"
    type = "S"
  }

  attribute {
    name = "SK"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  tags = local.tags
}

resource "aws_sqs_queue" "existing_failures" {
  name                      = "${var.name_prefix}-orders-failed-batches"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true

  tags = local.tags
}

module "replica_of_existing" {
  source = "../../modules/dynamodb-stream-replica"

  create_source_table = false
  source_table_name   = aws_dynamodb_table.existing.name
  # The table is created here too: its stream ARN makes the module wait for it on the first apply, and keeps
  # the mapping in place when the table is edited later (a table managed elsewhere needs only the name).
  source_stream_arn  = aws_dynamodb_table.existing.stream_arn
  replica_table_name = "${var.name_prefix}-orders-replica"
  hash_key           = { name = "PK", type = "S" }
  range_key          = { name = "SK", type = "S" }

  lambda_function_name = "${var.name_prefix}-orders"
  lambda_package_path  = local.lambda_package_path

  on_failure_destination = {
    create_queue = false
    arn          = aws_sqs_queue.existing_failures.arn
  }

  tags = local.tags
}

################################################################################
# 3. Everything off (create = false): no resource, no data source, null outputs
################################################################################

module "disabled" {
  source = "../../modules/dynamodb-stream-replica"

  create              = false
  source_table_name   = "${var.name_prefix}-disabled"
  replica_table_name  = "${var.name_prefix}-disabled-replica"
  hash_key            = { name = "PK" }
  lambda_package_path = local.lambda_package_path
}
