locals {
  lambda_role_name = coalesce(var.lambda_role_name, local.lambda_function_name)
  log_group_arn    = try(aws_cloudwatch_log_group.lambda[0].arn, null)

  # Customer managed keys the function touches: the module's tables and queue (kms_key_arn), an existing source
  # table's key (its stream is encrypted with it), an existing on-failure destination's key. compact() drops
  # the AWS owned key case ("" or null).
  kms_key_arns = distinct(compact([
    var.kms_key_arn,
    local.source_kms_key_arn,
    try(var.on_failure_destination.kms_key_arn, null),
  ]))

  # One statement per need of the handler and of the mapping (which runs as this role). Only our ARNs;
  # each "*" says why AWS requires it.
  lambda_policy_statements = !local.create ? [] : concat(
    [
      {
        Sid      = "WriteOwnLogGroup"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${local.log_group_arn}:*"]
      },
      {
        # The mapping's poller reads the stream as this role.
        Sid      = "ReadSourceStream"
        Effect   = "Allow"
        Action   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
        Resource = [local.source_stream_arn]
      },
      {
        # dynamodb:ListStreams has no resource type in the Service Authorization Reference (it lists every stream
        # of the account and region), so AWS only matches it against "*". It returns stream ARNs, not data.
        Sid      = "ListStreams"
        Effect   = "Allow"
        Action   = ["dynamodb:ListStreams"]
        Resource = ["*"]
      },
      {
        # The handler batches puts and deletes (BatchWriteItem) and falls back to single calls; it never reads.
        Sid      = "WriteReplicaTable"
        Effect   = "Allow"
        Action   = ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem"]
        Resource = [local.replica_table_arn]
      },
    ],
    local.on_failure_enabled ? [
      {
        # The mapping (not the handler) sends the metadata of a failed batch, with this role.
        Sid      = "SendFailedBatchMetadata"
        Effect   = "Allow"
        Action   = [local.on_failure_service == "sns" ? "sns:Publish" : "sqs:SendMessage"]
        Resource = [local.on_failure_destination_arn]
      },
    ] : [],
    length(local.kms_key_arns) > 0 ? [
      {
        # Decrypt: stream records and table keys; Encrypt/GenerateDataKey: writes to a CMK table, messages to a CMK queue.
        Sid      = "UseCustomerManagedKeys"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
        Resource = local.kms_key_arns
      },
    ] : [],
    var.lambda_tracing_mode == "Active" ? [
      {
        # X-Ray's PutTraceSegments/PutTelemetryRecords have no resource type: AWS only matches them against "*".
        Sid      = "WriteXRayTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
        Resource = ["*"]
      },
    ] : [],
  )
}

################################################################################
# Role (assumed by Lambda only)
################################################################################

resource "aws_iam_role" "lambda" {
  count = local.create ? 1 : 0

  name                 = local.lambda_role_name
  description          = "Execution role of ${local.lambda_function_name}: reads the stream of ${var.source_table_name}, writes ${var.replica_table_name}."
  permissions_boundary = var.lambda_role_permissions_boundary

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

################################################################################
# Inline policy: exactly what the function and its mapping use, scoped to this module's ARNs.
# Inline (not the managed AWSLambdaDynamoDBExecutionRole, whose resources are "*"), and built with jsonencode so
# tests can read the rendered document.
################################################################################

resource "aws_iam_role_policy" "lambda" {
  count = local.create ? 1 : 0

  name = "${local.lambda_function_name}-replication"
  role = aws_iam_role.lambda[0].id

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.lambda_policy_statements
  })
}
