locals {
  # IAM names are global to the account: the default is <function>-<region>, cut so it fits 64 characters.
  lambda_region    = try(data.aws_region.current[0].region, "")
  lambda_role_name = var.lambda_role_name != null ? var.lambda_role_name : "${substr(local.lambda_function_name, 0, 63 - length(local.lambda_region))}-${local.lambda_region}"

  # The function's log group, created by the module (lambda.tf) or not: then its ARN is derived from the replica
  # table's (same partition, region and account), and Lambda creates the group on the first invocation if missing.
  replica_arn_parts = try(split(":", coalesce(local.replica_table_arn, local.source_table_arn)), [])
  log_group_arn = var.create_cloudwatch_log_group ? try(aws_cloudwatch_log_group.lambda[0].arn, null) : (
    length(local.replica_arn_parts) < 5 ? null
    : "arn:${local.replica_arn_parts[1]}:logs:${local.replica_arn_parts[3]}:${local.replica_arn_parts[4]}:log-group:${local.log_group_name}"
  )

  # Customer managed keys, grouped by the service that uses them for the function's role. A key's region is the
  # region of what it encrypts, so each statement's kms:ViaService names the service's endpoint in that region.
  #  - dynamodb: the source table's key (the mapping reads its stream, encrypted with it) and the replica table's
  #    key (the handler writes to it): DynamoDB decrypts the table key on the caller's behalf, nothing else.
  #  - the on-failure destination's service (sqs, sns, s3): the mapping sends a message or an object encrypted
  #    with a new data key.
  kms_uses = {
    for use in concat(
      [
        { service = "dynamodb", key = local.source_kms_key_arn, actions = ["kms:Decrypt"] },
        { service = "dynamodb", key = local.create_replica_table ? local.replica_table_kms_key_arn : null, actions = ["kms:Decrypt"] },
      ],
      # The keys of the caller's targets in this account (any region); a target in another account grants its
      # key to its writer role (replica-target module).
      [for t in var.replica_targets : { service = "dynamodb", key = t.kms_key_arn, actions = ["kms:Decrypt"] } if t.role_arn == null],
      [{ service = local.on_failure_service, key = local.on_failure_kms_key_arn, actions = ["kms:Decrypt", "kms:GenerateDataKey"] }],
    ) : use.service => use... if try(use.key, null) != null && try(use.key, "") != ""
  }
  # <region>.<DNS suffix of the key's partition> of every key a statement names, the function's or ddb-replica's
  # (China: amazonaws.com.cn): kms:ViaService is "<service>.<this>", the service's endpoint in the key's region.
  kms_key_endpoints = {
    for key in distinct(concat(flatten([for uses in values(local.kms_uses) : uses[*].key]), local.operator_keys, compact([local.on_failure_kms_key_arn]))) :
    key => "${split(":", key)[3]}.${split(":", key)[1] == "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com"}"
  }
  kms_statements = [
    for service, uses in local.kms_uses : {
      Sid      = "UseKeysVia${title(service)}"
      Effect   = "Allow"
      Action   = sort(distinct(flatten(uses[*].actions)))
      Resource = sort(distinct(uses[*].key))
      Condition = {
        StringEquals = {
          "kms:ViaService" = sort(distinct([for use in uses : "${service}.${local.kms_key_endpoints[use.key]}"]))
        }
      }
    }
  ]

  # One statement per need of the handler and of the mapping (which runs as this role). Only our ARNs;
  # each "*" says why AWS requires it. Rendered here (null without create): the statements differ in shape (some
  # have a Condition), so they form a tuple that a conditional cannot pair with an empty list.
  lambda_policy = !local.create ? null : jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          # The group itself only when the module does not create it: Lambda then creates it if it is missing.
          Sid      = "WriteOwnLogGroup"
          Effect   = "Allow"
          Action   = var.create_cloudwatch_log_group ? ["logs:CreateLogStream", "logs:PutLogEvents"] : ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = var.create_cloudwatch_log_group ? ["${local.log_group_arn}:*"] : [local.log_group_arn, "${local.log_group_arn}:*"]
        },
        {
          # The mapping's poller reads the stream as this role. parliament reports RESOURCE_MISMATCH here: it splits
          # ARNs at every colon, and the stream label is a timestamp with colons (tools/policy_lint.py, EXPLAINED).
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
      ],
      length(local.own_account_targets) > 0 ? [
        {
          # The handler batches puts and deletes (BatchWriteItem) and falls back to single calls; it never reads.
          # Only when the role writes a table itself: IAM refuses a statement without resources.
          Sid      = "WriteReplicaTable"
          Effect   = "Allow"
          Action   = ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem"]
          Resource = [for t in local.own_account_targets : t.table_arn]
        },
      ] : [],
      length(local.writer_role_arns) > 0 ? [
        {
          # A target in another account is written through its writer role (replica-target module), which
          # trusts this role only; the function assumes it with STS.
          Sid      = "AssumeTargetWriterRoles"
          Effect   = "Allow"
          Action   = ["sts:AssumeRole"]
          Resource = local.writer_role_arns
        },
      ] : [],
      local.on_failure_enabled && local.on_failure_service != "s3" ? [
        {
          # The mapping (not the handler) sends the metadata of a failed batch, with this role.
          Sid      = "SendFailedBatchMetadata"
          Effect   = "Allow"
          Action   = [local.on_failure_service == "sns" ? "sns:Publish" : "sqs:SendMessage"]
          Resource = [local.on_failure_destination_arn]
        },
      ] : [],
      local.on_failure_enabled && local.on_failure_service == "s3" ? [
        {
          # The mapping writes one object per failed batch (its metadata and records) and lists the bucket, as
          # Lambda's documentation requires for S3 destinations. Lambda picks the object keys (the destination is
          # a bucket, with no prefix to set), so the objects statement covers the bucket: give it a bucket of its own.
          Sid      = "ListFailedBatchBucket"
          Effect   = "Allow"
          Action   = ["s3:ListBucket"]
          Resource = [local.on_failure_destination_arn]
        },
        {
          Sid      = "WriteFailedBatchObjects"
          Effect   = "Allow"
          Action   = ["s3:PutObject"]
          Resource = ["${local.on_failure_destination_arn}/*"]
        },
      ] : [],
      local.kms_statements,
      var.lambda_tracing_mode == "Active" ? [
        {
          # X-Ray's PutTraceSegments/PutTelemetryRecords have no resource type: AWS only matches them against "*".
          Sid      = "WriteXRayTraces"
          Effect   = "Allow"
          Action   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
          Resource = ["*"]
        },
      ] : [],
  ) })
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

  policy = local.lambda_policy
}
