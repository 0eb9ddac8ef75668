################################################################################
# Log group, created before the function so Lambda never creates it without retention
################################################################################

resource "aws_cloudwatch_log_group" "function" {
  count = local.create ? 1 : 0

  # checkov:skip=CKV_AWS_338: retention is a variable (30 days by default): operational logs; the checkpoints hold the run's state.
  name              = local.log_group_name
  retention_in_days = var.cloudwatch_logs_retention_in_days
  kms_key_id        = var.cloudwatch_logs_kms_key_arn

  tags = var.tags
}

################################################################################
# Function: one segment of a run per invocation, from its checkpoint, until done or its time is nearly up
################################################################################

resource "aws_lambda_function" "this" {
  count = local.create ? 1 : 0

  # checkov:skip=CKV_AWS_117: the function only calls DynamoDB's (and STS's) regional endpoints; a VPC adds NAT or endpoint costs and no exposure is removed.
  # checkov:skip=CKV_AWS_116: invoked synchronously by the state machine, which retries and reports a failed segment; there is no asynchronous event to keep.
  # checkov:skip=CKV_AWS_173: the environment holds only table names, ARNs and a region, no secrets.
  # checkov:skip=CKV_AWS_272: code signing needs an AWS Signer profile; the package is built reproducibly by `make build` and deployed by hash.
  # checkov:skip=CKV_AWS_115: concurrency is bounded by the state machine's MaxConcurrency, which the run's write budget is split by.
  # checkov:skip=CKV_AWS_50: X-Ray is optional (tracing_enabled); off by default.
  function_name = local.function_name
  description   = substr("Backfills the replicas of ${local.source_table_name}, one scan segment per invocation (ddb-replica backfill --serverless).", 0, 256)
  role          = aws_iam_role.function[0].arn
  handler       = "ddb_replica.backfill_function.lambda_handler"
  runtime       = var.lambda_runtime
  architectures = [var.lambda_architecture]
  timeout       = var.lambda_timeout
  memory_size   = var.lambda_memory_size

  filename = var.package_path
  # Guarded so `terraform validate` works before `make build`; plan refuses a missing package (precondition).
  source_code_hash = fileexists(var.package_path) ? filebase64sha256(var.package_path) : null

  environment {
    variables = {
      CHECKPOINT_TABLE = module.checkpoint_table.table_name
      SOURCE_TABLE_ARN = var.source_table_arn
      REPLICA_TARGETS  = local.targets_environment
      MAX_CONCURRENCY  = tostring(var.max_concurrency)
    }
  }

  dynamic "tracing_config" {
    for_each = var.tracing_enabled ? ["Active"] : []
    content {
      mode = tracing_config.value
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = fileexists(var.package_path)
      error_message = "package_path: ${var.package_path} does not exist. Build it first (make build writes dist/ddb_replica_backfill.zip)."
    }

    precondition {
      condition     = length(distinct([for t in var.targets : t.name])) == length(var.targets)
      error_message = "targets: target names must be unique: ${join(", ", [for t in var.targets : t.name])}."
    }

    precondition {
      # Lambda's environment holds 4 KB in all; the other variables take a few hundred bytes.
      condition     = length(local.targets_environment) <= 3500
      error_message = "targets: their description (REPLICA_TARGETS, ${length(local.targets_environment)} bytes) does not fit Lambda's 4 KB environment: use shorter names or fewer targets."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.function,
    aws_iam_role_policy.function,
  ]
}
