# A change upstream of the module (a tag of the caller's table, whose name is the module's input) must not
# replace the event source mapping: its stream ARN stays known at plan time. Reading the existing table in a
# data source with postconditions made Terraform defer the read to apply time, and the mapping was replaced
# (TRIM_HORIZON: up to 24 h replayed; LATEST: the records in between lost). tests/terraform/test_lifecycle.py
# checks the same on LocalStack with a real second plan.

# Mocked values are drawn at apply time (the default): a plan in between keeps what the first run applied.
mock_provider "aws" {
  mock_data "aws_dynamodb_table" {
    defaults = {
      arn              = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
      stream_arn       = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
      stream_enabled   = true
      stream_view_type = "NEW_IMAGE"
      hash_key         = "PK"
      range_key        = ""
      attribute        = [{ name = "PK", type = "S" }]
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders_replica"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/orders_replica-replicator"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders_replica-replicator"
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

# The caller's table, with fixed values: mocks draw new random ones at apply time otherwise.
override_resource {
  target = aws_dynamodb_table.caller
  values = {
    id           = "orders"
    arn          = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    stream_arn   = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    stream_label = "2026-01-01T00:00:00.000"
    region       = "eu-west-1"
  }
}

run "by_name_first_apply" {
  module {
    source = "./tests/fixtures/caller_table"
  }

  variables {
    by_stream_arn = false
    tag           = "a"
  }
}

run "by_name_a_tag_edit_of_the_callers_table_keeps_the_mapping" {
  command = plan

  module {
    source = "./tests/fixtures/caller_table"
  }

  variables {
    by_stream_arn = false
    tag           = "b"
    # Read by the assertion only: OpenTofu resolves run.<name> in variables, not in assert.
    applied_source = run.by_name_first_apply.event_source_mapping_source
  }

  assert {
    condition     = output.event_source_mapping_source == var.applied_source
    error_message = "The stream ARN must be known at plan time, or the mapping is replaced."
  }
}

run "by_stream_arn_apply" {
  module {
    source = "./tests/fixtures/caller_table"
  }

  variables {
    by_stream_arn = true
    tag           = "a"
  }
}

run "by_stream_arn_a_tag_edit_of_the_callers_table_keeps_the_mapping" {
  command = plan

  module {
    source = "./tests/fixtures/caller_table"
  }

  variables {
    by_stream_arn = true
    tag           = "b"
    # Read by the assertion only: OpenTofu resolves run.<name> in variables, not in assert.
    applied_source = run.by_stream_arn_apply.event_source_mapping_source
  }

  assert {
    condition     = output.event_source_mapping_source == var.applied_source
    error_message = "The stream ARN must be known at plan time, or the mapping is replaced."
  }
}
