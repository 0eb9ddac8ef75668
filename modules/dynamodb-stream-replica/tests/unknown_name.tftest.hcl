# A source table name that is unknown at plan time (a random suffix, another resource's output): the module plans
# when check_stream_view_type = false, which it needs then (the check's read depends on the name).

mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mocked-replicator"
    }
  }
}

run "plans_with_the_check_off" {
  command = plan

  module {
    source = "./tests/fixtures/unknown_name"
  }

  variables {
    check_stream_view_type = false
  }
}
