provider "aws" {
  region = var.region
}

locals {
  lambda_package_path = coalesce(var.lambda_package_path, "${path.module}/../../dist/ddbreplica_lambda.zip")
}

# The lab "Amazon DynamoDB Streams and AWS Lambda": logfile -> stream -> ddbreplica_lambda -> logfile_replica.
# Lab values are spelled out here; everything else is the module's safe defaults (on-failure queue, finite retries,
# bisect, partial batch responses, scoped IAM, log retention, point-in-time recovery).
module "replica" {
  source = "../../modules/dynamodb-stream-replica"

  source_table_name   = var.source_table_name
  create_source_table = var.create_source_table
  replica_table_name  = var.replica_table_name
  hash_key            = { name = "PK", type = "S" }

  # aws dynamodb create-table --table-name logfile ... (then update-table --stream-specification ...)
  source_billing_mode     = "PROVISIONED"
  source_read_capacity    = 5
  source_write_capacity   = 5
  source_stream_view_type = "NEW_IMAGE"
  source_global_secondary_indexes = [
    {
      name               = "GSI_1"
      hash_key           = { name = "GSI_1_PK", type = "S" }
      projection_type    = "INCLUDE"
      non_key_attributes = ["bytessent"]
    },
  ]

  # aws dynamodb create-table --table-name logfile_replica ... --tags Key=workshop-design-patterns,Value=targeted-for-cleanup
  replica_billing_mode   = "PROVISIONED"
  replica_read_capacity  = 10
  replica_write_capacity = 5
  replica_global_secondary_indexes = [
    {
      name               = "GSI_1"
      hash_key           = { name = "GSI_1_PK", type = "S" }
      projection_type    = "INCLUDE"
      non_key_attributes = ["bytessent", "requestid", "host"]
    },
  ]
  replica_table_tags = {
    "workshop-design-patterns" = "targeted-for-cleanup"
  }

  # aws lambda create-function --function-name ddbreplica_lambda --handler ddbreplica_lambda.lambda_handler --timeout 60 ...
  lambda_function_name = var.lambda_function_name
  # The role keeps the function's name, as before roles were named per region: one lab, one region.
  lambda_role_name = var.lambda_function_name
  # false when /aws/lambda/ddbreplica_lambda exists already (the console lab's function created it).
  create_cloudwatch_log_group = var.create_cloudwatch_log_group
  lambda_handler              = "ddbreplica_lambda.lambda_handler"
  lambda_runtime              = var.lambda_runtime
  lambda_timeout              = 60
  lambda_package_path         = local.lambda_package_path

  # aws lambda create-event-source-mapping --function-name ddbreplica_lambda --enabled --batch-size 100 --starting-position TRIM_HORIZON ...
  event_source_mapping = {
    enabled           = true
    batch_size        = 100
    starting_position = "TRIM_HORIZON"
  }
}
