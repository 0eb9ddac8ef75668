# Wrong inputs fail at plan time, on the variable (validation) or the resource (precondition) that names the problem.

mock_provider "aws" {
  # A valid ARN: OpenTofu mocks at plan time and the provider validates aws_lambda_function.role.
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mocked-replicator"
    }
  }
}

variables {
  source_table_name   = "logfile"
  replica_table_name  = "logfile_replica"
  hash_key            = { name = "PK" }
  lambda_package_path = "tests/fixtures/ddbreplica_lambda.zip"
}

run "defaults_plan" {
  command = plan

  assert {
    condition     = module.source_table.table.billing_mode == "PAY_PER_REQUEST" && module.replica_table.table.billing_mode == "PAY_PER_REQUEST"
    error_message = "Default billing is on-demand."
  }
}

run "rejects_keys_only_view_type" {
  command = plan
  variables {
    source_stream_view_type = "KEYS_ONLY"
  }
  expect_failures = [var.source_stream_view_type]
}

run "rejects_old_image_view_type" {
  command = plan
  variables {
    source_stream_view_type = "OLD_IMAGE"
  }
  expect_failures = [var.source_stream_view_type]
}

run "rejects_a_timeout_too_short_to_write_and_report" {
  command = plan
  variables {
    lambda_timeout = 2
  }
  expect_failures = [var.lambda_timeout]
}

run "accepts_lambdas_default_timeout" {
  command = plan
  variables {
    lambda_timeout = 3
  }

  assert {
    condition     = aws_lambda_function.this[0].timeout == 3
    error_message = "A 3 s timeout (Lambda's default) is accepted."
  }
}

run "rejects_batch_size_zero" {
  command = plan
  variables {
    event_source_mapping = { batch_size = 0 }
  }
  expect_failures = [var.event_source_mapping]
}

run "rejects_batch_size_above_10000" {
  command = plan
  variables {
    event_source_mapping = { batch_size = 10001 }
  }
  expect_failures = [var.event_source_mapping]
}

run "rejects_at_timestamp" {
  command = plan
  variables {
    event_source_mapping = { starting_position = "AT_TIMESTAMP" }
  }
  expect_failures = [var.event_source_mapping]
}

run "rejects_retrying_forever_without_age_limit" {
  command = plan
  variables {
    event_source_mapping = { maximum_retry_attempts = -1, maximum_record_age_in_seconds = -1 }
  }
  expect_failures = [var.event_source_mapping]
}

run "rejects_record_age_below_60" {
  command = plan
  variables {
    event_source_mapping = { maximum_record_age_in_seconds = 30 }
  }
  expect_failures = [var.event_source_mapping]
}

run "rejects_unknown_response_type" {
  command = plan
  variables {
    event_source_mapping = { function_response_types = ["ReportBatchItemFailure"] }
  }
  expect_failures = [var.event_source_mapping]
}

run "rejects_filter_that_is_not_json" {
  command = plan
  variables {
    event_source_mapping = { filter_patterns = ["eventName = INSERT"] }
  }
  expect_failures = [var.event_source_mapping]
}

run "rejects_retention_cloudwatch_does_not_offer" {
  command = plan
  variables {
    cloudwatch_logs_retention_in_days = 45
  }
  expect_failures = [var.cloudwatch_logs_retention_in_days]
}

run "rejects_non_python_runtime" {
  command = plan
  variables {
    lambda_runtime = "nodejs20.x"
  }
  expect_failures = [var.lambda_runtime]
}

run "rejects_python_older_than_312" {
  command = plan
  variables {
    lambda_runtime = "python3.9"
  }
  expect_failures = [var.lambda_runtime]
}

run "rejects_include_without_attributes" {
  command = plan
  variables {
    replica_global_secondary_indexes = [{ name = "GSI_1", hash_key = { name = "GSI_1_PK" }, projection_type = "INCLUDE" }]
  }
  expect_failures = [var.replica_global_secondary_indexes]
}

run "rejects_bad_key_type" {
  command = plan
  variables {
    hash_key = { name = "PK", type = "STRING" }
  }
  expect_failures = [var.hash_key]
}

run "rejects_queue_and_existing_arn_together" {
  command = plan
  variables {
    on_failure_destination = { arn = "arn:aws:sqs:us-east-1:123456789012:elsewhere" }
  }
  expect_failures = [var.on_failure_destination]
}

run "rejects_destination_that_is_not_sqs_sns_or_s3" {
  command = plan
  variables {
    on_failure_destination = { create_queue = false, arn = "arn:aws:lambda:us-east-1:123456789012:function:on-failure" }
  }
  expect_failures = [var.on_failure_destination]
}

run "rejects_an_s3_destination_with_a_prefix" {
  command = plan
  variables {
    on_failure_destination = { create_queue = false, arn = "arn:aws:s3:::bucket/failures" }
  }
  expect_failures = [var.on_failure_destination]
}

run "rejects_a_table_key_alias" {
  command = plan
  variables {
    replica_table_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/replica"
  }
  expect_failures = [var.replica_table_kms_key_arn]
}

# A table's own checks (capacities with PROVISIONED, one type per key attribute) are the table module's, tested in
# modules/dynamodb-table/tests: a test can expect the failure of a check of the module under test only.

run "rejects_replica_named_like_source" {
  command = plan
  variables {
    replica_table_name = "logfile"
  }
  # Refused by name, and by the function's check that no target is the source (same account, region, name).
  expect_failures = [aws_lambda_function.this]
}

run "rejects_missing_package" {
  command = plan
  variables {
    lambda_package_path = "tests/fixtures/missing.zip"
  }
  expect_failures = [aws_lambda_function.this]
}

run "rejects_a_handler_that_is_not_module_dot_function" {
  command = plan
  variables {
    lambda_handler = "ddbreplica_lambda"
  }
  expect_failures = [var.lambda_handler]
}

run "accepts_a_handler_in_a_package_folder" {
  command = plan
  variables {
    lambda_handler = "src/ddbreplica_lambda.lambda_handler"
  }
}

run "rejects_a_permissions_boundary_that_is_not_a_policy_arn" {
  command = plan
  variables {
    lambda_role_permissions_boundary = "arn:aws:iam::123456789012:role/boundary"
  }
  expect_failures = [var.lambda_role_permissions_boundary]
}

run "rejects_a_log_group_key_alias" {
  command = plan
  variables {
    cloudwatch_logs_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:alias/logs"
  }
  expect_failures = [var.cloudwatch_logs_kms_key_arn]
}

run "rejects_an_on_failure_key_alias" {
  command = plan
  variables {
    on_failure_destination = {
      create_queue = false
      arn          = "arn:aws:sqs:eu-west-1:123456789012:failures"
      kms_key_arn  = "alias/failures"
    }
  }
  expect_failures = [var.on_failure_destination]
}

run "rejects_a_fractional_batching_window" {
  command = plan
  variables {
    event_source_mapping = { maximum_batching_window_in_seconds = 1.5 }
  }
  expect_failures = [var.event_source_mapping]
}

run "rejects_a_pinned_version_without_publishing" {
  command = plan
  variables {
    lambda_alias_function_version = "3"
  }
  expect_failures = [aws_lambda_function.this]
}

run "rejects_an_alias_named_like_a_version" {
  command = plan
  variables {
    lambda_publish    = true
    lambda_alias_name = "12"
  }
  expect_failures = [var.lambda_alias_name]
}

run "rejects_latest_as_the_alias_version" {
  command = plan
  variables {
    lambda_publish                = true
    lambda_alias_function_version = "$LATEST"
  }
  expect_failures = [var.lambda_alias_function_version]
}
