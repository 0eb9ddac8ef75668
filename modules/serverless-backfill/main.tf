locals {
  create = var.create

  function_name      = "${var.name}-backfill"
  state_machine_name = "${var.name}-backfill"
  log_group_name     = "/aws/lambda/${local.function_name}"
  states_log_group   = "/aws/vendedlogs/states/${local.state_machine_name}"

  # arn:<partition>:dynamodb:<region>:<account>:table/<name>
  # (null only without create: then nothing reads these)
  source_arn_parts  = split(":", coalesce(var.source_table_arn, "arn:aws:dynamodb:::table/-"))
  partition         = local.source_arn_parts[1]
  region            = local.source_arn_parts[3]
  account_id        = local.source_arn_parts[4]
  source_table_name = split("/", coalesce(var.source_table_arn, "table/-"))[1]

  # IAM names are global to the account: the region keeps a second region's module from reusing them.
  function_role_name = "${substr(local.function_name, 0, 63 - length(local.region))}-${local.region}"
  states_role_name   = "${substr("${var.name}-backfill-states", 0, 63 - length(local.region))}-${local.region}"

  # The function reaches the targets as the replication function does (replica_targets.py): the same JSON.
  # A run names one of them; the function refuses any other table.
  targets_environment = jsonencode({
    for t in var.targets : t.name => {
      table_name  = t.table_name
      region      = split(":", t.table_arn)[3]
      role_arn    = t.role_arn
      external_id = t.external_id
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
