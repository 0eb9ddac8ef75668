# The lab, planned against a mocked AWS provider (no credentials, no network). Mocked ARNs are realistic and
# known once applied (the runs that read them use command = apply: `override_during = plan` is Terraform-only),
# so the rendered IAM policy can be read back and checked.

mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/ddbreplica_lambda"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/ddbreplica_lambda"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:us-east-1:123456789012:function:ddbreplica_lambda"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:ddbreplica_lambda-dlq"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/ddbreplica_lambda-dlq"
    }
  }

  mock_resource "aws_lambda_event_source_mapping" {
    defaults = {
      uuid = "2f7b3c1e-8d4a-4b6f-9e21-0c5d7a9b1e34"
    }
  }
}

override_resource {
  target = module.source_table.aws_dynamodb_table.this
  values = {
    arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile"
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile/stream/2026-01-01T00:00:00.000"
  }
}

override_resource {
  target = module.replica_table.aws_dynamodb_table.this
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica"
  }
}

# Same inputs as examples/workshop.
variables {
  source_table_name  = "logfile"
  replica_table_name = "logfile_replica"
  hash_key           = { name = "PK", type = "S" }

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
  replica_table_tags = { "workshop-design-patterns" = "targeted-for-cleanup" }

  lambda_function_name = "ddbreplica_lambda"
  lambda_role_name     = "ddbreplica_lambda"
  lambda_package_path  = "tests/fixtures/ddbreplica_lambda.zip"

  event_source_mapping = {
    enabled           = true
    batch_size        = 100
    starting_position = "TRIM_HORIZON"
  }
}

run "source_table_is_the_lab_logfile" {
  command = plan

  assert {
    condition     = module.source_table.table.name == "logfile" && module.source_table.table.hash_key == "PK" && module.source_table.table.range_key == null
    error_message = "Source table must be logfile with hash key PK only."
  }

  assert {
    condition     = module.source_table.table.billing_mode == "PROVISIONED" && module.source_table.table.read_capacity == 5 && module.source_table.table.write_capacity == 5
    error_message = "Source table must be provisioned with 5 RCU / 5 WCU."
  }

  assert {
    condition     = module.source_table.table.stream_enabled && module.source_table.table.stream_view_type == "NEW_IMAGE"
    error_message = "Source stream must be enabled with NEW_IMAGE."
  }

  assert {
    condition     = module.source_table.table.attribute == toset([{ name = "PK", type = "S" }, { name = "GSI_1_PK", type = "S" }])
    error_message = "Source attribute definitions must be exactly PK (S) and GSI_1_PK (S)."
  }

  assert {
    condition = [for i in module.source_table.table.global_secondary_index : {
      name               = i.name
      hash_key           = i.hash_key
      projection_type    = i.projection_type
      non_key_attributes = i.non_key_attributes
      read_capacity      = i.read_capacity
      write_capacity     = i.write_capacity
      }] == [{
      name               = "GSI_1"
      hash_key           = "GSI_1_PK"
      projection_type    = "INCLUDE"
      non_key_attributes = toset(["bytessent"])
      read_capacity      = 5
      write_capacity     = 5
    }]
    error_message = "Source GSI_1 must be on GSI_1_PK, INCLUDE [bytessent], 5/5."
  }
}

run "replica_table_is_the_lab_logfile_replica" {
  command = plan

  assert {
    condition     = module.replica_table.table.name == "logfile_replica" && module.replica_table.table.hash_key == "PK"
    error_message = "Replica table must be logfile_replica with hash key PK."
  }

  assert {
    condition     = module.replica_table.table.billing_mode == "PROVISIONED" && module.replica_table.table.read_capacity == 10 && module.replica_table.table.write_capacity == 5
    error_message = "Replica table must be provisioned with 10 RCU / 5 WCU."
  }

  assert {
    condition = [for i in module.replica_table.table.global_secondary_index : {
      name               = i.name
      hash_key           = i.hash_key
      projection_type    = i.projection_type
      non_key_attributes = i.non_key_attributes
      read_capacity      = i.read_capacity
      write_capacity     = i.write_capacity
      }] == [{
      name               = "GSI_1"
      hash_key           = "GSI_1_PK"
      projection_type    = "INCLUDE"
      non_key_attributes = toset(["bytessent", "requestid", "host"])
      read_capacity      = 10
      write_capacity     = 5
    }]
    error_message = "Replica GSI_1 must be on GSI_1_PK, INCLUDE [bytessent, requestid, host], 10/5."
  }

  assert {
    condition     = module.replica_table.table.tags["workshop-design-patterns"] == "targeted-for-cleanup"
    error_message = "Replica table must carry the lab's cleanup tag."
  }

  assert {
    condition     = module.replica_table.table.stream_enabled != true
    error_message = "The replica needs no stream."
  }
}

