# The alarms and the dashboard, planned and applied with a mocked provider.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }
}

variables {
  name_prefix                 = "logfile-replicator"
  function_name               = "ddbreplica_lambda"
  event_source_mapping_uuid   = "6a1c0a43-0000-4000-8000-000000000001"
  event_source_mapping_alarms = true
  on_failure_queue_alarm      = true
  on_failure_queue_name       = "ddbreplica_lambda-dlq"
  alarm_actions               = ["arn:aws:sns:eu-west-1:123456789012:oncall"]
}

run "every_alarm_with_its_metric_and_threshold" {
  command = apply

  assert {
    condition     = keys(output.alarm_arns) == ["dropped-events", "errors", "failed-invoke-events", "iterator-age", "on-failure-delivered-events", "on-failure-queue", "throttles"]
    error_message = "Seven alarms: lag, errors, throttles, the queue, and the mapping's failed, delivered and dropped events."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["iterator-age"].metric_name == "IteratorAge"
      && aws_cloudwatch_metric_alarm.this["iterator-age"].statistic == "Maximum"
      && aws_cloudwatch_metric_alarm.this["iterator-age"].threshold == 600000
      && aws_cloudwatch_metric_alarm.this["iterator-age"].evaluation_periods == 3
      && aws_cloudwatch_metric_alarm.this["iterator-age"].dimensions.FunctionName == "ddbreplica_lambda"
    )
    error_message = "The lag alarm: IteratorAge maximum over 600 s (in ms) for 3 periods, of the function."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["on-failure-queue"].namespace == "AWS/SQS"
      && aws_cloudwatch_metric_alarm.this["on-failure-queue"].metric_name == "ApproximateNumberOfMessagesVisible"
      && aws_cloudwatch_metric_alarm.this["on-failure-queue"].dimensions.QueueName == "ddbreplica_lambda-dlq"
      && aws_cloudwatch_metric_alarm.this["failed-invoke-events"].dimensions.EventSourceMappingUUID == "6a1c0a43-0000-4000-8000-000000000001"
      && aws_cloudwatch_metric_alarm.this["dropped-events"].metric_name == "DroppedEventCount"
    )
    error_message = "The queue alarm reads the queue's visible messages; the mapping's alarms its own metrics by UUID."
  }

  assert {
    condition = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : (
      alarm.comparison_operator == "GreaterThanThreshold" && alarm.treat_missing_data == "notBreaching"
      && alarm.period == 60 && alarm.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"])
      && startswith(alarm.alarm_name, "logfile-replicator-")
    )])
    error_message = "Every alarm: above its threshold, quiet without data, per minute, notifying the given topic, named after the prefix."
  }

  assert {
    condition     = output.dashboard_arn == null && length(aws_cloudwatch_dashboard.this) == 0
    error_message = "No dashboard unless asked for."
  }
}

run "without_a_queue_or_the_mapping_metrics_three_alarms" {
  command = plan

  variables {
    on_failure_queue_alarm          = false
    on_failure_queue_name           = null
    event_source_mapping_uuid       = null
    event_source_mapping_alarms     = false
    iterator_age_threshold_seconds  = 3600
    iterator_age_evaluation_periods = 5
    period_seconds                  = 300
  }

  assert {
    condition     = keys(aws_cloudwatch_metric_alarm.this) == ["errors", "iterator-age", "throttles"]
    error_message = "Without a queue and the mapping's metrics, only the function's alarms."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["iterator-age"].threshold == 3600000 && aws_cloudwatch_metric_alarm.this["iterator-age"].datapoints_to_alarm == 5 && aws_cloudwatch_metric_alarm.this["errors"].period == 300
    error_message = "The threshold, evaluation periods and period come from the variables."
  }
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create           = false
    create_dashboard = true
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0 && length(aws_cloudwatch_dashboard.this) == 0 && output.alarm_arns == {}
    error_message = "create = false: no alarm, no dashboard."
  }
}

run "the_dashboard_draws_lag_throughput_latency_errors_and_the_queue" {
  command = apply

  variables {
    name_prefix      = "logfile.replicator"
    create_dashboard = true
  }

  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "logfile-replicator"
    error_message = "The dashboard is named after the prefix, '.' replaced (dashboard names take letters, digits, '-' and '_')."
  }

  assert {
    condition = (
      length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets) == 5
      && strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "IteratorAge")
      && strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "{\\\"DdbReplica\\\",function,target} function=\\\"ddbreplica_lambda\\\" MetricName=\\\"latency_ms\\\"")
      && strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "ddbreplica_lambda-dlq")
      && alltrue([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.region == "eu-west-1"])
    )
    error_message = "Five widgets: lag, records and latency per target (the function's own metrics), failures, the queue; in the provider's region."
  }
}

run "mapping_alarms_need_the_uuid" {
  command = plan

  variables {
    event_source_mapping_uuid = null
  }

  expect_failures = [aws_cloudwatch_metric_alarm.this]
}

run "the_queue_alarm_needs_the_queue_name" {
  command = plan

  variables {
    event_source_mapping_alarms = false
    on_failure_queue_name       = null
  }

  expect_failures = [aws_cloudwatch_metric_alarm.this]
}

run "without_the_function_metrics_the_dashboard_keeps_the_aws_ones" {
  command = plan

  variables {
    create_dashboard  = true
    metrics_namespace = null
  }

  assert {
    condition = (
      length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets) == 3
      && !strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "SEARCH")
    )
    error_message = "metrics_namespace = null: lag, failures (Errors, Throttles) and the queue; no search over metrics that do not exist."
  }
}

run "a_period_under_a_minute_is_refused" {
  command = plan

  variables {
    period_seconds                 = 30
    iterator_age_threshold_seconds = 90000
    alarm_actions                  = ["oncall"]
  }

  expect_failures = [var.period_seconds, var.iterator_age_threshold_seconds, var.alarm_actions]
}
