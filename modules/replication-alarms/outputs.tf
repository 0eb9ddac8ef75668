output "alarm_arns" {
  description = "ARN of every alarm, by kind: `iterator-age`, `errors`, `throttles`, and with their inputs `on-failure-queue`, `failed-invoke-events`, `dropped-events`."
  value       = { for kind, alarm in aws_cloudwatch_metric_alarm.this : kind => alarm.arn }
}

output "alarm_names" {
  description = "Name of every alarm, by kind (as `alarm_arns`): what `aws cloudwatch describe-alarms --alarm-names` and `ddb-replica status` read."
  value       = { for kind, alarm in aws_cloudwatch_metric_alarm.this : kind => alarm.alarm_name }
}

output "dashboard_arn" {
  description = "ARN of the dashboard, or null without one."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_arn, null)
}

output "dashboard_name" {
  description = "Name of the dashboard, or null without one."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}