run "function_and_log_group" {
  command = apply

  assert {
    condition = (
      aws_lambda_function.this[0].function_name == "ddbreplica_lambda"
      && aws_lambda_function.this[0].handler == "ddbreplica_lambda.lambda_handler"
      && aws_lambda_function.this[0].timeout == 60
      && aws_lambda_function.this[0].runtime == "python3.12"
    )
    error_message = "Function must be ddbreplica_lambda, handler ddbreplica_lambda.lambda_handler, 60 s, python3.12."
  }

  assert {
    condition     = aws_lambda_function.this[0].source_code_hash == filebase64sha256("tests/fixtures/ddbreplica_lambda.zip")
    error_message = "source_code_hash must come from the package file."
  }

  assert {
    condition = aws_lambda_function.this[0].environment[0].variables == tomap({
      REPLICA_TABLE     = "logfile_replica"
      REPLICA_REGION    = "us-east-1"
      SOURCE_TABLE_ARN  = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile"
      METRICS_NAMESPACE = "DdbReplica"
    })
    error_message = "Function must get REPLICA_TABLE, REPLICA_REGION (from the replica table's ARN) and SOURCE_TABLE_ARN (the source table's ARN)."
  }

  assert {
    condition     = aws_cloudwatch_log_group.lambda[0].name == "/aws/lambda/ddbreplica_lambda" && aws_cloudwatch_log_group.lambda[0].retention_in_days == 30
    error_message = "Log group must be /aws/lambda/ddbreplica_lambda with a retention."
  }
}

run "event_source_mapping" {
  command = apply

  assert {
    condition = (
      aws_lambda_event_source_mapping.this[0].event_source_arn == "arn:aws:dynamodb:us-east-1:123456789012:table/logfile/stream/2026-01-01T00:00:00.000"
      && aws_lambda_event_source_mapping.this[0].function_name == "arn:aws:lambda:us-east-1:123456789012:function:ddbreplica_lambda"
      && aws_lambda_event_source_mapping.this[0].batch_size == 100
      && aws_lambda_event_source_mapping.this[0].starting_position == "TRIM_HORIZON"
      && aws_lambda_event_source_mapping.this[0].enabled
    )
    error_message = "Mapping must read the source stream into the function: batch 100, TRIM_HORIZON, enabled."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.this[0].bisect_batch_on_function_error
      && aws_lambda_event_source_mapping.this[0].maximum_retry_attempts == 10
      && aws_lambda_event_source_mapping.this[0].maximum_record_age_in_seconds == 21600
      && aws_lambda_event_source_mapping.this[0].function_response_types == toset(["ReportBatchItemFailures"])
    )
    error_message = "Mapping defaults must be finite (10 retries, 6 h), bisect on, partial batch responses."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this[0].destination_config[0].on_failure[0].destination_arn == "arn:aws:sqs:us-east-1:123456789012:ddbreplica_lambda-dlq"
    error_message = "Failed batches must go to the module's queue by default."
  }

  assert {
    condition     = aws_sqs_queue.dlq[0].name == "ddbreplica_lambda-dlq" && aws_sqs_queue.dlq[0].message_retention_seconds == 1209600 && aws_sqs_queue.dlq[0].sqs_managed_sse_enabled
    error_message = "The on-failure queue must be encrypted (SSE-SQS) and keep messages 14 days."
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.this[0].filter_criteria) == 0
    error_message = "The lab has no filter."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this[0].metrics_config[0].metrics == toset(["EventCount"])
    error_message = "The mapping publishes its own metrics (EventCount), which the failed-events and dropped-events alarms read."
  }
}

