# Options beyond the lab: CMK, existing SNS/SQS destinations, no destination, filters, tracing, range keys,
# on-demand billing, published versions with an alias, and the create = false switch.

mock_provider "aws" {
  # A valid ARN: OpenTofu mocks at plan time and the provider validates aws_lambda_function.role.
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mocked-replicator"
    }
  }

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

  mock_resource "aws_lambda_function" {
    defaults = {
      arn     = "arn:aws:lambda:us-east-1:123456789012:function:events-replica-replicator"
      version = "7"
    }
  }

  mock_resource "aws_lambda_alias" {
    defaults = {
      arn = "arn:aws:lambda:us-east-1:123456789012:function:events-replica-replicator:live"
    }
  }
}

# Each table its own ARN, as in AWS (one mocked ARN for both would be a replica that is its own source).
override_resource {
  target = module.replica_table.aws_dynamodb_table.this
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/events.replica"
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
    condition     = module.source_table.table.range_key == "SK" && module.source_table.table.billing_mode == "PAY_PER_REQUEST"
    error_message = "Range key and on-demand billing must be set."
  }

  assert {
    condition     = module.source_table.table.attribute == toset([{ name = "PK", type = "S" }, { name = "SK", type = "N" }, { name = "type", type = "S" }])
    error_message = "Attributes are derived once per name from table and index keys."
  }

  assert {
    condition     = module.replica_table.table.attribute == toset([{ name = "PK", type = "S" }, { name = "SK", type = "N" }, { name = "type", type = "S" }, { name = "owner", type = "S" }])
    error_message = "Replica attributes come from its own indexes."
  }

  assert {
    condition     = aws_lambda_function.this[0].function_name == "events-replica-replicator"
    error_message = "Derived function name replaces dots of the replica table name."
  }

  assert {
    condition     = module.source_table.table.point_in_time_recovery[0].enabled && !module.source_table.table.server_side_encryption[0].enabled
    error_message = "Defaults: point-in-time recovery on, AWS owned key."
  }
}

run "customer_managed_key" {
  command = apply

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = (
      module.source_table.table.server_side_encryption[0].enabled
      && module.source_table.table.server_side_encryption[0].kms_key_arn == var.kms_key_arn
      && module.replica_table.table.server_side_encryption[0].kms_key_arn == var.kms_key_arn
      && aws_sqs_queue.dlq[0].kms_master_key_id == var.kms_key_arn
    )
    error_message = "The CMK must encrypt both tables and the queue."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s if startswith(s.Sid, "UseKeys")] == [
      {
        Sid       = "UseKeysViaDynamodb"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = [var.kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = ["dynamodb.us-east-1.amazonaws.com"] } }
      },
      {
        Sid       = "UseKeysViaSqs"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = [var.kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = ["sqs.us-east-1.amazonaws.com"] } }
      },
    ]
    error_message = "The role may decrypt the tables' key through DynamoDB and encrypt with the queue's key through SQS, no kms:Encrypt, nothing else."
  }
}

run "one_key_per_table_and_queue" {
  command = apply

  variables {
    kms_key_arn               = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    source_table_kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    replica_table_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222"
    on_failure_destination    = { kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/33333333-3333-3333-3333-333333333333" }
  }

  assert {
    condition = (
      module.source_table.table.server_side_encryption[0].kms_key_arn == var.source_table_kms_key_arn
      && module.replica_table.table.server_side_encryption[0].kms_key_arn == var.replica_table_kms_key_arn
      && aws_sqs_queue.dlq[0].kms_master_key_id == var.on_failure_destination.kms_key_arn
      && aws_sqs_queue.dlq[0].sqs_managed_sse_enabled != true
    )
    error_message = "Each table and the queue use their own key."
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Sid => s.Resource if startswith(s.Sid, "UseKeys") } == {
      UseKeysViaDynamodb = [var.source_table_kms_key_arn, var.replica_table_kms_key_arn]
      UseKeysViaSqs      = [var.on_failure_destination.kms_key_arn]
    }
    error_message = "Each key is granted through the service that holds its data; the unused default key is not granted at all."
  }
}

run "key_only_for_the_replica" {
  command = apply

  variables {
    replica_table_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222"
  }

  assert {
    condition = (
      module.source_table.table.server_side_encryption[0].enabled == false
      && module.replica_table.table.server_side_encryption[0].enabled
      && aws_sqs_queue.dlq[0].sqs_managed_sse_enabled == true
    )
    error_message = "Only the replica uses a customer managed key; the source keeps the AWS owned key, the queue SSE-SQS."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s if startswith(s.Sid, "UseKeys")] == [
      {
        Sid       = "UseKeysViaDynamodb"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = [var.replica_table_kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = ["dynamodb.eu-west-1.amazonaws.com"] } }
      },
    ]
    error_message = "The ViaService region is the key's region."
  }
}

