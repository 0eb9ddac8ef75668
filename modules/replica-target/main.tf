# A replica table in the region and account of this module's provider, plus, for a replicator in another account,
# a writer role that the replicator's function role may assume. Instantiate it with that region's or account's
# provider, and pass its `target` output to the replication module's `replica_targets`.

locals {
  create_writer_role = var.create && var.create_writer_role
  # arn:<partition>:iam::<account>:role/<path/name>
  replicator_arn_parts = try(split(":", var.replicator_role_arn), [])
  # IAM names are global to the account: the default names the region too (one table name, two regions).
  writer_role_name = coalesce(var.writer_role_name, "${substr(replace(var.table_name, ".", "-"), 0, 63 - length("-${data.aws_region.current.region}-writer"))}-${data.aws_region.current.region}-writer")
  # ddb-replica's reads: by default only when an operator may assume the role (the function never reads).
  allow_verify = var.writer_role_allow_verify != null ? var.writer_role_allow_verify : length(var.operator_role_arns) > 0
}

# Known at plan (unlike the table's ARN on a first apply): the replication module refuses a target configured twice,
# or the source itself, before anything is created.
data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

module "table" {
  source = "../dynamodb-table"

  create                         = var.create
  name                           = var.table_name
  hash_key                       = var.hash_key
  range_key                      = var.range_key
  billing_mode                   = var.billing_mode
  read_capacity                  = var.read_capacity
  write_capacity                 = var.write_capacity
  global_secondary_indexes       = var.global_secondary_indexes
  point_in_time_recovery_enabled = var.point_in_time_recovery_enabled
  deletion_protection_enabled    = var.deletion_protection_enabled
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags
}

################################################################################
# Writer role (a replicator in another account): assumed by the replicator's function role only
################################################################################

locals {
  # Built with jsonencode (not aws_iam_policy_document) so that the module's tests read the rendered document.
  # The account as principal, narrowed to one role by aws:PrincipalArn: IAM refuses a policy naming a role that
  # does not exist yet (the replicator's may be created after this one), and a role named directly turns into an
  # unmatchable ID when that role is re-created.
  trust_policy = !local.create_writer_role ? null : jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ReplicatorFunctionRole"
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { AWS = try("arn:${local.replicator_arn_parts[1]}:iam::${local.replicator_arn_parts[4]}:root", "") }
        Condition = merge(
          {
            ArnEquals = {
              "aws:PrincipalArn" = concat([var.replicator_role_arn], var.operator_role_arns)
            }
          },
          var.external_id == null ? {} : { StringEquals = { "sts:ExternalId" = var.external_id } },
        )
      },
    ]
  })
}

resource "aws_iam_role" "writer" {
  count = local.create_writer_role ? 1 : 0

  name                 = local.writer_role_name
  description          = "Written by the replicator ${var.replicator_role_arn}: ${var.table_name} only."
  permissions_boundary = var.writer_role_permissions_boundary
  assume_role_policy   = local.trust_policy
  max_session_duration = 3600

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.replicator_role_arn != null
      error_message = "create_writer_role = true needs replicator_role_arn: the replication module's lambda_role_arn output (the role the writer role trusts)."
    }
  }
}

resource "aws_iam_role_policy" "writer" {
  count = local.create_writer_role ? 1 : 0

  name   = "replica-writer"
  role   = aws_iam_role.writer[0].id
  policy = local.writer_policy
}

locals {
  # What the function writes (it never reads), and what `ddb-replica backfill|verify --replica-role-arn` reads.
  writer_policy = !local.create_writer_role ? null : jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "WriteReplicaTable"
          Effect   = "Allow"
          Action   = ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem"]
          Resource = [module.table.table_arn]
        },
      ],
      local.allow_verify ? [
        {
          # ddb-replica describes the replica, scans it (verify) and reads keys again (backfill, repair).
          Sid      = "ReadReplicaTableForVerify"
          Effect   = "Allow"
          Action   = ["dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:Scan"]
          Resource = [module.table.table_arn]
        },
      ] : [],
      var.kms_key_arn == null ? [] : [
        {
          # DynamoDB decrypts the table key on the writer's behalf; nothing else may use it through this role.
          Sid      = "UseTableKeyViaDynamoDB"
          Effect   = "Allow"
          Action   = ["kms:Decrypt"]
          Resource = [var.kms_key_arn]
          Condition = {
            StringEquals = {
              "kms:ViaService" = "dynamodb.${split(":", var.kms_key_arn)[3]}.${split(":", var.kms_key_arn)[1] == "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com"}"
            }
          }
        },
      ],
    )
  })
}

