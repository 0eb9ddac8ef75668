locals {
  # Lambda names allow [a-zA-Z0-9_-]{1,64}; table names also allow dots and 255 characters.
  lambda_function_name = coalesce(var.lambda_function_name, "${substr(replace(var.replica_table_name, ".", "-"), 0, 53)}-replicator")
  log_group_name       = "/aws/lambda/${local.lambda_function_name}"
}

################################################################################
# Log group, created before the function so Lambda never creates it without retention (unless
# create_cloudwatch_log_group = false: the group exists already, e.g. from the console lab, or Lambda creates it)
################################################################################

resource "aws_cloudwatch_log_group" "lambda" {
  count = local.create && var.create_cloudwatch_log_group ? 1 : 0

  # checkov:skip=CKV_AWS_338: retention is a variable (30 days by default): these are operational logs; failed batches are kept in the on-failure queue.
  name              = local.log_group_name
  retention_in_days = var.cloudwatch_logs_retention_in_days
  kms_key_id        = var.cloudwatch_logs_kms_key_arn

  tags = var.tags
}

################################################################################
# Function
################################################################################

resource "aws_lambda_function" "this" {
  count = local.create ? 1 : 0

  # checkov:skip=CKV_AWS_117: the function only calls DynamoDB's regional endpoint; a VPC adds NAT or endpoint costs and no exposure is removed.
  # checkov:skip=CKV_AWS_116: stream invocations are synchronous; failed batches go to the mapping's on-failure destination (event_source_mapping.tf), not to a function DLQ.
  # checkov:skip=CKV_AWS_173: the environment holds only table names, ARNs and a region, no secrets.
  # checkov:skip=CKV_AWS_272: code signing needs an AWS Signer profile; the package is built reproducibly by `make build` and deployed by hash.
  # checkov:skip=CKV_AWS_50: X-Ray is optional (lambda_tracing_mode); off by default for the lab.
  function_name = local.lambda_function_name
  description   = substr("Replicates ${var.source_table_name} into ${var.replica_table_name} from its stream.", 0, 256)
  role          = aws_iam_role.lambda[0].arn
  handler       = var.lambda_handler
  runtime       = var.lambda_runtime
  architectures = [var.lambda_architecture]
  timeout       = var.lambda_timeout
  memory_size   = var.lambda_memory_size

  reserved_concurrent_executions = var.lambda_reserved_concurrent_executions

  # With lambda_publish, each change of code or configuration publishes a version; the mapping invokes the alias.
  publish = var.lambda_publish

  filename = var.lambda_package_path
  # Guarded so `terraform validate` works before `make build`; plan refuses a missing package (precondition).
  source_code_hash = fileexists(var.lambda_package_path) ? filebase64sha256(var.lambda_package_path) : null

  environment {
    variables = merge(local.replica_environment, {
      # The function fails records from any other table's stream instead of writing them (a second
      # event source mapping, or the replica's own stream, would otherwise be merged into the replica).
      SOURCE_TABLE_ARN = local.source_table_arn
      # The namespace of the metrics in the function's log line (Embedded Metric Format); empty: none.
      METRICS_NAMESPACE = var.metrics_namespace == null ? "" : var.metrics_namespace
    })
  }

  dynamic "tracing_config" {
    for_each = var.lambda_tracing_mode == null ? [] : [var.lambda_tracing_mode]
    content {
      mode = tracing_config.value
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.lambda_alias_function_version == null || var.lambda_publish
      error_message = "lambda_alias_function_version (${coalesce(var.lambda_alias_function_version, "none")}) pins the alias to a published version: set lambda_publish = true too (without it the module publishes no version and creates no alias)."
    }

    precondition {
      condition     = length(local.targets) > 0
      error_message = "create_replica_table = false needs at least one of replica_targets: the function would have nowhere to write."
    }

    precondition {
      condition     = length(distinct([for t in local.targets : t.name])) == length(local.targets)
      error_message = "replica_targets: target names must be unique (the module's own replica is named after replica_table_name): ${join(", ", [for t in local.targets : t.name])}."
    }

    precondition {
      condition     = length(distinct([for t in local.targets : t.place])) == length(local.targets)
      error_message = "replica_targets: a table is configured twice (same account, region and name); keep one: ${join(", ", [for t in local.targets : "${t.name} = ${t.place}"])}."
    }

    precondition {
      # By name, at plan even when the account or region is not known yet (the check below needs them).
      condition     = !local.create_replica_table || var.replica_table_name != var.source_table_name
      error_message = "replica_table_name must differ from source_table_name: the function would write every change back into its own source."
    }

    precondition {
      condition     = !contains([for t in local.targets : t.place], local.source_place)
      error_message = "replica_targets: a target is the source table itself (${local.source_place}: same account, region and name): the function would write every change back into its own stream."
    }

    precondition {
      # Lambda's environment holds 4 KB in all; the other variables take a few hundred bytes.
      condition     = length(lookup(local.replica_environment, "REPLICA_TARGETS", "")) <= 3500
      error_message = "replica_targets: the targets' description (REPLICA_TARGETS, ${length(lookup(local.replica_environment, "REPLICA_TARGETS", ""))} bytes) does not fit Lambda's 4 KB environment: use shorter names, table names or external IDs, or fewer targets per function."
    }

    precondition {
      condition     = fileexists(var.lambda_package_path)
      error_message = "lambda_package_path: ${var.lambda_package_path} does not exist. Build it first (make build writes dist/ddbreplica_lambda.zip)."
    }
  }

  # The log group exists (with its retention) and the role may write to it before the first invocation.
  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
  ]
}

################################################################################
# Alias (lambda_publish): what the mapping invokes. A new version goes live, or an earlier one comes back, by
# moving the alias; the mapping keeps its ARN, so it is never re-created (no replay, no gap).
################################################################################

resource "aws_lambda_alias" "this" {
  count = local.create && var.lambda_publish ? 1 : 0

  name             = var.lambda_alias_name
  description      = "Invoked by the stream's event source mapping. Move it to roll a version out or back."
  function_name    = aws_lambda_function.this[0].arn
  function_version = var.lambda_alias_function_version != null ? var.lambda_alias_function_version : aws_lambda_function.this[0].version
}