run "alarms_on_lag_failures_and_the_queue" {
  command = apply

  assert {
    condition     = keys(output.alarm_arns) == ["dropped-events", "errors", "failed-invoke-events", "iterator-age", "on-failure-delivered-events", "on-failure-queue", "throttles"]
    error_message = "By default: the lag, errors, throttles, the module's queue, and the mapping's failed, delivered and dropped events."
  }

  assert {
    condition = (
      output.alarm_names["iterator-age"] == "ddbreplica_lambda-iterator-age"
      && module.alarms.alarm_names["on-failure-queue"] == "ddbreplica_lambda-on-failure-queue"
      && output.dashboard_name == null
    )
    error_message = "Alarms are named after the function; no dashboard by default."
  }
}

run "alarms_off" {
  command = plan

  variables {
    alarms               = { create = false }
    event_source_mapping = { metrics = [] }
    metrics_namespace    = null
  }

  assert {
    condition     = output.alarm_arns == {} && length(aws_lambda_event_source_mapping.this[0].metrics_config) == 0
    error_message = "alarms.create = false creates none; event_source_mapping.metrics = [] turns the mapping's metrics off."
  }

  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["METRICS_NAMESPACE"] == ""
    error_message = "metrics_namespace = null: the function is told to put no metrics in its log line."
  }
}

run "iam_is_scoped_to_the_stream_and_the_replica" {
  command = apply

  assert {
    condition     = jsondecode(aws_iam_role.lambda[0].assume_role_policy).Statement[0].Principal.Service == "lambda.amazonaws.com"
    error_message = "Only Lambda may assume the role."
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Sid => { Action = s.Action, Resource = s.Resource } } == {
      WriteOwnLogGroup = {
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/ddbreplica_lambda:*"]
      }
      ReadSourceStream = {
        Action   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
        Resource = ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile/stream/2026-01-01T00:00:00.000"]
      }
      ListStreams = {
        Action   = ["dynamodb:ListStreams"]
        Resource = ["*"]
      }
      WriteReplicaTable = {
        Action   = ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem"]
        Resource = ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica"]
      }
      SendFailedBatchMetadata = {
        Action   = ["sqs:SendMessage"]
        Resource = ["arn:aws:sqs:us-east-1:123456789012:ddbreplica_lambda-dlq"]
      }
    }
    error_message = "The role policy must be exactly: logs on its log group, stream reads on the stream, ListStreams on * (no resource type), writes on the replica, SendMessage on the queue."
  }

  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Effect == "Allow"])
    error_message = "Every statement is an Allow."
  }

  assert {
    condition     = output.lambda_role_arn == "arn:aws:iam::123456789012:role/ddbreplica_lambda" && aws_iam_role.lambda[0].name == "ddbreplica_lambda"
    error_message = "The workshop's role keeps the function's name (lambda_role_name)."
  }
}

run "default_role_name_is_unique_per_region" {
  command = plan

  variables {
    lambda_role_name = null
  }

  override_data {
    target = data.aws_region.current
    values = { region = "ap-southeast-2" }
  }

  assert {
    condition     = aws_iam_role.lambda[0].name == "ddbreplica_lambda-ap-southeast-2"
    error_message = "Without lambda_role_name the role is <function>-<region>: IAM names are global, a second region must not collide."
  }
}

run "default_role_name_fits_64_characters" {
  command = plan

  variables {
    lambda_role_name     = null
    lambda_function_name = "f234567890123456789012345678901234567890123456789012345678901234"
  }

  override_data {
    target = data.aws_region.current
    values = { region = "us-gov-west-1" }
  }

  assert {
    condition     = aws_iam_role.lambda[0].name == "f2345678901234567890123456789012345678901234567890-us-gov-west-1" && length(aws_iam_role.lambda[0].name) == 64
    error_message = "A 64-character function name is cut so that name, dash and region fit IAM's 64 characters."
  }
}

