# create_source_table = false: the module reads the existing table and refuses, at plan time, one whose stream
# cannot feed the handler or whose keys differ from the replica's.

mock_provider "aws" {
  # A valid ARN: OpenTofu mocks at plan time and the provider validates aws_lambda_function.role.
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mocked-replicator"
    }
  }

  mock_data "aws_dynamodb_table" {
    defaults = {
      arn              = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
      stream_arn       = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
      stream_enabled   = true
      stream_view_type = "NEW_AND_OLD_IMAGES"
      hash_key         = "PK"
      range_key        = "SK"
      attribute = [
        { name = "PK", type = "S" },
        { name = "SK", type = "S" },
      ]
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders_replica"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:orders_replica-replicator-dlq"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders_replica-replicator"
    }
  }
}

variables {
  create_source_table = false
  source_table_name   = "orders"
  replica_table_name  = "orders_replica"
  hash_key            = { name = "PK", type = "S" }
  range_key           = { name = "SK", type = "S" }
  lambda_package_path = "tests/fixtures/ddbreplica_lambda.zip"
}

run "reads_the_existing_stream" {
  command = apply

  assert {
    condition     = module.source_table.table == null && length(data.aws_dynamodb_table.source) == 1
    error_message = "The module must not create a source table, only read the existing one."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this[0].event_source_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    error_message = "The mapping must read the existing table's stream."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Resource if s.Sid == "ReadSourceStream"] == [
      ["arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"],
    ]
    error_message = "Stream reads must be scoped to the existing table's stream."
  }

  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s if startswith(s.Sid, "UseKeys")]) == 0
    error_message = "No KMS statement for a table on the AWS owned key."
  }

  assert {
    condition = (
      module.replica_table.table.hash_key == "PK" && module.replica_table.table.range_key == "SK"
      && aws_lambda_function.this[0].function_name == "orders_replica-replicator"
      && aws_lambda_function.this[0].environment[0].variables.REPLICA_REGION == "eu-west-1"
      && aws_lambda_function.this[0].environment[0].variables.SOURCE_TABLE_ARN == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
      && output.source_table_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    )
    error_message = "Replica keys, derived function name, region, source ARN and outputs must follow the existing table."
  }
}

# Not tested here: an existing table's CMK (server_side_encryption) is granted to the function. The data source
# returns it as a computed nested block, which mocked providers leave empty whatever the override says.

run "rejects_table_without_stream" {
  command = plan

  # Every value is given: an override replaces the mock defaults, and random values would trip the other check.
  override_data {
    target = data.aws_dynamodb_table.source
    values = {
      arn              = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
      stream_arn       = ""
      stream_enabled   = false
      stream_view_type = ""
      hash_key         = "PK"
      range_key        = "SK"
      attribute        = [{ name = "PK", type = "S" }, { name = "SK", type = "S" }]
    }
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "rejects_keys_only_stream" {
  command = plan

  # Every value is given: an override replaces the mock defaults, and random values would trip the other check.
  override_data {
    target = data.aws_dynamodb_table.source
    values = {
      arn              = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
      stream_arn       = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
      stream_enabled   = true
      stream_view_type = "KEYS_ONLY"
      hash_key         = "PK"
      range_key        = "SK"
      attribute        = [{ name = "PK", type = "S" }, { name = "SK", type = "S" }]
    }
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "rejects_other_key_schema" {
  command = plan

  variables {
    range_key = null
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "rejects_other_key_type" {
  command = plan

  variables {
    hash_key = { name = "PK", type = "N" }
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "follows_the_tables_own_stream_arn" {
  command = plan

  variables {
    source_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.this[0].event_source_arn == var.source_stream_arn
      && aws_lambda_function.this[0].environment[0].variables.SOURCE_TABLE_ARN == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
      && output.source_table_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    )
    error_message = "The mapping, the function's SOURCE_TABLE_ARN and the outputs must follow the given stream's table."
  }
}

run "rejects_a_stale_stream_arn" {
  command = plan

  variables {
    source_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2025-06-01T00:00:00.000"
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "rejects_a_stream_arn_of_another_region" {
  command = plan

  variables {
    source_stream_arn = "arn:aws:dynamodb:us-west-2:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "rejects_a_stream_arn_of_another_table" {
  command = plan

  variables {
    source_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/invoices/stream/2026-01-01T00:00:00.000"
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "rejects_a_stream_arn_with_a_source_the_module_creates" {
  command = plan

  variables {
    create_source_table = true
    source_stream_arn   = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "rejects_a_value_that_is_not_a_stream_arn" {
  command = plan

  variables {
    source_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
  }

  expect_failures = [var.source_stream_arn]
}
