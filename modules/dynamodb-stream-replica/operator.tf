locals {
  serverless_backfill = local.create && var.backfill_mode == "serverless"

  # The keys DynamoDB decrypts when ddb-replica reads or writes: the source's and those of this account's targets
  # (a target in another account grants its key to its writer role).
  # The function's log events, in the source table's partition, region and account (arn:<partition>:dynamodb:
  # <region>:<account>:table/<name>); try: the table's ARN is null without `create` (the policy is null then,
  # but OpenTofu evaluates both results of its conditional).
  function_log_events_arn = try(format("arn:%s:logs:%s:%s:log-group:%s:*", split(":", local.source_table_arn)[1], split(":", local.source_table_arn)[3], split(":", local.source_table_arn)[4], local.log_group_name), "")

  operator_keys = compact(concat([local.source_kms_key_arn], [for t in local.own_account_targets : t.kms_key_arn]))

  # ddb-replica redrive reads an S3 destination's records under this mapping's prefix only (Lambda writes
  # aws/lambda/<mapping UUID>/<shard>/...); try: no mapping without `create`.
  failure_bucket_arn     = local.on_failure_service == "s3" ? local.on_failure_destination_arn : ""
  failure_objects_prefix = try("aws/lambda/${aws_lambda_event_source_mapping.this[0].uuid}/", "")

  # What `ddb-replica backfill`, `verify [--repair]`, `status` and `redrive` call, and nothing else: they describe, scan and read keys
  # again (BatchGetItem) on both sides, and write the replica: BatchWriteItem (backfill's default copy) and
  # conditional PutItem/DeleteItem (settle, repair; TransactWriteItems is authorised as PutItem). The function's
  # role is not for people; attach this to the role your operators run ddb-replica as.
  operator_policy = !local.create ? null : jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "ReadSourceTable"
          Effect   = "Allow"
          Action   = ["dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:Scan"]
          Resource = [local.source_table_arn]
        },
      ],
      length(local.own_account_targets) > 0 ? [
        {
          Sid      = "ReadAndRepairTargets"
          Effect   = "Allow"
          Action   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:PutItem", "dynamodb:Scan"]
          Resource = [for t in local.own_account_targets : t.table_arn]
        },
      ] : [],
      length(local.writer_role_arns) > 0 ? [
        {
          # Another account's target is read and repaired through its writer role: list the operator's role in
          # that replica-target's operator_role_arns, which also lets it read there.
          Sid      = "AssumeTargetWriterRoles"
          Effect   = "Allow"
          Action   = ["sts:AssumeRole"]
          Resource = local.writer_role_arns
        },
      ] : [],
      local.serverless_backfill ? [
        {
          # backfill --serverless: starts a run, follows and stops its executions (one state machine). parliament
          # reports RESOURCE_MISMATCH for this statement and the next: it also asks ListExecutions for a Distributed
          # Map run and DescribeExecution for an Express execution, which a STANDARD machine with an inline Map
          # has not (tools/policy_lint.py, EXPLAINED).
          Sid      = "RunServerlessBackfill"
          Effect   = "Allow"
          Action   = ["states:DescribeStateMachine", "states:ListExecutions", "states:StartExecution"]
          Resource = [module.serverless_backfill.state_machine_arn]
        },
        {
          Sid      = "FollowServerlessBackfill"
          Effect   = "Allow"
          Action   = ["states:DescribeExecution", "states:StopExecution"]
          Resource = ["${replace(module.serverless_backfill.state_machine_arn, ":stateMachine:", ":execution:")}:*"]
        },
        {
          # The run's manifest and segments (PutItem, GetItem, Query), the execution that owns the run (UpdateItem);
          # the runs to resume (Scan of the small table).
          Sid      = "KeepServerlessCheckpoints"
          Effect   = "Allow"
          Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"]
          Resource = [module.serverless_backfill.checkpoint_table_arn]
        },
      ] : [],
      # ddb-replica status (and redrive, which checks the mapping has no filters): this replication's mapping, the
      # function's log lines, its alarms and its queue.
      [
        {
          Sid      = "ReadMappingStatus"
          Effect   = "Allow"
          Action   = ["lambda:GetEventSourceMapping"]
          Resource = [aws_lambda_event_source_mapping.this[0].arn]
        },
        {
          Sid      = "ReadFunctionLogLines"
          Effect   = "Allow"
          Action   = ["logs:FilterLogEvents"]
          Resource = [local.function_log_events_arn]
        },
        {
          # AWS has no resource-level permissions for these two: status finds the mapping by function when it is
          # given no UUID, and reads the lag (IteratorAge) and the queue's oldest message age from CloudWatch.
          Sid      = "ReadReplicationMetrics"
          Effect   = "Allow"
          Action   = ["cloudwatch:GetMetricStatistics", "lambda:ListEventSourceMappings"]
          Resource = ["*"]
        },
      ],
      length(module.alarms.alarm_arns) > 0 ? [
        {
          Sid      = "ReadAlarmStates"
          Effect   = "Allow"
          Action   = ["cloudwatch:DescribeAlarms"]
          Resource = sort(distinct(values(module.alarms.alarm_arns)))
        },
      ] : [],
      local.on_failure_service == "sqs" ? [
        {
          Sid      = "ReadOnFailureQueueDepth"
          Effect   = "Allow"
          Action   = ["sqs:GetQueueAttributes"]
          Resource = [local.on_failure_destination_arn]
        },
        {
          # ddb-replica redrive: takes each failed batch's message, hides it while it works, deletes it once redriven.
          Sid      = "RedriveFailedBatchMessages"
          Effect   = "Allow"
          Action   = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"]
          Resource = [local.on_failure_destination_arn]
        },
      ] : [],
      local.on_failure_service == "s3" ? [
        {
          Sid      = "ListFailedBatchObjects"
          Effect   = "Allow"
          Action   = ["s3:ListBucket"]
          Resource = [local.failure_bucket_arn]
          Condition = {
            StringLike = { "s3:prefix" = ["${local.failure_objects_prefix}*"] }
          }
        },
      ] : [],
      local.on_failure_service == "s3" ? [
        {
          Sid      = "RedriveFailedBatchObjects"
          Effect   = "Allow"
          Action   = ["s3:DeleteObject", "s3:GetObject"]
          Resource = ["${local.failure_bucket_arn}/${local.failure_objects_prefix}*"]
        },
      ] : [],
      contains(["s3", "sqs"], coalesce(local.on_failure_service, "none")) && local.on_failure_kms_key_arn != null ? [
        {
          # ddb-replica redrive reads the failed batches: the queue's messages or the bucket's objects, through that
          # service only.
          Sid      = "DecryptFailedBatches"
          Effect   = "Allow"
          Action   = ["kms:Decrypt"]
          Resource = [local.on_failure_kms_key_arn]
          Condition = {
            StringEquals = {
              "kms:ViaService" = ["${local.on_failure_service}.${local.kms_key_endpoints[local.on_failure_kms_key_arn]}"]
            }
          }
        },
      ] : [],
      contains(["s3", "sqs"], coalesce(local.on_failure_service, "none")) ? [
        {
          # ddb-replica redrive reads a failed batch's records from the stream the message names: any stream of the
          # source table (a replaced stream stays readable for 24 hours).
          Sid      = "ReadSourceStreamRecords"
          Effect   = "Allow"
          Action   = ["dynamodb:GetRecords", "dynamodb:GetShardIterator"]
          Resource = ["${local.source_table_arn}/stream/*"]
        },
      ] : [],
      length(local.operator_keys) > 0 ? [
        {
          Sid      = "UseTableKeysViaDynamodb"
          Effect   = "Allow"
          Action   = ["kms:Decrypt"]
          Resource = sort(distinct(local.operator_keys))
          Condition = {
            StringEquals = {
              "kms:ViaService" = sort(distinct([for key in local.operator_keys : "dynamodb.${local.kms_key_endpoints[key]}"]))
            }
          }
        },
      ] : [],
    )
  })
}
