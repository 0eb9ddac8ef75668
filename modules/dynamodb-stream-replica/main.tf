locals {
  create               = var.create
  create_source_table  = local.create && var.create_source_table
  create_replica_table = local.create && var.create_replica_table

  # The source table: created below, or the existing one read in data.tf.
  # An existing table's stream: the caller's source_stream_arn when given (known at plan once the table exists,
  # whatever else changes), else the one read by name.
  existing_stream_arn = local.given_stream_arn != null ? local.given_stream_arn : try(data.aws_dynamodb_table.source[0].stream_arn, null)
  source_stream_arn   = var.create_source_table ? module.source_table.table_stream_arn : local.existing_stream_arn
  # arn:...:table/<name>/stream/<label> -> arn:...:table/<name>
  source_table_arn   = var.create_source_table ? module.source_table.table_arn : try(split("/stream/", local.existing_stream_arn)[0], null)
  source_kms_key_arn = var.create_source_table ? local.source_table_kms_key_arn : try(data.aws_dynamodb_table.source[0].server_side_encryption[0].kms_key_arn, null)

  # One customer managed key per table the module creates (and one for its queue, event_source_mapping.tf);
  # kms_key_arn is the default for each, null the AWS owned key.
  source_table_kms_key_arn  = var.source_table_kms_key_arn != null ? var.source_table_kms_key_arn : var.kms_key_arn
  replica_table_kms_key_arn = var.replica_table_kms_key_arn != null ? var.replica_table_kms_key_arn : var.kms_key_arn

  replica_table_arn = module.replica_table.table_arn
  # arn:<partition>:dynamodb:<region>:<account>:table/<name>
  replica_region = try(split(":", local.replica_table_arn)[3], null)
}

################################################################################
# Tables: one definition (modules/dynamodb-table) for the source and the replica
################################################################################

# The source table (optional: create_source_table = false reads an existing one in data.tf). The checks that
# involve the replication are elsewhere: a new stream view type (event_source_mapping.tf), a replica that is its
# source (lambda.tf, with every target); a table's own checks (capacities, key types) are the table module's.
module "source_table" {
  source = "../dynamodb-table"

  create                         = local.create_source_table
  name                           = var.source_table_name
  hash_key                       = var.hash_key
  range_key                      = var.range_key
  billing_mode                   = var.source_billing_mode
  read_capacity                  = var.source_read_capacity
  write_capacity                 = var.source_write_capacity
  global_secondary_indexes       = var.source_global_secondary_indexes
  stream_view_type               = var.source_stream_view_type
  point_in_time_recovery_enabled = var.point_in_time_recovery_enabled
  deletion_protection_enabled    = var.deletion_protection_enabled
  kms_key_arn                    = local.source_table_kms_key_arn
  tags                           = merge(var.tags, var.source_table_tags)
}

# The module's own replica (create_replica_table = false: only the caller's replica_targets).
module "replica_table" {
  source = "../dynamodb-table"

  create                         = local.create_replica_table
  name                           = var.replica_table_name
  hash_key                       = var.hash_key
  range_key                      = var.range_key
  billing_mode                   = var.replica_billing_mode
  read_capacity                  = var.replica_read_capacity
  write_capacity                 = var.replica_write_capacity
  global_secondary_indexes       = var.replica_global_secondary_indexes
  point_in_time_recovery_enabled = var.point_in_time_recovery_enabled
  deletion_protection_enabled    = var.deletion_protection_enabled
  kms_key_arn                    = local.replica_table_kms_key_arn
  tags                           = merge(var.tags, var.replica_table_tags)
}

# Stacks applied before the tables had one definition keep their tables: Terraform and OpenTofu move them.
moved {
  from = aws_dynamodb_table.source
  to   = module.source_table.aws_dynamodb_table.this
}

moved {
  from = aws_dynamodb_table.replica
  to   = module.replica_table.aws_dynamodb_table.this
}
