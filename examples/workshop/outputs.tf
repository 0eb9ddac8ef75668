output "source_table_name" {
  description = "Name of the source table (load the lab's log file into it)."
  value       = module.replica.source_table_name
}

output "source_table_stream_arn" {
  description = "ARN of the source table's stream."
  value       = module.replica.source_table_stream_arn
}

output "replica_table_name" {
  description = "Name of the replica table."
  value       = module.replica.replica_table_name
}

output "replica_table_arn" {
  description = "ARN of the replica table."
  value       = module.replica.replica_table_arn
}

output "lambda_function_name" {
  description = "Name of the replication function."
  value       = module.replica.lambda_function_name
}

output "lambda_role_arn" {
  description = "ARN of the function's role."
  value       = module.replica.lambda_role_arn
}

output "lambda_cloudwatch_log_group_name" {
  description = "Log group of the function."
  value       = module.replica.lambda_cloudwatch_log_group_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the stream -> function mapping."
  value       = module.replica.event_source_mapping_uuid
}

output "dlq_url" {
  description = "URL of the on-failure queue (metadata of batches that could not be replicated)."
  value       = module.replica.on_failure_queue_url
}

output "alarm_names" {
  description = "Names of the replication's alarms, by kind (lag, errors, throttles, the on-failure queue, the mapping's failed and dropped events)."
  value       = module.replica.alarm_names
}