run "existing_s3_destination" {
  command = apply

  variables {
    on_failure_destination = {
      create_queue = false
      arn          = "arn:aws:s3:::replication-failures"
      kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/44444444-4444-4444-4444-444444444444"
    }
  }

  assert {
    condition     = length(aws_sqs_queue.dlq) == 0 && aws_lambda_event_source_mapping.this[0].destination_config[0].on_failure[0].destination_arn == "arn:aws:s3:::replication-failures"
    error_message = "Failed batches go to the bucket; no queue is created."
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Sid => [s.Action, s.Resource, try(s.Condition, null)] if !contains(["WriteOwnLogGroup", "ReadSourceStream", "ListStreams", "WriteReplicaTable"], s.Sid) } == {
      ListFailedBatchBucket   = [["s3:ListBucket"], ["arn:aws:s3:::replication-failures"], null]
      WriteFailedBatchObjects = [["s3:PutObject"], ["arn:aws:s3:::replication-failures/*"], null]
      UseKeysViaS3            = [["kms:Decrypt", "kms:GenerateDataKey"], [var.on_failure_destination.kms_key_arn], { StringEquals = { "kms:ViaService" = ["s3.us-east-1.amazonaws.com"] } }]
    }
    error_message = "For a bucket: ListBucket on it, PutObject on its objects, its key through S3 only; no sqs:SendMessage."
  }
}

run "existing_log_group" {
  command = apply

  variables {
    create_cloudwatch_log_group = false
  }

  assert {
    condition     = length(aws_cloudwatch_log_group.lambda) == 0 && output.lambda_cloudwatch_log_group_name == "/aws/lambda/events-replica-replicator" && output.lambda_cloudwatch_log_group_arn == null
    error_message = "create_cloudwatch_log_group = false creates no log group."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : [s.Action, s.Resource] if s.Sid == "WriteOwnLogGroup"] == [
      [
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/events-replica-replicator", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/events-replica-replicator:*"],
      ],
    ]
    error_message = "The role may write to the existing group (its ARN derived from the replica table's), and create it if Lambda has not."
  }
}

run "existing_sns_destination" {
  command = apply

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
  command = apply

  variables {
    on_failure_destination = {
      create_queue = false
      arn          = "arn:aws:sqs:us-east-1:123456789012:shared-failures"
      kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/0000aaaa-11bb-22cc-33dd-444444eeeeee"
    }
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Sid => s.Resource if contains(["SendFailedBatchMetadata", "UseKeysViaSqs", "UseKeysViaDynamodb"], s.Sid) } == {
      SendFailedBatchMetadata = ["arn:aws:sqs:us-east-1:123456789012:shared-failures"]
      UseKeysViaSqs           = ["arn:aws:kms:us-east-1:123456789012:key/0000aaaa-11bb-22cc-33dd-444444eeeeee"]
    }
    error_message = "The role may send to the existing queue and use its key, nothing else."
  }
}

run "by_default_the_mapping_invokes_the_function" {
  command = apply

  assert {
    condition     = length(aws_lambda_alias.this) == 0 && !aws_lambda_function.this[0].publish && aws_lambda_event_source_mapping.this[0].function_name == aws_lambda_function.this[0].arn
    error_message = "Without lambda_publish: no version, no alias, the mapping invokes the function ($LATEST)."
  }
}

run "published_versions_and_an_alias" {
  command = apply

  variables {
    lambda_publish = true
  }

  assert {
    condition = (
      aws_lambda_function.this[0].publish
      && aws_lambda_alias.this[0].name == "live"
      && aws_lambda_alias.this[0].function_version == "7"
      && aws_lambda_event_source_mapping.this[0].function_name == "arn:aws:lambda:us-east-1:123456789012:function:events-replica-replicator:live"
      && output.lambda_alias_arn == aws_lambda_alias.this[0].arn && output.lambda_function_version == "7"
    )
    error_message = "lambda_publish publishes a version, points the alias at the newest one, and the mapping invokes the alias."
  }
}

run "the_alias_rolls_back_to_a_pinned_version" {
  command = apply

  variables {
    lambda_publish                = true
    lambda_alias_name             = "current"
    lambda_alias_function_version = "3"
  }

  assert {
    condition     = aws_lambda_alias.this[0].name == "current" && aws_lambda_alias.this[0].function_version == "3" && output.lambda_alias_function_version == "3"
    error_message = "lambda_alias_function_version pins the alias to an earlier version; the mapping keeps invoking the alias."
  }
}

run "no_destination" {
  command = apply

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
  command = apply

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
      length(compact([module.source_table.table_arn, module.replica_table.table_arn])) + length(data.aws_dynamodb_table.source)
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
