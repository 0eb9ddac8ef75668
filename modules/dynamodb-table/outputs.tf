output "table_name" {
  description = "Name of the table."
  value       = try(aws_dynamodb_table.this[0].name, null)
}

output "table_arn" {
  description = "ARN of the table (it names the table's region and account)."
  value       = try(aws_dynamodb_table.this[0].arn, null)
}

output "table_stream_arn" {
  description = "ARN of the table's stream; null without `stream_view_type`."
  value       = try(aws_dynamodb_table.this[0].stream_arn, null)
}

output "table_region" {
  description = "Region of the table, read from its ARN."
  value       = try(split(":", aws_dynamodb_table.this[0].arn)[3], null)
}

output "table" {
  description = "Every attribute of the table (the `aws_dynamodb_table` resource), for checks the outputs above do not cover; null without `create`."
  value       = one(aws_dynamodb_table.this) # not try(): it would hide what a plan knows of it already
}
