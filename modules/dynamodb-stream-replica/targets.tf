locals {
  # Every table the function writes: the module's own replica (unless create_replica_table = false), then the
  # caller's targets (the replica-target module's `target` outputs), each described by its table ARN.
  own_target = local.create_replica_table ? [{
    name        = var.replica_table_name
    table_name  = var.replica_table_name
    table_arn   = local.replica_table_arn
    place       = "${local.here}/${var.replica_table_name}"
    role_arn    = null
    external_id = null
    kms_key_arn = local.replica_table_kms_key_arn
  }] : []
  targets = concat(local.own_target, [
    for t in var.replica_targets : {
      name       = t.name
      table_name = t.table_name
      table_arn  = t.table_arn
      place = join("/", [
        coalesce(t.account_id, try(split(":", t.table_arn)[4], "?")),
        coalesce(t.region, try(split(":", t.table_arn)[3], "?")),
        t.table_name,
      ])
      role_arn    = t.role_arn
      external_id = t.external_id
      kms_key_arn = t.kms_key_arn
    }
  ])
  # <account>/<region> of the function (and so of the source and the module's replica), known at plan.
  here         = "${try(data.aws_caller_identity.current[0].account_id, "?")}/${try(data.aws_region.current[0].region, "?")}"
  source_place = "${local.here}/${var.source_table_name}"
  # By name, for the environment and the output; grouped (`...`) so that a name given twice reaches the
  # precondition that names it (lambda.tf) instead of failing here. arn:<partition>:dynamodb:<region>:...
  targets_by_name = {
    for name, group in { for t in local.targets : t.name => t... } : name => merge(group[0], {
      region = try(split(":", group[0].table_arn)[3], null)
    })
  }

  # Written by the function's own role: the targets in its account (any region); the others through their role.
  own_account_targets = [for t in local.targets : t if t.role_arn == null]
  writer_role_arns    = sort(distinct(compact([for t in local.targets : t.role_arn])))

  # The function's environment: REPLICA_TABLE/REPLICA_REGION for the module's replica alone (as before targets
  # existed, so such a plan is unchanged), REPLICA_TARGETS (JSON, read by replica_targets.py) otherwise.
  replica_environment = length(var.replica_targets) == 0 ? {
    REPLICA_TABLE  = var.replica_table_name
    REPLICA_REGION = local.replica_region
    } : {
    REPLICA_TARGETS = jsonencode({
      for name, t in local.targets_by_name : name => {
        table_name  = t.table_name
        region      = t.region
        role_arn    = t.role_arn
        external_id = t.external_id
      }
    })
  }
}
