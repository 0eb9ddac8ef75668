################################################################################
# Alarms (and an optional dashboard) on lag, failures and the on-failure queue: modules/replication-alarms
################################################################################

module "alarms" {
  source = "../replication-alarms"

  create = local.create && var.alarms.create

  name_prefix                 = local.lambda_function_name
  function_name               = local.lambda_function_name
  event_source_mapping_uuid   = try(aws_lambda_event_source_mapping.this[0].uuid, null)
  event_source_mapping_alarms = contains(local.esm.metrics, "EventCount")
  # The module's own queue. A given destination's ARN may be known only after apply, and whether an alarm
  # exists must be known at plan: alarm your own queue with modules/replication-alarms (README).
  on_failure_queue_alarm          = local.create_dlq
  on_failure_queue_name           = local.create_dlq ? local.dlq_name : null
  iterator_age_threshold_seconds  = var.alarms.iterator_age_threshold_seconds
  iterator_age_evaluation_periods = var.alarms.iterator_age_evaluation_periods
  period_seconds                  = var.alarms.period_seconds
  alarm_actions                   = var.alarms.alarm_actions
  ok_actions                      = var.alarms.ok_actions
  create_dashboard                = var.alarms.create_dashboard
  metrics_namespace               = var.metrics_namespace
  tags                            = var.tags
}
