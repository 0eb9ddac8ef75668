# The serverless backfill's resources with a mocked provider: the state machine's definition (a map over the
# segments, each looping on the function until done), both roles' policies (rendered for every statement they
# can have; `make lint` lints them with parliament, tools/policy_lint.py), the names, and the bad inputs.

mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/logfile_replica-backfill-us-east-1"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:us-east-1:123456789012:function:logfile_replica-backfill"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/logfile_replica-backfill"
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica-backfill-checkpoints"
    }
  }

  mock_resource "aws_sfn_state_machine" {
    defaults = {
      arn = "arn:aws:states:us-east-1:123456789012:stateMachine:logfile_replica-backfill"
    }
  }
}

variables {
  name             = "logfile_replica"
  source_table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile"
  package_path     = "tests/fixtures/ddb_replica_backfill.zip"
  targets = [{
    name       = "logfile_replica"
    table_name = "logfile_replica"
    table_arn  = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica"
  }]
}

run "one_target_in_this_account" {
  command = apply

  assert {
    condition = (
      aws_lambda_function.this[0].handler == "ddb_replica.backfill_function.lambda_handler"
      && aws_lambda_function.this[0].timeout == 900
      && aws_lambda_function.this[0].environment[0].variables.CHECKPOINT_TABLE == "logfile_replica-backfill-checkpoints"
      && aws_lambda_function.this[0].environment[0].variables.SOURCE_TABLE_ARN == var.source_table_arn
      && aws_lambda_function.this[0].environment[0].variables.MAX_CONCURRENCY == "8"
      && jsondecode(aws_lambda_function.this[0].environment[0].variables.REPLICA_TARGETS) == {
        logfile_replica = { table_name = "logfile_replica", region = "us-east-1", role_arn = null, external_id = null }
      }
    )
    error_message = "The function runs ddb_replica.backfill_function with its checkpoint table, its source, its one target (the replication function's JSON) and the map's concurrency."
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.Type == "Map"
      && jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.MaxConcurrency == 8
      && jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.ItemsPath == "$.segments"
      && jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.ItemProcessor.States.Copy.Parameters.FunctionName == aws_lambda_function.this[0].arn
      && jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.ItemProcessor.States.SegmentDone.Default == "Copy"
      && jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.ItemProcessor.States.SegmentDone.Choices[0].Next == "Finished"
      && jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.ItemProcessor.States.SegmentDone.Choices[1].Next == "HandedOver"
      && [for c in jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.ItemProcessor.States.SegmentDone.Choices[1].And : c.Variable] == ["$.handed_over", "$.handed_over"]
      && jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.ItemSelector["execution.$"] == "$$.Execution.Name"
      && [for r in jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.ItemProcessor.States.Copy.Retry : r.MaxAttempts] == [0, 62, 8, 3]
      && aws_sfn_state_machine.this[0].type == "STANDARD"
      && aws_sfn_state_machine.this[0].logging_configuration[0].level == "ERROR"
    )
    error_message = "The state machine maps over the run's segments, 8 at a time; each invokes the function until done (or the run is handed over to another execution), never retries the run's own faults, waits out a busy segment, retries Lambda's throttling 8 times and the rest 3 times."
  }

  assert {
    condition = (
      [for s in jsondecode(output.function_policy_json).Statement : s.Sid] == ["WriteOwnLogGroup", "ReadSourceTable", "KeepCheckpoints", "CopyToTargets"]
      && [for s in jsondecode(output.function_policy_json).Statement : s.Resource] == [
        ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/logfile_replica-backfill:*"],
        [var.source_table_arn],
        ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica-backfill-checkpoints"],
        ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica"],
      ]
      && jsondecode(output.function_policy_json).Statement[1].Action == ["dynamodb:BatchGetItem", "dynamodb:Scan"]
      && jsondecode(output.function_policy_json).Statement[3].Action == ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem"]
    )
    error_message = "The function may read the source, keep its checkpoints and copy to its target: nothing else, on those ARNs only."
  }

  assert {
    condition = (
      jsondecode(output.state_machine_policy_json).Statement[0].Resource == [aws_lambda_function.this[0].arn, "${aws_lambda_function.this[0].arn}:*"]
      && jsondecode(output.state_machine_policy_json).Statement[0].Action == ["lambda:InvokeFunction"]
      && length(jsondecode(output.state_machine_policy_json).Statement) == 2
      && jsondecode(aws_iam_role.states[0].assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    )
    error_message = "The state machine may invoke its function (and deliver its logs), as a role only Step Functions of this account assumes."
  }

  assert {
    condition = (
      aws_iam_role.function[0].name == "logfile_replica-backfill-us-east-1"
      && aws_iam_role.states[0].name == "logfile_replica-backfill-states-us-east-1"
      && output.checkpoint_table_name == "logfile_replica-backfill-checkpoints"
      && output.backfill.state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:logfile_replica-backfill"
      && output.backfill.max_concurrency == 8 && output.backfill.region == "us-east-1"
    )
    error_message = "Names carry the prefix (roles the region too); the backfill output gives the CLI what it needs."
  }
}

