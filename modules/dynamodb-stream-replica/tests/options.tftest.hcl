# Options beyond the lab: CMK, existing SNS/SQS destinations, no destination, filters, tracing, range keys,
# on-demand billing, and the create = false switch.

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/events"
      stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/events/stream/2026-01-01T00:00:00.000"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:events-failed"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/events-failed"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/events-replicator"
    }
  }
}

variables {
  source_table_name   = "events"
  replica_table_name  = "events.replica"
  hash_key            = { name = "PK" }
  range_key           = { name = "SK", type = "N" }
  lambda_package_path = "tests/fixtures/ddbreplica_lambda.zip"
}

run "on_demand_with_range_key_and_indexes" {
  command = plan

  variables {
    source_global_secondary_indexes = [
      { name = "by_type", hash_key = { name = "type" }, range_key = { name = "SK", type = "N" }, projection_type = "KEYS_ONLY" },
    ]
    replica_global_secondary_indexes = [
      { name = "by_type", hash_key = { name = "type" }, range_key = { name = "SK", type = "N" } },
      { name = "by_owner", hash_key = { name = "owner" }, projection_type = "INCLUDE", non_key_attributes = ["status"] },
    ]
  }

  assert {
    condition     = aws_dynamodb_table.source[0].range_key == "SK" && aws_dynamodb_table.source[0].billing_mode == "PAY_PER_REQUEST"
    error_message = "Range key and on-demand billing must be set."
  }

  assert {
    condition     = aws_dynamodb_table.source[0].attribute == toset([{ name = "PK", type = "S" }, { name = "SK", type = "N" }, { name = "type", type = "S" }])
    error_message = "Attributes are derived once per name from table and index keys."
  }

  assert {
    condition     = aws_dynamodb_table.replica[0].attribute == toset([{ name = "PK", type = "S" }, { name = "SK", type = "N" }, { name = "type", type = "S" }, { name = "owner", type = "S" }])
    error_message = "Replica attributes come from its own indexes."
  }

  assert {
    condition     = aws_lambda_function.this[0].function_name == "events-replica-replicator"
    error_message = "Derived function name replaces dots of the replica table name."
  }

  assert {
    condition     = aws_dynamodb_table.source[0].point_in_time_recovery[0].enabled && !aws_dynamodb_table.source[0].server_side_encryption[0].enabled
    error_message = "Defaults: point-in-time recovery on, AWS owned key."
  }
}

run "customer_managed_key" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = (
      aws_dynamodb_table.source[0].server_side_encryption[0].enabled
      && aws_dynamodb_table.source[0].server_side_encryption[0].kms_key_arn == var.kms_key_arn
      && aws_dynamodb_table.replica[0].server_side_encryption[0].kms_key_arn == var.kms_key_arn
      && aws_sqs_queue.dlq[0].kms_master_key_id == var.kms_key_arn
    )
    error_message = "The CMK must encrypt both tables and the queue."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : { Action = s.Action, Resource = s.Resource } if s.Sid == "UseCustomerManagedKeys"] == [
      { Action = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], Resource = [var.kms_key_arn] },
    ]
    error_message = "The role may use the CMK, and only it."
  }
}

run "existing_sns_destination" {
  command = plan

  variables {
    on_failure_destination = {
      create_queue = false
      arn          = "arn:aws:sns:us-east-1:123456789012:replication-failures"
    }
  }

  assert {
    condition     = length(aws_sqs_queue.dlq) == 0 && output.dlq_url == null
    error_message = "No queue when an existing destination is given."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this[0].destination_config[0].on_failure[0].destination_arn == "arn:aws:sns:us-east-1:123456789012:replication-failures"
    error_message = "Failed batches go to the existing topic."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : { Action = s.Action, Resource = s.Resource } if s.Sid == "SendFailedBatchMetadata"] == [
      { Action = ["sns:Publish"], Resource = ["arn:aws:sns:us-east-1:123456789012:replication-failures"] },
    ]
    error_message = "The role may publish to that topic only."
  }
}

