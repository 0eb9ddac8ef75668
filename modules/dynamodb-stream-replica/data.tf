# An existing source table (create_source_table = false). Read at plan time, so a table without a usable
# stream or with other keys fails the plan with a message instead of a mapping that never replicates.
data "aws_dynamodb_table" "source" {
  count = local.create && !var.create_source_table ? 1 : 0

  name = var.source_table_name

  lifecycle {
    postcondition {
      condition     = self.stream_enabled == true && contains(["NEW_IMAGE", "NEW_AND_OLD_IMAGES"], coalesce(self.stream_view_type, "none"))
      error_message = "Existing source table ${var.source_table_name}: its stream must be enabled with NEW_IMAGE or NEW_AND_OLD_IMAGES (found stream_enabled = ${coalesce(self.stream_enabled, false)}, stream_view_type = ${coalesce(self.stream_view_type, "none")}). The handler copies new images. Fix: aws dynamodb update-table --table-name ${var.source_table_name} --stream-specification StreamEnabled=true,StreamViewType=NEW_IMAGE (a view type cannot be changed in place: disable the stream first), or let the module create the table."
    }

    postcondition {
      condition = (
        self.hash_key == var.hash_key.name
        && contains(self.attribute, { name = var.hash_key.name, type = var.hash_key.type })
        && (self.range_key == null ? "" : self.range_key) == (var.range_key == null ? "" : var.range_key.name)
        && (var.range_key == null ? true : contains(self.attribute, { name = var.range_key.name, type = var.range_key.type }))
      )
      error_message = "Existing source table ${var.source_table_name}: its keys (hash ${self.hash_key}, range ${self.range_key == null || self.range_key == "" ? "none" : self.range_key}) do not match hash_key/range_key; the replica must use the same key schema."
    }
  }
}
