locals {
  function_dimensions = { FunctionName = var.function_name }

  # Every alarm: which metric, its statistic and threshold. The keys are known at plan (they name the outputs);
  # the values may be known only after apply (the mapping's UUID).
  lambda_alarms = {
    iterator-age = {
      description = "Replication lag: the last record the function read was older than ${var.iterator_age_threshold_seconds} s for ${var.iterator_age_evaluation_periods} periods. Records older than 24 h leave the stream: see `ddb-replica status`."
      namespace   = "AWS/Lambda"
      metric      = "IteratorAge"
      statistic   = "Maximum"
      threshold   = var.iterator_age_threshold_seconds * 1000 # IteratorAge is in milliseconds
      periods     = var.iterator_age_evaluation_periods
      dimensions  = local.function_dimensions
    }
    errors = {
      description = "The replication function failed an invocation (a target it could not write at all, a malformed batch): the batch is retried, then sent to the on-failure destination."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      threshold   = 0
      periods     = 1
      dimensions  = local.function_dimensions
    }
    throttles = {
      description = "Lambda throttled the replication function (reserved concurrency or the account's limit): the stream falls behind."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      statistic   = "Sum"
      threshold   = 0
      periods     = 1
      dimensions  = local.function_dimensions
    }
  }

  queue_alarms = !var.on_failure_queue_alarm ? {} : {
    on-failure-queue = {
      description = "A batch could not be replicated and its metadata waits in ${coalesce(var.on_failure_queue_name, "the on-failure queue")}: fix the cause, then `ddb-replica redrive`."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      threshold   = 0
      periods     = 1
      dimensions  = { QueueName = var.on_failure_queue_name }
    }
  }

  mapping_alarms = !var.event_source_mapping_alarms ? {} : {
    failed-invoke-events = {
      description = "The event source mapping counted records whose invocation failed (they are retried, bisected, and at last sent to the on-failure destination)."
      namespace   = "AWS/Lambda"
      metric      = "FailedInvokeEventCount"
      statistic   = "Sum"
      threshold   = 0
      periods     = 1
      dimensions  = { EventSourceMappingUUID = var.event_source_mapping_uuid }
    }
    on-failure-delivered-events = {
      description = "The event source mapping sent records to the on-failure destination (out of retries or record age): they are not in the replica until `ddb-replica redrive` replays them."
      namespace   = "AWS/Lambda"
      metric      = "OnFailureDestinationDeliveredEventCount"
      statistic   = "Sum"
      threshold   = 0
      periods     = 1
      dimensions  = { EventSourceMappingUUID = var.event_source_mapping_uuid }
    }
    dropped-events = {
      description = "The event source mapping dropped records (out of retries or record age, and not delivered to an on-failure destination): they are not in the replica; `ddb-replica verify --repair` restores them."
      namespace   = "AWS/Lambda"
      metric      = "DroppedEventCount"
      statistic   = "Sum"
      threshold   = 0
      periods     = 1
      dimensions  = { EventSourceMappingUUID = var.event_source_mapping_uuid }
    }
  }

  alarms = var.create ? merge(local.lambda_alarms, local.queue_alarms, local.mapping_alarms) : {}
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name        = "${var.name_prefix}-${each.key}"
  alarm_description = each.value.description
  namespace         = each.value.namespace
  metric_name       = each.value.metric
  dimensions        = each.value.dimensions
  statistic         = each.value.statistic
  period            = var.period_seconds

  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
  # No data means no records, no invocations, no messages: nothing wrong.
  treat_missing_data = "notBreaching"

  alarm_actions = var.alarm_actions
  ok_actions    = var.ok_actions

  tags = var.tags

  lifecycle {
    precondition {
      condition     = !contains(keys(local.mapping_alarms), each.key) || var.event_source_mapping_uuid != null
      error_message = "event_source_mapping_alarms = true needs event_source_mapping_uuid (the mapping's uuid attribute)."
    }

    precondition {
      condition     = each.key != "on-failure-queue" || var.on_failure_queue_name != null
      error_message = "on_failure_queue_alarm = true needs on_failure_queue_name (the queue's name, the last part of its ARN)."
    }
  }
}
