locals {
  # Keys DynamoDB decrypts for the function: the source's, this account's targets', the checkpoint table's (a target
  # in another account grants its key to its writer role). kms:ViaService names DynamoDB in each key's region.
  function_keys = sort(distinct(compact(concat(
    [var.source_kms_key_arn, var.checkpoint_table_kms_key_arn],
    [for t in local.own_account_targets : t.kms_key_arn],
  ))))

  # Exactly what the backfill function calls (ddb_replica.backfill_function and the copy/settle code it runs).
  function_policy = !local.create ? null : jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "WriteOwnLogGroup"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${aws_cloudwatch_log_group.function[0].arn}:*"]
        },
        {
          # The segment's pages (Scan) and the chunk's keys read again by the settle (BatchGetItem).
          Sid      = "ReadSourceTable"
          Effect   = "Allow"
          Action   = ["dynamodb:BatchGetItem", "dynamodb:Scan"]
          Resource = [var.source_table_arn]
        },
        {
          # The run's manifest (GetItem), the segments' states (Query), each save (PutItem) and the lease (UpdateItem).
          Sid      = "KeepCheckpoints"
          Effect   = "Allow"
          Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
          Resource = [module.checkpoint_table.table_arn]
        },
      ],
      length(local.own_account_targets) > 0 ? [
        {
          # Read the chunk's keys (BatchGetItem), copy the missing items (BatchWriteItem; --copy transact and item
          # are authorised as PutItem), settle (conditional PutItem and DeleteItem).
          Sid      = "CopyToTargets"
          Effect   = "Allow"
          Action   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem"]
          Resource = [for t in local.own_account_targets : t.table_arn]
        },
      ] : [],
      length(local.writer_role_arns) > 0 ? [
        {
          # A target in another account through its writer role: that replica-target's operator_role_arns must
          # list this role (output function_role_arn), which lets it read and write there.
          Sid      = "AssumeTargetWriterRoles"
          Effect   = "Allow"
          Action   = ["sts:AssumeRole"]
          Resource = local.writer_role_arns
        },
      ] : [],
      length(local.function_keys) > 0 ? [
        {
          Sid      = "UseTableKeysViaDynamodb"
          Effect   = "Allow"
          Action   = ["kms:Decrypt"]
          Resource = local.function_keys
          Condition = {
            StringEquals = {
              "kms:ViaService" = sort(distinct([for key in local.function_keys : "dynamodb.${split(":", key)[3]}.${split(":", key)[1] == "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com"}"]))
            }
          }
        },
      ] : [],
      var.tracing_enabled ? [
        {
          # X-Ray's PutTraceSegments/PutTelemetryRecords have no resource type: AWS only matches them against "*".
          Sid      = "WriteXRayTraces"
          Effect   = "Allow"
          Action   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
          Resource = ["*"]
        },
      ] : [],
    )
  })

  states_policy = !local.create ? null : jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          # The function and its versions (lambda:invoke may name a qualified ARN).
          Sid      = "InvokeBackfillFunction"
          Effect   = "Allow"
          Action   = ["lambda:InvokeFunction"]
          Resource = [aws_lambda_function.this[0].arn, "${aws_lambda_function.this[0].arn}:*"]
        },
        {
          # Step Functions delivers its logs through CloudWatch Logs' log delivery API, whose actions have no
          # resource type: AWS only matches them against "*" (Step Functions' logging documentation).
          Sid    = "DeliverExecutionLogs"
          Effect = "Allow"
          Action = [
            "logs:CreateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:GetLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:UpdateLogDelivery",
          ]
          Resource = ["*"]
        },
      ],
      var.tracing_enabled ? [
        {
          # X-Ray's actions have no resource type: AWS only matches them against "*".
          Sid      = "WriteXRayTraces"
          Effect   = "Allow"
          Action   = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
          Resource = ["*"]
        },
      ] : [],
    )
  })
}

################################################################################
# Function role (assumed by Lambda only)
################################################################################

resource "aws_iam_role" "function" {
  count = local.create ? 1 : 0

  name                 = local.function_role_name
  description          = "Execution role of ${local.function_name}: scans ${local.source_table_name}, copies to its replicas, keeps checkpoints."
  permissions_boundary = var.role_permissions_boundary

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { Service = "lambda.amazonaws.com" }
      },
    ]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "function" {
  count = local.create ? 1 : 0

  name   = "${local.function_name}-copy"
  role   = aws_iam_role.function[0].id
  policy = local.function_policy
}

################################################################################
# State machine role (assumed by Step Functions only, for executions of this account and region)
################################################################################

resource "aws_iam_role" "states" {
  count = local.create ? 1 : 0

  name                 = local.states_role_name
  description          = "Role of the ${local.state_machine_name} state machine: invokes ${local.function_name}."
  permissions_boundary = var.role_permissions_boundary

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { Service = "states.amazonaws.com" }
        # Only this account's state machines (confused deputy).
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "states" {
  count = local.create ? 1 : 0

  name   = "${local.state_machine_name}-invoke"
  role   = aws_iam_role.states[0].id
  policy = local.states_policy
}
