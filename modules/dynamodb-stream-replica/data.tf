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
