# The workshop's first use case for streams: a game hosted in several regions, each kept in sync with the others.
# One source in var.source_region; one stream, one function, two replicas: one in var.eu_region (same account), one in
# var.replica_account_region owned by a second account, written through a writer role that trusts the function's role.

provider "aws" {
  region  = var.source_region
  profile = var.source_profile
}

provider "aws" {
  alias   = "eu"
  region  = var.eu_region
  profile = var.source_profile
}

# The second account: its own credentials profile on AWS, or a role assumed into it (LocalStack, or an
# organization's OrganizationAccountAccessRole). Neither set: the same account as the source.
provider "aws" {
  alias   = "replica_account"
  region  = var.replica_account_region
  profile = var.replica_account_profile

  dynamic "assume_role" {
    for_each = var.replica_account_role_arn == null ? [] : [var.replica_account_role_arn]
    content {
      role_arn = assume_role.value
    }
  }
}

locals {
  lambda_package_path = coalesce(var.lambda_package_path, "${path.module}/../../dist/ddbreplica_lambda.zip")
  hash_key            = { name = "PK", type = "S" }
}

module "replication" {
  source = "../../modules/dynamodb-stream-replica"

  source_table_name       = var.source_table_name
  source_stream_view_type = "NEW_IMAGE"
  hash_key                = local.hash_key

  # No replica in the source's region: the targets below are the replicas.
  create_replica_table = false
  replica_table_name   = var.replica_table_name
  replica_targets      = [module.replica_eu.target, module.replica_other_account.target]

  lambda_package_path = local.lambda_package_path
  lambda_timeout      = 60

  event_source_mapping = {
    batch_size        = 100
    starting_position = "TRIM_HORIZON"
  }
}

# Same account, another region: the function's own role writes it; its own index and on-demand capacity.
module "replica_eu" {
  source = "../../modules/replica-target"
  providers = {
    aws = aws.eu
  }

  name       = "eu"
  table_name = var.replica_table_name
  hash_key   = local.hash_key
  global_secondary_indexes = [
    {
      name               = "GSI_1"
      hash_key           = { name = "GSI_1_PK", type = "S" }
      projection_type    = "INCLUDE"
      non_key_attributes = ["bytessent", "requestid", "host"]
    },
  ]
}

# Another account: a writer role there, trusted by the function's role only, with an external ID.
module "replica_other_account" {
  source = "../../modules/replica-target"
  providers = {
    aws = aws.replica_account
  }

  name           = "other-account"
  table_name     = var.replica_table_name
  hash_key       = local.hash_key
  billing_mode   = "PROVISIONED"
  read_capacity  = 5
  write_capacity = 10

  create_writer_role  = true
  replicator_role_arn = module.replication.lambda_role_arn
  operator_role_arns  = concat(var.operator_role_arns, aws_iam_role.operator[*].arn)
  external_id         = var.external_id
  # ddb-replica backfill|verify reach this target through the writer role (make e2e does).
  writer_role_allow_verify = true
}

# A role for the people who run `ddb-replica backfill|verify`, with exactly what they call (optional: on AWS you may
# attach the module's operator_policy_json to a role of your own instead).
data "aws_caller_identity" "source" {}

data "aws_region" "source" {}

locals {
  # IAM names are global to the account: the region too (the example in two regions), cut to 64 characters.
  operator_role_suffix = "-${data.aws_region.source.region}-operator"
  operator_role_name   = "${substr(replace(var.source_table_name, ".", "-"), 0, 64 - length(local.operator_role_suffix))}${local.operator_role_suffix}"
}

resource "aws_iam_role" "operator" {
  count = var.create_operator_role ? 1 : 0

  name = local.operator_role_name
  # The source account as principal: its identities that IAM lets assume this role may (as with any role
  # trusting its account); the writer role of the second account trusts this role by ARN.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { AWS = "arn:${split(":", data.aws_caller_identity.source.arn)[1]}:iam::${data.aws_caller_identity.source.account_id}:root" }
      },
    ]
  })
}

resource "aws_iam_role_policy" "operator" {
  count = var.create_operator_role ? 1 : 0

  name   = "ddb-replica"
  role   = aws_iam_role.operator[0].id
  policy = module.replication.operator_policy_json
}
