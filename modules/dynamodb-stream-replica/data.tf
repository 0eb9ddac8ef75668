# An existing source table (create_source_table = false), read at plan time. Its checks are preconditions of
# the event source mapping (event_source_mapping.tf), not postconditions here: Terraform defers reading a data
# source with conditions to apply time whenever anything they refer to has a change pending (a tag edit of the
# caller's table, whose name is our input), and the unknown stream ARN would then replace the mapping: on
# TRIM_HORIZON up to 24 h of records replayed, on LATEST the records in between lost.
data "aws_dynamodb_table" "source" {
  count = local.create && !var.create_source_table ? 1 : 0

  # From the stream ARN when given: unknown until the caller's table exists, so the read waits for it.
  name = local.given_stream_arn == null ? var.source_table_name : split("/", local.given_stream_arn)[1]
}

locals {
  existing_source = one(data.aws_dynamodb_table.source[*]) # null when the module creates the source
  # "" is what a caller's table without a stream gives: read by name, so the stream precondition says what to fix.
  given_stream_arn = var.source_stream_arn == "" ? null : var.source_stream_arn
}

# The provider's region: part of the default role name (IAM names are global to the account, so the same module
# in a second region must not reuse the first one's role name). With the account, where the source and the
# module's replica are, known at plan (their ARNs are not on a first apply): targets.tf compares the targets
# with them.
# Neither count may depend on replica_targets: a target's writer role trusts this module's role (the
# replica-target module takes lambda_role_arn), so the role's name must not wait for the targets.
data "aws_region" "current" {
  count = local.create ? 1 : 0
}

data "aws_caller_identity" "current" {
  count = local.create ? 1 : 0
}

# The module's own source table as it is now, when it exists already (create_source_table = true): its current
# stream view type, which the table's plan cannot show (the provider only marks the stream ARN unknown). A change
# of view type re-creates the stream; a precondition of the event source mapping stops it unless allowed.
# Terraform state holds no earlier input to compare with (a terraform_data's output is unknown once its input
# changes), and a check block cannot skip the read on the first plan (its data blocks take no count), so the
# table is read when the list of the region's tables has it. The count depends on that list: with a table name
# unknown at plan (or a depends_on on the module call) it cannot be known, hence check_stream_view_type.
data "aws_dynamodb_tables" "existing" {
  count = local.create_source_table && var.check_stream_view_type ? 1 : 0
}

data "aws_dynamodb_table" "current_source" {
  # try: the list is null when the region has no table at all.
  count = local.create_source_table && try(contains(data.aws_dynamodb_tables.existing[0].names, var.source_table_name), false) ? 1 : 0

  name = var.source_table_name
}
