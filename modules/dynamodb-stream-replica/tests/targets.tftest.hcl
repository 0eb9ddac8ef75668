# Several replica targets from one stream: the function's environment and role for targets in another region and
# in another account (replica-target module outputs), and the refusals of a target configured twice or of the source.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "us-east-1"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mocked-replicator"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:us-east-1:123456789012:function:logfile_replica-replicator"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/logfile_replica-replicator"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:logfile_replica-replicator-dlq"
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

variables {
  source_table_name   = "logfile"
  replica_table_name  = "logfile_replica"
  hash_key            = { name = "PK" }
  lambda_package_path = "tests/fixtures/ddbreplica_lambda.zip"

  replica_targets = [
    {
      name        = "eu"
      table_name  = "logfile_replica"
      table_arn   = "arn:aws:dynamodb:eu-west-1:123456789012:table/logfile_replica"
      kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    },
    {
      name        = "au"
      table_name  = "logfile_replica"
      table_arn   = "arn:aws:dynamodb:ap-southeast-2:222222222222:table/logfile_replica"
      role_arn    = "arn:aws:iam::222222222222:role/logfile_replica-replica-writer"
      external_id = "lab-42"
      kms_key_arn = "arn:aws:kms:ap-southeast-2:222222222222:key/5678abcd-12ab-34cd-56ef-1234567890ab"
    },
  ]
}

run "every_target_in_the_functions_environment" {
  command = apply

  assert {
    condition = jsondecode(aws_lambda_function.this[0].environment[0].variables.REPLICA_TARGETS) == {
      logfile_replica = { table_name = "logfile_replica", region = "us-east-1", role_arn = null, external_id = null }
      eu              = { table_name = "logfile_replica", region = "eu-west-1", role_arn = null, external_id = null }
      au = {
        table_name  = "logfile_replica"
        region      = "ap-southeast-2"
        role_arn    = "arn:aws:iam::222222222222:role/logfile_replica-replica-writer"
        external_id = "lab-42"
      }
    }
    error_message = "REPLICA_TARGETS must name the module's replica and both targets, with region, role and external ID."
  }

  assert {
    condition     = !contains(keys(aws_lambda_function.this[0].environment[0].variables), "REPLICA_TABLE") && !contains(keys(aws_lambda_function.this[0].environment[0].variables), "REPLICA_REGION")
    error_message = "With targets, REPLICA_TABLE/REPLICA_REGION must not be set (the function refuses both)."
  }

  assert {
    condition     = output.replica_targets.au.role_arn == "arn:aws:iam::222222222222:role/logfile_replica-replica-writer" && output.replica_targets.eu.region == "eu-west-1" && length(output.replica_targets) == 3
    error_message = "The replica_targets output must describe every target, for ddb-replica --targets-json."
  }
}

run "the_role_writes_its_accounts_tables_and_assumes_the_other_accounts_writer_role" {
  command = apply

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Resource if s.Sid == "WriteReplicaTable"] == [[
      "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica",
      "arn:aws:dynamodb:eu-west-1:123456789012:table/logfile_replica",
    ]]
    error_message = "The role writes the tables of its own account only (any region)."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s if s.Sid == "AssumeTargetWriterRoles"] == [{
      Sid      = "AssumeTargetWriterRoles"
      Effect   = "Allow"
      Action   = ["sts:AssumeRole"]
      Resource = ["arn:aws:iam::222222222222:role/logfile_replica-replica-writer"]
    }]
    error_message = "The role may assume the other account's writer role, and nothing else through STS."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s if s.Sid == "UseKeysViaDynamodb"] == [{
      Sid       = "UseKeysViaDynamodb"
      Effect    = "Allow"
      Action    = ["kms:Decrypt"]
      Resource  = ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
      Condition = { StringEquals = { "kms:ViaService" = ["dynamodb.eu-west-1.amazonaws.com"] } }
    }]
    error_message = "The key of the target in this account is usable through DynamoDB in its region; the other account's key is its writer role's."
  }
}

run "only_targets_without_the_modules_replica" {
  command = apply

  variables {
    create_replica_table = false
  }

  assert {
    condition     = module.replica_table.table == null && keys(jsondecode(aws_lambda_function.this[0].environment[0].variables.REPLICA_TARGETS)) == ["au", "eu"]
    error_message = "create_replica_table = false: no replica table here, the function writes the targets only."
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Resource if s.Sid == "WriteReplicaTable"] == [["arn:aws:dynamodb:eu-west-1:123456789012:table/logfile_replica"]]
    error_message = "Without the module's replica the role writes the eu target only."
  }
}

run "rejects_two_targets_with_one_name" {
  command = plan

  variables {
    replica_targets = [
      { name = "eu", table_name = "a", table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/a" },
      { name = "eu", table_name = "b", table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/b" },
    ]
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_a_target_named_like_the_modules_replica" {
  command = plan

  variables {
    replica_targets = [
      { name = "logfile_replica", table_name = "logfile_replica", table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/logfile_replica" },
    ]
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_one_table_configured_twice" {
  command = plan

  variables {
    replica_targets = [
      { name = "again", table_name = "logfile_replica", table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica" },
    ]
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_the_source_as_a_target" {
  command = plan

  variables {
    replica_targets = [
      { name = "loop", table_name = "logfile", table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile" },
    ]
  }

  expect_failures = [aws_lambda_function.this]
}

run "accepts_the_sources_name_in_another_region" {
  command = apply

  variables {
    replica_targets = [
      { name = "eu", table_name = "logfile", table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/logfile" },
    ]
  }

  assert {
    condition     = jsondecode(aws_lambda_function.this[0].environment[0].variables.REPLICA_TARGETS).eu.region == "eu-west-1"
    error_message = "A table with the source's name in another region is a target like any other."
  }
}

run "rejects_no_target_at_all" {
  command = plan

  variables {
    create_replica_table = false
    replica_targets      = []
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_a_role_that_is_not_a_role_arn" {
  command = plan

  variables {
    replica_targets = [
      { name = "au", table_name = "t", table_arn = "arn:aws:dynamodb:ap-southeast-2:222222222222:table/t", role_arn = "writer" },
    ]
  }

  expect_failures = [var.replica_targets]
}

run "only_targets_in_other_accounts_need_no_table_statement" {
  command = apply

  variables {
    create_replica_table = false
    replica_targets = [
      {
        name        = "au"
        table_name  = "logfile_replica"
        table_arn   = "arn:aws:dynamodb:ap-southeast-2:222222222222:table/logfile_replica"
        role_arn    = "arn:aws:iam::222222222222:role/logfile_replica-ap-southeast-2-writer"
        external_id = "lab-42"
      },
    ]
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Sid if startswith(s.Sid, "WriteReplica") || startswith(s.Sid, "Assume")] == ["AssumeTargetWriterRoles"]
    error_message = "No table of this account to write: no WriteReplicaTable statement (IAM refuses one without resources), only the AssumeRole."
  }
}

run "rejects_a_table_arn_of_another_table" {
  command = plan

  variables {
    replica_targets = [
      { name = "eu", table_name = "logfile_replica", table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/other" },
    ]
  }

  expect_failures = [var.replica_targets]
}

run "rejects_an_external_id_without_a_role" {
  command = plan

  variables {
    replica_targets = [
      { name = "eu", table_name = "logfile_replica", table_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/logfile_replica", external_id = "x1" },
    ]
  }

  expect_failures = [var.replica_targets]
}
