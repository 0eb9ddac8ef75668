locals {
  create               = var.create
  create_source_table  = local.create && var.create_source_table
  create_replica_table = local.create && var.create_replica_table

  # Attribute definitions are derived from the keys that use them: the table's keys plus each index's keys.
  # Grouped by name (`...`) so a name used with two different types is caught by a precondition below.
  table_key_attributes = concat(
    [var.hash_key],
    var.range_key == null ? [] : [var.range_key],
  )
  attribute_types = {
    for table, indexes in {
      source  = var.source_global_secondary_indexes
      replica = var.replica_global_secondary_indexes
      } : table => {
      for a in concat(
        local.table_key_attributes,
        flatten([for i in indexes : concat([i.hash_key], i.range_key == null ? [] : [i.range_key])]),
      ) : a.name => a.type...
    }
  }

  # The source table: created below, or the existing one read in data.tf.
  # An existing table's stream: the caller's source_stream_arn when given (known at plan once the table exists,
  # whatever else changes), else the one read by name.
  existing_stream_arn = local.given_stream_arn != null ? local.given_stream_arn : try(data.aws_dynamodb_table.source[0].stream_arn, null)
  source_stream_arn   = var.create_source_table ? try(aws_dynamodb_table.source[0].stream_arn, null) : local.existing_stream_arn
  # arn:...:table/<name>/stream/<label> -> arn:...:table/<name>
  source_table_arn   = var.create_source_table ? try(aws_dynamodb_table.source[0].arn, null) : try(split("/stream/", local.existing_stream_arn)[0], null)
  source_kms_key_arn = var.create_source_table ? local.source_table_kms_key_arn : try(data.aws_dynamodb_table.source[0].server_side_encryption[0].kms_key_arn, null)

  # One customer managed key per table the module creates (and one for its queue, event_source_mapping.tf);
  # kms_key_arn is the default for each, null the AWS owned key.
  source_table_kms_key_arn  = var.source_table_kms_key_arn != null ? var.source_table_kms_key_arn : var.kms_key_arn
  replica_table_kms_key_arn = var.replica_table_kms_key_arn != null ? var.replica_table_kms_key_arn : var.kms_key_arn

  replica_table_arn = try(aws_dynamodb_table.replica[0].arn, null)
  # arn:<partition>:dynamodb:<region>:<account>:table/<name>
  replica_region = try(split(":", local.replica_table_arn)[3], null)
}

################################################################################
# Source table (optional: create_source_table = false reads an existing one in data.tf)
################################################################################

