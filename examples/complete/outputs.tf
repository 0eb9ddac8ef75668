output "replica" {
  description = "All outputs of the module instance that creates both tables with every option set."
  value       = module.replica
}

output "replica_of_existing" {
  description = "All outputs of the module instance that replicates an existing table to an existing queue."
  value       = module.replica_of_existing
}

output "disabled_lambda_function_name" {
  description = "Null: the `create = false` instance creates nothing."
  value       = module.disabled.lambda_function_name
}

output "kms_key_arn" {
  description = "ARN of the example's customer managed key."
  value       = aws_kms_key.this.arn
}
