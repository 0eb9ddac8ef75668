# One table definition for a source (with a stream) and a replica (without): attribute definitions derived from
# the keys, index capacities defaulting to the table's, and the table's own refusals.

mock_provider "aws" {
  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn        = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
      stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    }
  }
}

variables {
  name     = "orders"
  hash_key = { name = "PK" }
}

# First: the runs share one state, and a plan after the source's apply would show its stream still there.
run "a_replica_without_a_stream" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.this[0].stream_enabled != true && aws_dynamodb_table.this[0].billing_mode == "PAY_PER_REQUEST"
    error_message = "No stream view type, no stream; on-demand by default."
  }
}

run "a_source_with_a_stream_and_provisioned_indexes" {
  command = apply

  variables {
    range_key        = { name = "SK", type = "N" }
    billing_mode     = "PROVISIONED"
    read_capacity    = 5
    write_capacity   = 3
    stream_view_type = "NEW_IMAGE"
    global_secondary_indexes = [
      { name = "by_owner", hash_key = { name = "owner" }, range_key = { name = "SK", type = "N" } },
      { name = "by_state", hash_key = { name = "state" }, projection_type = "KEYS_ONLY", read_capacity = 1, write_capacity = 1 },
    ]
  }

  assert {
    condition     = aws_dynamodb_table.this[0].stream_enabled && aws_dynamodb_table.this[0].stream_view_type == "NEW_IMAGE" && output.table_stream_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    error_message = "A stream view type enables the stream."
  }

  assert {
    condition     = aws_dynamodb_table.this[0].attribute == toset([{ name = "PK", type = "S" }, { name = "SK", type = "N" }, { name = "owner", type = "S" }, { name = "state", type = "S" }])
    error_message = "One attribute definition per key attribute of the table and its indexes, each once."
  }

  assert {
    condition     = { for i in aws_dynamodb_table.this[0].global_secondary_index : i.name => [i.read_capacity, i.write_capacity] } == { by_owner = [5, 3], by_state = [1, 1] }
    error_message = "An index without capacities takes the table's."
  }

  assert {
    condition     = output.table_region == "eu-west-1" && output.table.name == "orders"
    error_message = "The region is read from the ARN; the table output is the resource."
  }
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_dynamodb_table.this) == 0 && output.table == null && output.table_arn == null
    error_message = "create = false creates nothing."
  }
}

run "rejects_provisioned_without_capacity" {
  command = plan

  variables {
    billing_mode = "PROVISIONED"
  }

  expect_failures = [aws_dynamodb_table.this]
}

run "rejects_attribute_with_two_types" {
  command = plan

  variables {
    global_secondary_indexes = [{ name = "by_pk_number", hash_key = { name = "PK", type = "N" }, projection_type = "KEYS_ONLY" }]
  }

  expect_failures = [aws_dynamodb_table.this]
}
