################################################################################
# Serverless backfill (backfill_mode = "serverless"): its own module, in this module's region and account, for the
# same source and targets as the function.
################################################################################

module "serverless_backfill" {
  source = "../serverless-backfill"

  create = local.create && var.backfill_mode == "serverless"

  name             = substr(replace(var.replica_table_name, ".", "-"), 0, 40)
  source_table_arn = local.source_table_arn
  targets = [for t in local.targets : {
    name        = t.name
    table_name  = t.table_name
    table_arn   = t.table_arn
    role_arn    = t.role_arn
    external_id = t.external_id
    kms_key_arn = t.kms_key_arn
  }]
  source_kms_key_arn = local.source_kms_key_arn
  package_path       = var.backfill_package_path == null ? "(backfill_package_path is not set)" : var.backfill_package_path
  max_concurrency    = var.backfill_max_concurrency
  lambda_timeout     = var.backfill_lambda_timeout
  lambda_runtime     = var.lambda_runtime
  # The same instruction set as the replication function.
  lambda_architecture = var.lambda_architecture

  role_permissions_boundary         = var.lambda_role_permissions_boundary
  cloudwatch_logs_retention_in_days = var.cloudwatch_logs_retention_in_days
  cloudwatch_logs_kms_key_arn       = var.cloudwatch_logs_kms_key_arn
  tracing_enabled                   = var.lambda_tracing_mode == "Active"
  tags                              = var.tags
}
