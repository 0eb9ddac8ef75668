locals {
  serverless_backfill = local.create && var.backfill_mode == "serverless"

  # The keys DynamoDB decrypts when ddb-replica reads or writes: the source's and those of this account's targets
  # (a target in another account grants its key to its writer role).
  operator_keys = compact(concat([local.source_kms_key_arn], [for t in local.own_account_targets : t.kms_key_arn]))

  # What `ddb-replica backfill` and `verify [--repair]` call, and nothing else: they describe, scan and read keys
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
      length(local.operator_keys) > 0 ? [
        {
          Sid      = "UseTableKeysViaDynamodb"
          Effect   = "Allow"
          Action   = ["kms:Decrypt"]
          Resource = sort(distinct(local.operator_keys))
          Condition = {
            StringEquals = {
              "kms:ViaService" = sort(distinct([for key in local.operator_keys : "dynamodb.${split(":", key)[3]}.${split(":", key)[1] == "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com"}"]))
            }
          }
        },
      ] : [],
    )
  })
}
