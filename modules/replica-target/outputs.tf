output "target" {
  description = "The target, for the replication module's `replica_targets` (and `ddb-replica --targets-json`): `name`, `table_name`, `table_arn`, `region`, `account_id`, `role_arn` (null without a writer role), `external_id`, `kms_key_arn`."
  value = !var.create ? null : {
    name        = var.name
    table_name  = var.table_name
    table_arn   = module.table.table_arn
    region      = data.aws_region.current.region
    account_id  = data.aws_caller_identity.current.account_id
    role_arn    = try(aws_iam_role.writer[0].arn, null)
    external_id = var.external_id
    kms_key_arn = var.kms_key_arn
  }
}

output "table_name" {
  description = "Name of the replica table."
  value       = module.table.table_name
}

output "table_arn" {
  description = "ARN of the replica table."
  value       = module.table.table_arn
}

output "writer_role_arn" {
  description = "ARN of the writer role; null when the replicator is in this account (no `replicator_role_arn`)."
  value       = try(aws_iam_role.writer[0].arn, null)
}

output "writer_role_name" {
  description = "Name of the writer role; null without one."
  value       = try(aws_iam_role.writer[0].name, null)
}
