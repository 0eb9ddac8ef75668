locals {
  esm = var.event_source_mapping

  # On-failure destination: the module's queue (default), an existing SQS queue / SNS topic, or none (null).
  on_failure_enabled = var.on_failure_destination != null
  create_dlq         = local.create && local.on_failure_enabled && try(var.on_failure_destination.create_queue, false)
  dlq_name           = coalesce(try(var.on_failure_destination.queue_name, null), "${local.lambda_function_name}-dlq")
  on_failure_destination_arn = (
    !local.on_failure_enabled ? null
    : local.create_dlq ? try(aws_sqs_queue.dlq[0].arn, null)
    : try(var.on_failure_destination.arn, null)
  )
  # arn:<partition>:<service>:... (sqs, sns or s3); the module's own queue is SQS.
  on_failure_service = local.create_dlq ? "sqs" : try(split(":", var.on_failure_destination.arn)[2], null)
  # The key of the destination: given with it, else (for the module's queue) kms_key_arn; null for SSE-SQS or an
  # unencrypted/AWS-managed destination.
  on_failure_kms_key_arn = !local.on_failure_enabled ? null : try(coalesce(var.on_failure_destination.kms_key_arn, local.create_dlq ? var.kms_key_arn : null), null)
}

################################################################################
# On-failure queue: receives the metadata (shard, sequence numbers) of batches that ran out of retries or age
################################################################################

resource "aws_sqs_queue" "dlq" {
  count = local.create_dlq ? 1 : 0

  name                      = local.dlq_name
  message_retention_seconds = var.on_failure_destination.message_retention_seconds
  # SSE-SQS unless a customer managed key is given (then the role gets kms:GenerateDataKey on it, iam.tf).
  sqs_managed_sse_enabled = local.on_failure_kms_key_arn == null ? true : null
  kms_master_key_id       = local.on_failure_kms_key_arn

  tags = var.tags
}

################################################################################
# Stream -> function
################################################################################

resource "aws_lambda_event_source_mapping" "this" {
  count = local.create ? 1 : 0

  event_source_arn = local.source_stream_arn
  # The alias when versions are published (it moves, the mapping stays), else the function ($LATEST).
  function_name     = var.lambda_publish ? aws_lambda_alias.this[0].arn : aws_lambda_function.this[0].arn
  enabled           = local.esm.enabled
  starting_position = local.esm.starting_position
  batch_size        = local.esm.batch_size

  maximum_batching_window_in_seconds = local.esm.maximum_batching_window_in_seconds
  parallelization_factor             = local.esm.parallelization_factor
  bisect_batch_on_function_error     = local.esm.bisect_batch_on_function_error
  maximum_retry_attempts             = local.esm.maximum_retry_attempts
  maximum_record_age_in_seconds      = local.esm.maximum_record_age_in_seconds
  function_response_types            = local.esm.function_response_types

  # https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
  dynamic "filter_criteria" {
    for_each = length(local.esm.filter_patterns) > 0 ? [local.esm.filter_patterns] : []
    content {
      dynamic "filter" {
        for_each = filter_criteria.value
        content {
          pattern = filter.value
        }
      }
    }
  }

  # The mapping's own metrics (by its UUID), for the failed-events and dropped-events alarms (alarms.tf).
  dynamic "metrics_config" {
    for_each = length(local.esm.metrics) > 0 ? [local.esm.metrics] : []
    content {
      metrics = metrics_config.value
    }
  }

  # https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
  dynamic "destination_config" {
    for_each = local.on_failure_enabled ? [local.on_failure_destination_arn] : []
    content {
      on_failure {
        destination_arn = destination_config.value
      }
    }
  }

  lifecycle {
    # The module's own source table, when it exists already (data.tf): a new view type means a new stream, a new
    # mapping, and a gap in the replica. Checked at plan, so nothing changes (the table neither).
    precondition {
      condition = var.allow_stream_replacement || length(data.aws_dynamodb_table.current_source) == 0 ? true : (
        try(data.aws_dynamodb_table.current_source[0].stream_enabled, false) != true
        || try(data.aws_dynamodb_table.current_source[0].stream_view_type, "") == var.source_stream_view_type
      )
      error_message = "source_stream_view_type: the stream of ${var.source_table_name} carries ${try(data.aws_dynamodb_table.current_source[0].stream_view_type, "?")}, and AWS cannot change an enabled stream's view type to ${var.source_stream_view_type}: this apply would disable it and enable a new stream (new ARN), and replace the event source mapping. Not replicated then: records of the old stream not yet processed, changes written between the two streams, and with LATEST the new stream's first records. To go ahead, set allow_stream_replacement = true for this apply, then run `ddb-replica verify --repair` on the two tables. To keep the stream, set source_stream_view_type back to ${try(data.aws_dynamodb_table.current_source[0].stream_view_type, "?")}."
    }

    precondition {
      condition     = local.given_stream_arn == null ? true : !var.create_source_table && split("/", local.given_stream_arn)[1] == var.source_table_name
      error_message = "source_stream_arn is the stream of an existing table: set it only with create_source_table = false, and to the stream of the table source_table_name (${var.source_table_name}), e.g. aws_dynamodb_table.<name>.stream_arn."
    }

    precondition {
      condition     = local.given_stream_arn == null || local.existing_source == null ? true : try(local.existing_source.stream_arn, null) == local.given_stream_arn
      error_message = "source_stream_arn (${coalesce(local.given_stream_arn, "none")}) is not the current stream of the table ${var.source_table_name} in this provider's region and account (${try(coalesce(local.existing_source.stream_arn, "none"), "none")}): pass the table's own stream_arn attribute, not a copied or older ARN."
    }

    # An existing source table (data.tf): a table without a usable stream or with other keys fails the plan
    # with a message, instead of a mapping that never replicates.
    precondition {
      condition     = local.existing_source == null ? true : local.existing_source.stream_enabled == true && contains(["NEW_IMAGE", "NEW_AND_OLD_IMAGES"], coalesce(local.existing_source.stream_view_type, "none"))
      error_message = "Existing source table ${var.source_table_name}: its stream must be enabled with NEW_IMAGE or NEW_AND_OLD_IMAGES (found stream_enabled = ${try(coalesce(local.existing_source.stream_enabled, false), false)}, stream_view_type = ${try(coalesce(local.existing_source.stream_view_type, "none"), "none")}). The handler copies new images. Fix: aws dynamodb update-table --table-name ${var.source_table_name} --stream-specification StreamEnabled=true,StreamViewType=NEW_IMAGE (a view type cannot be changed in place: disable the stream first), or let the module create the table."
    }

    precondition {
      condition = local.existing_source == null ? true : (
        local.existing_source.hash_key == var.hash_key.name
        && contains(local.existing_source.attribute, { name = var.hash_key.name, type = var.hash_key.type })
        && (local.existing_source.range_key == null ? "" : local.existing_source.range_key) == (var.range_key == null ? "" : var.range_key.name)
        && (var.range_key == null ? true : contains(local.existing_source.attribute, { name = var.range_key.name, type = var.range_key.type }))
      )
      error_message = "Existing source table ${var.source_table_name}: its keys (hash ${try(local.existing_source.hash_key, "none")}, range ${try(coalesce(local.existing_source.range_key, "none"), "none")}) do not match hash_key/range_key; the replica must use the same key schema."
    }
  }

  # Lambda checks the role's stream permissions when the mapping is created.
  depends_on = [aws_iam_role_policy.lambda]
}
