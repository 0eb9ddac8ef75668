locals {
  create = var.create

  function_name      = "${var.name}-backfill"
  state_machine_name = "${var.name}-backfill"
  log_group_name     = "/aws/lambda/${local.function_name}"
  states_log_group   = "/aws/vendedlogs/states/${local.state_machine_name}"

  # arn:<partition>:dynamodb:<region>:<account>:table/<name>
  # (anything without create: Terraform evaluates every local, and these must not fail then)
  source_arn_parts  = try(split(":", var.source_table_arn), [])
  partition         = try(local.source_arn_parts[1], "aws")
  region            = try(local.source_arn_parts[3], "")
  account_id        = try(local.source_arn_parts[4], "")
  source_table_name = try(split("/", var.source_table_arn)[1], "")

  # IAM names are global to the account: the region keeps a second region's module from reusing them.
  function_role_name = "${substr(local.function_name, 0, 63 - length(local.region))}-${local.region}"
  states_role_name   = "${substr("${var.name}-backfill-states", 0, 63 - length(local.region))}-${local.region}"

  # The function reaches the targets as the replication function does (replica_targets.py): the same JSON.
  # A run names one of them; the function refuses any other table. Grouped by name (`...`): a name given twice
  # reaches the precondition that names it (lambda.tf) instead of failing here.
  targets_environment = jsonencode({
    for name, group in { for t in var.targets : t.name => t... } : name => {
      table_name  = group[0].table_name
      region      = try(split(":", group[0].table_arn)[3], null)
      role_arn    = group[0].role_arn
      external_id = group[0].external_id
    }
  })
  own_account_targets = [for t in var.targets : t if t.role_arn == null]
  writer_role_arns    = sort(distinct(compact([for t in var.targets : t.role_arn])))
}

################################################################################
# Checkpoint table: one item per run (its manifest) and per segment (its state, and the lease of the invocation
# working on it). A few KB per segment; deleted with the module.
################################################################################

module "checkpoint_table" {
  source = "../dynamodb-table"

  create       = local.create
  name         = "${var.name}-backfill-checkpoints"
  hash_key     = { name = "run", type = "S" }
  range_key    = { name = "segment", type = "N" }
  billing_mode = "PAY_PER_REQUEST"
  # A few KB: point-in-time recovery costs next to nothing, and a run's checkpoints can come back after a mistake.
  point_in_time_recovery_enabled = true
  kms_key_arn                    = var.checkpoint_table_kms_key_arn
  tags                           = var.tags
}
