locals {
  # Attribute definitions come from the keys that use them: the table's keys plus each index's keys, grouped by
  # name (`...`) so that a name used with two different types is caught by a precondition below.
  attribute_types = {
    for a in concat(
      [var.hash_key],
      var.range_key == null ? [] : [var.range_key],
      flatten([for i in var.global_secondary_indexes : concat([i.hash_key], i.range_key == null ? [] : [i.range_key])]),
    ) : a.name => a.type...
  }
}

################################################################################
# Table
################################################################################

resource "aws_dynamodb_table" "this" {
  count = var.create ? 1 : 0

  # checkov:skip=CKV_AWS_119: AWS owned key by default; kms_key_arn switches to a customer managed key.
  # checkov:skip=CKV2_AWS_16: on-demand by default; PROVISIONED is for fixed capacities, autoscaling is out of scope.
  name                        = var.name
  billing_mode                = var.billing_mode
  read_capacity               = var.billing_mode == "PROVISIONED" ? var.read_capacity : null
  write_capacity              = var.billing_mode == "PROVISIONED" ? var.write_capacity : null
  hash_key                    = var.hash_key.name
  range_key                   = try(var.range_key.name, null)
  stream_enabled              = var.stream_view_type != null ? true : null # null, not false: a replica's plan as before
  stream_view_type            = var.stream_view_type
  deletion_protection_enabled = var.deletion_protection_enabled

  dynamic "attribute" {
    for_each = local.attribute_types
    content {
      name = attribute.key
      type = attribute.value[0]
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.global_secondary_indexes
    iterator = gsi
    content {
      name               = gsi.value.name
      hash_key           = gsi.value.hash_key.name
      range_key          = try(gsi.value.range_key.name, null)
      projection_type    = gsi.value.projection_type
      non_key_attributes = gsi.value.non_key_attributes
      read_capacity      = var.billing_mode == "PROVISIONED" ? (gsi.value.read_capacity != null ? gsi.value.read_capacity : var.read_capacity) : null
      write_capacity     = var.billing_mode == "PROVISIONED" ? (gsi.value.write_capacity != null ? gsi.value.write_capacity : var.write_capacity) : null
    }
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery_enabled
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.billing_mode == "PAY_PER_REQUEST" || (var.read_capacity != null && var.write_capacity != null)
      error_message = "Table ${var.name}: billing_mode = PROVISIONED needs read_capacity and write_capacity."
    }

    precondition {
      condition     = alltrue([for name, types in local.attribute_types : length(distinct(types)) == 1])
      error_message = "Table ${var.name}: an attribute is used as a key with two different types across hash_key, range_key and global_secondary_indexes."
    }
  }
}
