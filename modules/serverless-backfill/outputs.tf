output "state_machine_arn" {
  description = "ARN of the backfill state machine (`ddb-replica backfill --serverless --state-machine-arn`)."
  value       = try(aws_sfn_state_machine.this[0].arn, null)
}

output "state_machine_name" {
  description = "Name of the backfill state machine."
  value       = try(aws_sfn_state_machine.this[0].name, null)
}

output "checkpoint_table_name" {
  description = "Name of the checkpoint table (`ddb-replica backfill --serverless --checkpoint-table`)."
  value       = module.checkpoint_table.table_name
}

output "checkpoint_table_arn" {
  description = "ARN of the checkpoint table."
  value       = module.checkpoint_table.table_arn
}

output "function_name" {
  description = "Name of the backfill function."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "function_arn" {
  description = "ARN of the backfill function."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "function_role_arn" {
  description = "ARN of the backfill function's role: list it in a replica-target's `operator_role_arns` to backfill a target in another account."
  value       = try(aws_iam_role.function[0].arn, null)
}

output "function_role_name" {
  description = "Name of the backfill function's role."
  value       = try(aws_iam_role.function[0].name, null)
}

output "state_machine_role_arn" {
  description = "ARN of the state machine's role."
  value       = try(aws_iam_role.states[0].arn, null)
}

output "function_policy_json" {
  description = "The function role's inline policy, as applied (null without `create`)."
  value       = local.function_policy
}

output "state_machine_policy_json" {
  description = "The state machine role's inline policy, as applied (null without `create`)."
  value       = local.states_policy
}

output "backfill" {
  description = "What `ddb-replica backfill --serverless --backfill-json FILE` reads (`terraform output -json backfill > backfill.json`): the state machine, the checkpoint table and the run's limits; null without `create`."
  value = !local.create ? null : {
    state_machine_arn     = aws_sfn_state_machine.this[0].arn
    checkpoint_table_name = module.checkpoint_table.table_name
    function_name         = aws_lambda_function.this[0].function_name
    max_concurrency       = var.max_concurrency
    region                = local.region
  }
}
