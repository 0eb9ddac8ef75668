output "source_table_name" {
  description = "Name of the source table."
  value       = module.replication.source_table_name
}

output "source_table_arn" {
  description = "ARN of the source table."
  value       = module.replication.source_table_arn
}

output "lambda_function_name" {
  description = "Name of the replication function."
  value       = module.replication.lambda_function_name
}

output "lambda_role_arn" {
  description = "ARN of the function's role (trusted by the second account's writer role)."
  value       = module.replication.lambda_role_arn
}

output "replica_targets" {
  description = "Every replica by target name: `terraform output -json replica_targets > targets.json`, then `ddb-replica verify --source logfile --targets-json targets.json --target eu`."
  value       = module.replication.replica_targets
}

output "writer_role_arn" {
  description = "ARN of the second account's writer role."
  value       = module.replica_other_account.writer_role_arn
}

output "on_failure_queue_url" {
  description = "URL of the on-failure queue (metadata of batches that did not reach every target)."
  value       = module.replication.on_failure_queue_url
}

output "operator_role_arn" {
  description = "ARN of the role for `ddb-replica` (with `create_operator_role`), or null."
  value       = one(aws_iam_role.operator[*].arn)
}

output "event_source_mapping_uuid" {
  description = "UUID of the stream's event source mapping (read by `ddb-replica status` and `redrive --outputs-json`)."
  value       = module.replication.event_source_mapping_uuid
}

output "lambda_cloudwatch_log_group_name" {
  description = "The function's log group, where `ddb-replica status` reads recent failures."
  value       = module.replication.lambda_cloudwatch_log_group_name
}

output "alarm_names" {
  description = "The replication's CloudWatch alarms by kind (`ddb-replica status` reports their states)."
  value       = module.replication.alarm_names
}