run "a_target_in_another_account_keys_and_tracing" {
  command = apply

  variables {
    max_concurrency              = 3
    retry_attempts               = 1
    lambda_timeout               = 60
    tracing_enabled              = true
    source_kms_key_arn           = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    checkpoint_table_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222"
    targets = [
      {
        name        = "logfile_replica"
        table_name  = "logfile_replica"
        table_arn   = "arn:aws:dynamodb:eu-west-1:123456789012:table/logfile_replica"
        kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/33333333-3333-3333-3333-333333333333"
      },
      {
        name        = "audit"
        table_name  = "logfile_audit"
        table_arn   = "arn:aws:dynamodb:ap-southeast-2:222222222222:table/logfile_audit"
        role_arn    = "arn:aws:iam::222222222222:role/logfile_audit-replica-writer"
        external_id = "shared"
        kms_key_arn = "arn:aws:kms:ap-southeast-2:222222222222:key/44444444-4444-4444-4444-444444444444"
      },
    ]
  }

  assert {
    condition = (
      [for s in jsondecode(output.function_policy_json).Statement : s.Sid] == ["WriteOwnLogGroup", "ReadSourceTable", "KeepCheckpoints", "CopyToTargets", "AssumeTargetWriterRoles", "UseTableKeysViaDynamodb", "WriteXRayTraces"]
      && jsondecode(output.function_policy_json).Statement[3].Resource == ["arn:aws:dynamodb:eu-west-1:123456789012:table/logfile_replica"]
      && jsondecode(output.function_policy_json).Statement[4].Resource == ["arn:aws:iam::222222222222:role/logfile_audit-replica-writer"]
      && length(jsondecode(output.function_policy_json).Statement[5].Resource) == 3
      && contains(jsondecode(output.function_policy_json).Statement[5].Resource, "arn:aws:kms:ap-southeast-2:222222222222:key/44444444-4444-4444-4444-444444444444") == false
      && jsondecode(output.function_policy_json).Statement[5].Condition.StringEquals["kms:ViaService"] == ["dynamodb.eu-west-1.amazonaws.com", "dynamodb.us-east-1.amazonaws.com"]
    )
    error_message = "A target in this account is written with the function's role, one in another account through its writer role (whose account grants its key); the keys of this account are used through DynamoDB only."
  }

  assert {
    condition = (
      jsondecode(aws_lambda_function.this[0].environment[0].variables.REPLICA_TARGETS).audit == {
        table_name = "logfile_audit", region = "ap-southeast-2", role_arn = "arn:aws:iam::222222222222:role/logfile_audit-replica-writer", external_id = "shared"
      }
      && jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.MaxConcurrency == 3
      && [for r in jsondecode(aws_sfn_state_machine.this[0].definition).States.Segments.ItemProcessor.States.Copy.Retry : r.MaxAttempts] == [0, 6, 8, 1]
      && aws_sfn_state_machine.this[0].tracing_configuration[0].enabled
      && aws_lambda_function.this[0].tracing_config[0].mode == "Active"
      && [for s in jsondecode(output.state_machine_policy_json).Statement : s.Sid] == ["InvokeBackfillFunction", "DeliverExecutionLogs", "WriteXRayTraces"]
    )
    error_message = "Each target's region and role reach the function; concurrency, retries and tracing follow the variables."
  }
}

run "create_false_creates_nothing" {
  command = plan

  variables {
    create           = false
    source_table_arn = null
    targets          = []
  }

  assert {
    condition     = length(aws_lambda_function.this) == 0 && length(aws_sfn_state_machine.this) == 0 && length(aws_iam_role.function) == 0 && output.backfill == null && output.function_policy_json == null
    error_message = "create = false: no resources, null outputs."
  }
}

run "a_missing_package_stops_the_plan" {
  command = plan

  variables {
    package_path = "tests/fixtures/missing.zip"
  }

  expect_failures = [aws_lambda_function.this]
}

run "bad_inputs_are_refused" {
  command = plan

  variables {
    name             = "a name with spaces"
    source_table_arn = "logfile"
    max_concurrency  = 41
    lambda_timeout   = 901
    targets          = []
  }

  expect_failures = [var.name, var.source_table_arn, var.max_concurrency, var.lambda_timeout, var.targets]
}
