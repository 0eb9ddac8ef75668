################################################################################
# Tables
################################################################################

# Each output refers to the resource or data source it describes, never to an input: a dependant then waits for
# the table, the stream and the mapping to exist.
output "source_table_name" {
  description = "Name of the source table (created, or existing as read); null when `create = false`."
  value       = var.create_source_table ? module.source_table.table_name : try(data.aws_dynamodb_table.source[0].name, null)
}

output "source_table_arn" {
  description = "ARN of the source table (created, or existing as read); null when `create = false`."
  value       = var.create_source_table ? module.source_table.table_arn : try(data.aws_dynamodb_table.source[0].arn, null)
}

output "source_table_stream_arn" {
  description = "ARN of the source table's stream, as the event source mapping reads it; null when `create = false`."
  value       = try(aws_lambda_event_source_mapping.this[0].event_source_arn, null)
}

output "replica_table_name" {
  description = "Name of the replica table; null when `create = false`."
  value       = module.replica_table.table_name
}

output "replica_table_arn" {
  description = "ARN of the replica table; null when `create = false`."
  value       = local.replica_table_arn
}

################################################################################
# Function
################################################################################

output "lambda_function_name" {
  description = "Name of the replication function; null when `create = false`."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "lambda_function_arn" {
  description = "ARN of the replication function; null when `create = false`."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "lambda_function_version" {
  description = "The function's newest published version (`lambda_publish = true`), or `$LATEST`; null when `create = false`."
  value       = try(aws_lambda_function.this[0].version, null)
}

output "lambda_alias_arn" {
  description = "ARN of the alias the event source mapping invokes (`lambda_publish = true`), else null."
  value       = try(aws_lambda_alias.this[0].arn, null)
}

output "lambda_alias_function_version" {
  description = "The version the alias points to (`lambda_publish = true`), else null."
  value       = try(aws_lambda_alias.this[0].function_version, null)
}

output "lambda_role_name" {
  description = "Name of the function's IAM role (attach more policies to it if the handler grows); null when `create = false`."
  value       = try(aws_iam_role.lambda[0].name, null)
}

output "lambda_role_arn" {
  description = "ARN of the function's IAM role; null when `create = false`."
  value       = try(aws_iam_role.lambda[0].arn, null)
}

output "lambda_cloudwatch_log_group_name" {
  description = "Name of the function's log group (`/aws/lambda/<function>`), created by the module or not (`create_cloudwatch_log_group`); null when `create = false`."
  value       = try(aws_cloudwatch_log_group.lambda[0].name, "/aws/lambda/${aws_lambda_function.this[0].function_name}", null)
}

output "lambda_cloudwatch_log_group_arn" {
  description = "ARN of the function's log group; null when `create = false`."
  value       = try(aws_cloudwatch_log_group.lambda[0].arn, null)
}

################################################################################
# Event source mapping and on-failure destination
################################################################################

output "event_source_mapping_uuid" {
  description = "UUID of the stream -> function event source mapping (for `aws lambda get-event-source-mapping`); null when `create = false`."
  value       = try(aws_lambda_event_source_mapping.this[0].uuid, null)
}

output "event_source_mapping_arn" {
  description = "ARN of the event source mapping (for IAM conditions and tags); null when `create = false`."
  value       = try(aws_lambda_event_source_mapping.this[0].arn, null)
}

output "event_source_mapping_state" {
  description = "State of the event source mapping as last read (`Enabled`, `Disabled`, `Creating`...); null when `create = false`."
  value       = try(aws_lambda_event_source_mapping.this[0].state, null)
}

output "on_failure_queue_url" {
  description = "URL of the on-failure queue the module created; null when it uses an existing destination, none, or `create = false`."
  value       = try(aws_sqs_queue.dlq[0].url, null)
}

output "on_failure_queue_arn" {
  description = "ARN of the on-failure queue the module created; null when it uses an existing destination, none, or `create = false`."
  value       = try(aws_sqs_queue.dlq[0].arn, null)
}

output "dlq_url" {
  description = "Deprecated alias of `on_failure_queue_url` (the queue receives the metadata of failed batches, not the records: an on-failure destination, not a dead-letter queue); removed in the next major release."
  value       = try(aws_sqs_queue.dlq[0].url, null)
}

output "dlq_arn" {
  description = "Deprecated alias of `on_failure_queue_arn`; removed in the next major release."
  value       = try(aws_sqs_queue.dlq[0].arn, null)
}

output "on_failure_destination_arn" {
  description = "ARN the mapping sends failed batches to (the module's queue or the existing SQS queue / SNS topic); null when off or `create = false`."
  value       = local.create ? local.on_failure_destination_arn : null
}

output "replica_targets" {
  description = "Every table the function writes, by target name: `table_name`, `table_arn`, `region`, `role_arn`, `external_id`. `terraform output -json replica_targets > targets.json` gives `ddb-replica --targets-json targets.json --target NAME` what it needs."
  value = !local.create ? null : {
    for name, t in local.targets_by_name : name => {
      table_name  = t.table_name
      table_arn   = t.table_arn
      region      = t.region
      role_arn    = t.role_arn
      external_id = t.external_id
    }
  }
}

output "operator_policy_json" {
  description = "IAM policy (JSON) with exactly what `ddb-replica backfill` and `verify --repair` call on these tables, what `ddb-replica status` reads and what `ddb-replica redrive` takes from the on-failure destination and the source's stream: attach it to the role operators run them as (and list that role in each other-account target's `operator_role_arns`). Null when `create = false`."
  value       = local.operator_policy
}

################################################################################
# Serverless backfill (backfill_mode = "serverless"; null otherwise)
################################################################################

output "backfill" {
  description = "What `ddb-replica backfill --serverless --backfill-json FILE` reads (`terraform output -json backfill > backfill.json`): `state_machine_arn`, `checkpoint_table_name`, `function_name`, `max_concurrency`, `region`. Null unless `backfill_mode = \"serverless\"`."
  value       = module.serverless_backfill.backfill
}

output "backfill_state_machine_arn" {
  description = "ARN of the serverless backfill's state machine."
  value       = module.serverless_backfill.state_machine_arn
}

output "backfill_checkpoint_table_name" {
  description = "Name of the serverless backfill's checkpoint table."
  value       = module.serverless_backfill.checkpoint_table_name
}

output "backfill_function_name" {
  description = "Name of the serverless backfill's function."
  value       = module.serverless_backfill.function_name
}

output "backfill_state_machine_role_arn" {
  description = "ARN of the serverless backfill's state machine role."
  value       = module.serverless_backfill.state_machine_role_arn
}

output "backfill_function_role_arn" {
  description = "ARN of the backfill function's role: list it in the `operator_role_arns` of each replica-target in another account, so that it can copy there."
  value       = module.serverless_backfill.function_role_arn
}

################################################################################
# Alarms
################################################################################

output "alarm_arns" {
  description = "ARN of every alarm, by kind: `iterator-age`, `errors`, `throttles`, `on-failure-queue` (an SQS destination), `failed-invoke-events`, `on-failure-delivered-events` and `dropped-events` (the mapping's metrics); {} with `alarms.create = false`."
  value       = module.alarms.alarm_arns
}

output "alarm_names" {
  description = "Name of every alarm, by kind (as `alarm_arns`)."
  value       = module.alarms.alarm_names
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (`alarms.create_dashboard`), or null."
  value       = module.alarms.dashboard_name
}