run "existing_sqs_destination_with_its_own_key" {
  command = plan

  variables {
    on_failure_destination = {
      create_queue = false
      arn          = "arn:aws:sqs:us-east-1:123456789012:shared-failures"
      kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/0000aaaa-11bb-22cc-33dd-444444eeeeee"
    }
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Sid => s.Resource if contains(["SendFailedBatchMetadata", "UseCustomerManagedKeys"], s.Sid) } == {
      SendFailedBatchMetadata = ["arn:aws:sqs:us-east-1:123456789012:shared-failures"]
      UseCustomerManagedKeys  = ["arn:aws:kms:us-east-1:123456789012:key/0000aaaa-11bb-22cc-33dd-444444eeeeee"]
    }
    error_message = "The role may send to the existing queue and use its key, nothing else."
  }
}

run "no_destination" {
  command = plan

  variables {
    on_failure_destination = null
  }

  assert {
    condition     = length(aws_sqs_queue.dlq) == 0 && length(aws_lambda_event_source_mapping.this[0].destination_config) == 0
    error_message = "null turns the destination off."
  }

  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s if s.Sid == "SendFailedBatchMetadata"]) == 0
    error_message = "No send permission without a destination."
  }
}

run "mapping_options_filters_and_tracing" {
  command = plan

  variables {
    event_source_mapping = {
      enabled                            = false
      batch_size                         = 1000
      starting_position                  = "LATEST"
      maximum_batching_window_in_seconds = 5
      parallelization_factor             = 4
      bisect_batch_on_function_error     = false
      maximum_retry_attempts             = -1
      maximum_record_age_in_seconds      = 3600
      function_response_types            = []
      filter_patterns = [
        jsonencode({ eventName = ["INSERT", "MODIFY"] }),
        jsonencode({ eventName = ["REMOVE"] }),
      ]
    }
    lambda_tracing_mode = "Active"
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.this[0].enabled == false
      && aws_lambda_event_source_mapping.this[0].batch_size == 1000
      && aws_lambda_event_source_mapping.this[0].starting_position == "LATEST"
      && aws_lambda_event_source_mapping.this[0].maximum_batching_window_in_seconds == 5
      && aws_lambda_event_source_mapping.this[0].parallelization_factor == 4
      && aws_lambda_event_source_mapping.this[0].bisect_batch_on_function_error == false
      && (aws_lambda_event_source_mapping.this[0].maximum_retry_attempts == -1)
      && aws_lambda_event_source_mapping.this[0].maximum_record_age_in_seconds == 3600
    )
    error_message = "Every mapping option must reach the resource."
  }

  assert {
    condition     = toset([for f in aws_lambda_event_source_mapping.this[0].filter_criteria[0].filter : f.pattern]) == toset([jsonencode({ eventName = ["INSERT", "MODIFY"] }), jsonencode({ eventName = ["REMOVE"] })])
    error_message = "Filter patterns must become filter_criteria filters."
  }

  assert {
    condition     = aws_lambda_function.this[0].tracing_config[0].mode == "Active"
    error_message = "Tracing mode must reach the function."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : { Action = s.Action, Resource = s.Resource } if s.Sid == "WriteXRayTraces"] == [
      { Action = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], Resource = ["*"] },
    ]
    error_message = "Active tracing adds the X-Ray statement (on *: X-Ray has no resource-level permissions)."
  }
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition = (
      length(aws_dynamodb_table.source) + length(aws_dynamodb_table.replica) + length(data.aws_dynamodb_table.source)
      + length(aws_iam_role.lambda) + length(aws_iam_role_policy.lambda) + length(aws_cloudwatch_log_group.lambda)
      + length(aws_lambda_function.this) + length(aws_lambda_event_source_mapping.this) + length(aws_sqs_queue.dlq)
    ) == 0
    error_message = "create = false must turn every resource and data source off."
  }

  assert {
    condition = alltrue([for v in [
      output.source_table_name, output.source_table_arn, output.source_table_stream_arn, output.replica_table_name,
      output.replica_table_arn, output.lambda_function_name, output.lambda_function_arn, output.lambda_role_name,
      output.lambda_role_arn, output.lambda_cloudwatch_log_group_name, output.lambda_cloudwatch_log_group_arn,
      output.event_source_mapping_uuid, output.dlq_url, output.dlq_arn, output.on_failure_destination_arn,
    ] : v == null])
    error_message = "create = false must make every output null."
  }
}

run "create_false_with_existing_source_reads_nothing" {
  command = plan

  variables {
    create              = false
    create_source_table = false
  }

  assert {
    condition     = length(data.aws_dynamodb_table.source) == 0
    error_message = "create = false must not read the existing table either."
  }
}