run "outputs" {
  command = apply

  assert {
    condition = (
      output.source_table_name == "logfile"
      && output.source_table_stream_arn == "arn:aws:dynamodb:us-east-1:123456789012:table/logfile/stream/2026-01-01T00:00:00.000"
      && output.replica_table_arn == "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica"
      && output.lambda_function_name == "ddbreplica_lambda"
      && output.event_source_mapping_uuid == "2f7b3c1e-8d4a-4b6f-9e21-0c5d7a9b1e34"
      && output.on_failure_queue_url == "https://sqs.us-east-1.amazonaws.com/123456789012/ddbreplica_lambda-dlq"
      && output.on_failure_queue_arn == output.on_failure_destination_arn
      && output.dlq_url == output.on_failure_queue_url && output.dlq_arn == output.on_failure_queue_arn
      && output.event_source_mapping_arn == aws_lambda_event_source_mapping.this[0].arn
      && output.event_source_mapping_state == aws_lambda_event_source_mapping.this[0].state
    )
    error_message = "Outputs must expose the tables, stream, function, mapping and queue."
  }
}

# The source table exists with a NEW_IMAGE stream (a later plan of the lab): a view type change is refused unless
# allowed, because it re-creates the stream and replaces the mapping.
run "a_view_type_change_is_refused" {
  command = plan

  variables {
    source_stream_view_type = "NEW_AND_OLD_IMAGES"
  }

  override_data {
    target = data.aws_dynamodb_tables.existing
    values = { names = ["other", "logfile"] }
  }

  override_data {
    target = data.aws_dynamodb_table.current_source
    values = { stream_enabled = true, stream_view_type = "NEW_IMAGE" }
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "a_view_type_change_goes_ahead_when_allowed" {
  command = plan

  variables {
    source_stream_view_type  = "NEW_AND_OLD_IMAGES"
    allow_stream_replacement = true
  }

  override_data {
    target = data.aws_dynamodb_tables.existing
    values = { names = ["logfile"] }
  }

  override_data {
    target = data.aws_dynamodb_table.current_source
    values = { stream_enabled = true, stream_view_type = "NEW_IMAGE" }
  }

  assert {
    condition     = module.source_table.table.stream_view_type == "NEW_AND_OLD_IMAGES"
    error_message = "allow_stream_replacement lets the change through."
  }
}

run "the_same_view_type_is_no_change" {
  command = plan

  override_data {
    target = data.aws_dynamodb_tables.existing
    values = { names = ["logfile"] }
  }

  override_data {
    target = data.aws_dynamodb_table.current_source
    values = { stream_enabled = true, stream_view_type = "NEW_IMAGE" }
  }

  assert {
    condition     = length(data.aws_dynamodb_table.current_source) == 1 && module.source_table.table.stream_view_type == "NEW_IMAGE"
    error_message = "The lab's own view type, read back from the existing table, plans without a refusal."
  }
}

run "the_check_can_be_turned_off" {
  command = plan

  variables {
    source_stream_view_type = "NEW_AND_OLD_IMAGES"
    check_stream_view_type  = false
  }

  assert {
    condition     = length(data.aws_dynamodb_tables.existing) == 0 && length(data.aws_dynamodb_table.current_source) == 0
    error_message = "check_stream_view_type = false reads nothing (for a table name unknown at plan)."
  }
}

run "a_disabled_stream_is_enabled_again" {
  command = plan

  override_data {
    target = data.aws_dynamodb_tables.existing
    values = { names = ["logfile"] }
  }

  override_data {
    target = data.aws_dynamodb_table.current_source
    values = { stream_enabled = false, stream_view_type = "" }
  }

  assert {
    condition     = length(data.aws_dynamodb_table.current_source) == 1 && module.source_table.table.stream_view_type == "NEW_IMAGE"
    error_message = "Enabling a disabled stream (a repair) is not refused."
  }
}