resource "aws_dynamodb_table" "source" {
  count = local.create_source_table ? 1 : 0

  # checkov:skip=CKV_AWS_119: AWS owned key by default (requirement); kms_key_arn switches to a customer managed key.
  # checkov:skip=CKV2_AWS_16: on-demand by default; PROVISIONED is for fixed capacities (the lab's 5/5), autoscaling is out of scope.
  name                        = var.source_table_name
  billing_mode                = var.source_billing_mode
  read_capacity               = var.source_billing_mode == "PROVISIONED" ? var.source_read_capacity : null
  write_capacity              = var.source_billing_mode == "PROVISIONED" ? var.source_write_capacity : null
  hash_key                    = var.hash_key.name
  range_key                   = try(var.range_key.name, null)
  stream_enabled              = true
  stream_view_type            = var.source_stream_view_type
  deletion_protection_enabled = var.deletion_protection_enabled

  dynamic "attribute" {
    for_each = local.attribute_types.source
    content {
      name = attribute.key
      type = attribute.value[0]
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.source_global_secondary_indexes
    iterator = gsi
    content {
      name               = gsi.value.name
      hash_key           = gsi.value.hash_key.name
      range_key          = try(gsi.value.range_key.name, null)
      projection_type    = gsi.value.projection_type
      non_key_attributes = gsi.value.non_key_attributes
      read_capacity      = var.source_billing_mode == "PROVISIONED" ? (gsi.value.read_capacity != null ? gsi.value.read_capacity : var.source_read_capacity) : null
      write_capacity     = var.source_billing_mode == "PROVISIONED" ? (gsi.value.write_capacity != null ? gsi.value.write_capacity : var.source_write_capacity) : null
    }
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery_enabled
  }

  server_side_encryption {
    enabled     = local.source_table_kms_key_arn != null
    kms_key_arn = local.source_table_kms_key_arn
  }

  tags = merge(var.tags, var.source_table_tags)

  lifecycle {
    # Checked before the table changes: a new view type means a new stream, and a gap in the replica.
    precondition {
      condition = var.allow_stream_replacement || length(data.aws_dynamodb_table.current_source) == 0 ? true : (
        try(data.aws_dynamodb_table.current_source[0].stream_enabled, false) != true
        || try(data.aws_dynamodb_table.current_source[0].stream_view_type, "") == var.source_stream_view_type
      )
      error_message = "source_stream_view_type: the stream of ${var.source_table_name} carries ${try(data.aws_dynamodb_table.current_source[0].stream_view_type, "?")}, and AWS cannot change an enabled stream's view type to ${var.source_stream_view_type}: this apply would disable it and enable a new stream (new ARN), and replace the event source mapping. Not replicated then: records of the old stream not yet processed, changes written between the two streams, and with LATEST the new stream's first records. To go ahead, set allow_stream_replacement = true for this apply, then run `ddb-replica verify --repair` on the two tables. To keep the stream, set source_stream_view_type back to ${try(data.aws_dynamodb_table.current_source[0].stream_view_type, "?")}."
    }

    precondition {
      condition     = var.source_billing_mode == "PAY_PER_REQUEST" || (var.source_read_capacity != null && var.source_write_capacity != null)
      error_message = "source_billing_mode = PROVISIONED needs source_read_capacity and source_write_capacity."
    }

    precondition {
      condition     = alltrue([for name, types in local.attribute_types.source : length(distinct(types)) == 1])
      error_message = "Source table: an attribute is used as a key with two different types across hash_key, range_key and source_global_secondary_indexes."
    }
  }
}

################################################################################
# Replica table
################################################################################

resource "aws_dynamodb_table" "replica" {
  count = local.create_replica_table ? 1 : 0

  # checkov:skip=CKV_AWS_119: AWS owned key by default (requirement); kms_key_arn switches to a customer managed key.
  # checkov:skip=CKV2_AWS_16: on-demand by default; PROVISIONED is for fixed capacities (the lab's 10/5), autoscaling is out of scope.
  name                        = var.replica_table_name
  billing_mode                = var.replica_billing_mode
  read_capacity               = var.replica_billing_mode == "PROVISIONED" ? var.replica_read_capacity : null
  write_capacity              = var.replica_billing_mode == "PROVISIONED" ? var.replica_write_capacity : null
  hash_key                    = var.hash_key.name
  range_key                   = try(var.range_key.name, null)
  deletion_protection_enabled = var.deletion_protection_enabled

  dynamic "attribute" {
    for_each = local.attribute_types.replica
    content {
      name = attribute.key
      type = attribute.value[0]
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.replica_global_secondary_indexes
    iterator = gsi
    content {
      name               = gsi.value.name
      hash_key           = gsi.value.hash_key.name
      range_key          = try(gsi.value.range_key.name, null)
      projection_type    = gsi.value.projection_type
      non_key_attributes = gsi.value.non_key_attributes
      read_capacity      = var.replica_billing_mode == "PROVISIONED" ? (gsi.value.read_capacity != null ? gsi.value.read_capacity : var.replica_read_capacity) : null
      write_capacity     = var.replica_billing_mode == "PROVISIONED" ? (gsi.value.write_capacity != null ? gsi.value.write_capacity : var.replica_write_capacity) : null
    }
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery_enabled
  }

  server_side_encryption {
    enabled     = local.replica_table_kms_key_arn != null
    kms_key_arn = local.replica_table_kms_key_arn
  }

  tags = merge(var.tags, var.replica_table_tags)

  lifecycle {
    precondition {
      condition     = var.replica_table_name != var.source_table_name
      error_message = "replica_table_name must differ from source_table_name: the function would write every change back into its own source."
    }

    precondition {
      condition     = var.replica_billing_mode == "PAY_PER_REQUEST" || (var.replica_read_capacity != null && var.replica_write_capacity != null)
      error_message = "replica_billing_mode = PROVISIONED needs replica_read_capacity and replica_write_capacity."
    }

    precondition {
      condition     = alltrue([for name, types in local.attribute_types.replica : length(distinct(types)) == 1])
      error_message = "Replica table: an attribute is used as a key with two different types across hash_key, range_key and replica_global_secondary_indexes."
    }
  }
}
