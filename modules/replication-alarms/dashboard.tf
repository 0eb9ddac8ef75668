################################################################################
# Dashboard (optional): lag, throughput and latency per target, errors, and the on-failure queue
################################################################################

data "aws_region" "current" {
  count = var.create && var.create_dashboard ? 1 : 0
}

locals {
  create_dashboard = var.create && var.create_dashboard
  region           = try(data.aws_region.current[0].region, null)

  # The function's own metrics (its log line, Embedded Metric Format) have the dimensions function and target:
  # one SEARCH draws a line per target. The namespace is quoted: it may hold '.', '-', '/', '#' or ':'.
  by_target = "SEARCH('{\"${coalesce(var.metrics_namespace, "none")}\",function,target} function=\"${var.function_name}\" MetricName=\"%s\"', '%s', ${var.period_seconds})"

  widgets = concat(
    [
      {
        title   = "Replication lag (IteratorAge, maximum, ms)"
        metrics = [["AWS/Lambda", "IteratorAge", "FunctionName", var.function_name, { stat = "Maximum" }]]
      },
    ],
    var.metrics_namespace == null ? [] : [
      {
        title   = "Records replicated per target (sum)"
        metrics = [[{ id = "records", expression = format(local.by_target, "records", "Sum"), label = "" }]]
      },
      {
        title   = "Replication latency per target (p90, ms)"
        metrics = [[{ id = "latency", expression = format(local.by_target, "latency_ms", "p90"), label = "" }]]
      },
    ],
    [
      {
        title = "Failures"
        metrics = concat(
          [
            ["AWS/Lambda", "Errors", "FunctionName", var.function_name, { stat = "Sum" }],
            ["AWS/Lambda", "Throttles", "FunctionName", var.function_name, { stat = "Sum" }],
          ],
          var.metrics_namespace == null ? [] : [
            [{ id = "failures", expression = format(local.by_target, "failures", "Sum"), label = "" }],
          ],
        )
      },
    ],
    !var.on_failure_queue_alarm ? [] : [
      {
        title   = "Failed batches waiting in ${coalesce(var.on_failure_queue_name, "the on-failure queue")}"
        metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.on_failure_queue_name, { stat = "Maximum" }]]
      },
    ],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = local.create_dashboard ? 1 : 0

  # Dashboard names take letters, digits, '-' and '_' only.
  dashboard_name = replace(var.name_prefix, ".", "-")
  dashboard_body = jsonencode({
    widgets = [for index, widget in local.widgets : {
      type   = "metric"
      x      = (index % 2) * 12
      y      = floor(index / 2) * 6
      width  = 12
      height = 6
      properties = {
        title   = widget.title
        region  = local.region
        view    = "timeSeries"
        period  = var.period_seconds
        metrics = widget.metrics
      }
    }]
  })
}
