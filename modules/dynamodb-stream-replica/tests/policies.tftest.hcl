# Every statement the function's role can have, rendered in a few runs: `make lint` lints these documents with
# parliament (tools/policy_lint.py), and the asserts below hold for every one of them. Between them, the runs
# render each statement of iam.tf: the log group (created or not), the stream, the tables of this account in two
# regions, a writer role in another account, each on-failure destination (SQS, SNS, S3), the customer managed
# keys of each, and X-Ray.

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
      arn = "arn:aws:iam::123456789012:role/logfile_replica-replicator-us-east-1"
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

  mock_resource "aws_lambda_event_source_mapping" {
    defaults = {
      arn  = "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:6a1c0a43-0000-4000-8000-000000000001"
      uuid = "6a1c0a43-0000-4000-8000-000000000001"
    }
  }

  # One ARN for every alarm (a mocked default cannot depend on the instance): the operator policy lists it once.
  mock_resource "aws_cloudwatch_metric_alarm" {
    defaults = {
      arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:logfile_replica-replicator-errors"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:logfile_replica-replicator-dlq"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/logfile_replica-replicator-dlq"
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile"
      stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile/stream/2026-01-01T00:00:00.000"
    }
  }
}

variables {
  source_table_name   = "logfile"
  replica_table_name  = "logfile_replica"
  hash_key            = { name = "PK" }
  lambda_package_path = "tests/fixtures/ddbreplica_lambda.zip"
}

run "the_workshop_defaults" {
  command = apply

  # The replica's own ARN (the mocked default is the source's); in the run, so that no other file inherits it.
  override_resource {
    target = module.replica_table.aws_dynamodb_table.this
    values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica" }
  }

  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Effect == "Allow" && can(s.Sid)])
    error_message = "Every statement allows, and has a Sid (the least-privilege test and the lint name statements by it)."
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Sid if contains(s.Resource, "*")] == ["ListStreams"]
    error_message = "Only dynamodb:ListStreams, which has no resource type, is granted on *."
  }

  assert {
    condition     = [for s in jsondecode(output.operator_policy_json).Statement : [s.Sid, s.Resource] if !contains(["ReadMappingStatus", "ReadFunctionLogLines", "ReadReplicationMetrics", "ReadAlarmStates", "ReadOnFailureQueueDepth", "RedriveFailedBatchMessages", "ReadSourceStreamRecords"], s.Sid)] == [["ReadSourceTable", ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile"]], ["ReadAndRepairTargets", ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica"]]]
    error_message = "ddb-replica's policy for the workshop: read the source, read and repair the replica."
  }

  assert {
    condition = { for s in jsondecode(output.operator_policy_json).Statement : s.Sid => [s.Action, s.Resource] if contains(["ReadMappingStatus", "ReadFunctionLogLines", "ReadReplicationMetrics", "ReadAlarmStates", "ReadOnFailureQueueDepth", "RedriveFailedBatchMessages", "ReadSourceStreamRecords"], s.Sid) } == {
      ReadMappingStatus          = [["lambda:GetEventSourceMapping"], ["arn:aws:lambda:us-east-1:123456789012:event-source-mapping:6a1c0a43-0000-4000-8000-000000000001"]]
      ReadFunctionLogLines       = [["logs:FilterLogEvents"], ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/logfile_replica-replicator:*"]]
      ReadReplicationMetrics     = [["cloudwatch:GetMetricStatistics", "lambda:ListEventSourceMappings"], ["*"]]
      ReadAlarmStates            = [["cloudwatch:DescribeAlarms"], ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:logfile_replica-replicator-errors"]]
      ReadOnFailureQueueDepth    = [["sqs:GetQueueAttributes"], ["arn:aws:sqs:us-east-1:123456789012:logfile_replica-replicator-dlq"]]
      RedriveFailedBatchMessages = [["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"], ["arn:aws:sqs:us-east-1:123456789012:logfile_replica-replicator-dlq"]]
      ReadSourceStreamRecords    = [["dynamodb:GetRecords", "dynamodb:GetShardIterator"], ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile/stream/*"]]
    }
    error_message = "ddb-replica status reads this mapping, this function's log group, these alarms and this queue; redrive the queue's messages and the source's streams; only the two actions without resource types on *."
  }
}

run "every_key_tracing_and_an_existing_log_group" {
  command = apply

  # The replica's own ARN (the mocked default is the source's); in the run, so that no other file inherits it.
  override_resource {
    target = module.replica_table.aws_dynamodb_table.this
    values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica" }
  }

  variables {
    source_table_kms_key_arn    = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    replica_table_kms_key_arn   = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222"
    on_failure_destination      = { kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/33333333-3333-3333-3333-333333333333" }
    create_cloudwatch_log_group = false
    lambda_tracing_mode         = "Active"
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Sid if contains(s.Resource, "*")] == ["ListStreams", "WriteXRayTraces"]
    error_message = "Only ListStreams and X-Ray (no resource types) are granted on *."
  }

  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : can(s.Condition.StringEquals["kms:ViaService"]) if startswith(s.Sid, "UseKeysVia")])
    error_message = "Every key is usable through its service only."
  }

  assert {
    condition     = [for s in jsondecode(output.operator_policy_json).Statement : [s.Resource, s.Condition.StringEquals["kms:ViaService"]] if s.Sid == "DecryptFailedBatches"] == [[["arn:aws:kms:us-east-1:123456789012:key/33333333-3333-3333-3333-333333333333"], ["sqs.us-east-1.amazonaws.com"]]]
    error_message = "ddb-replica redrive decrypts the queue's messages with its key, through SQS only."
  }
}

run "targets_in_another_region_and_another_account" {
  command = apply

  variables {
    create_replica_table = false
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
        role_arn    = "arn:aws:iam::222222222222:role/logfile_replica-ap-southeast-2-writer"
        external_id = "lab-42"
      },
    ]
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Sid => s.Resource if contains(["WriteReplicaTable", "AssumeTargetWriterRoles"], s.Sid) } == {
      WriteReplicaTable       = ["arn:aws:dynamodb:eu-west-1:123456789012:table/logfile_replica"]
      AssumeTargetWriterRoles = ["arn:aws:iam::222222222222:role/logfile_replica-ap-southeast-2-writer"]
    }
    error_message = "The role writes its own account's target and assumes the other account's writer role, nothing else."
  }

  assert {
    condition = { for s in jsondecode(output.operator_policy_json).Statement : s.Sid => s.Resource if !contains(["ReadMappingStatus", "ReadFunctionLogLines", "ReadReplicationMetrics", "ReadAlarmStates", "ReadOnFailureQueueDepth", "RedriveFailedBatchMessages", "ReadSourceStreamRecords"], s.Sid) } == {
      ReadSourceTable         = ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile"]
      ReadAndRepairTargets    = ["arn:aws:dynamodb:eu-west-1:123456789012:table/logfile_replica"]
      AssumeTargetWriterRoles = ["arn:aws:iam::222222222222:role/logfile_replica-ap-southeast-2-writer"]
      UseTableKeysViaDynamodb = ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
    }
    error_message = "ddb-replica's policy: read the source, read and repair this account's targets, assume the others' writer roles, their keys through DynamoDB."
  }
}

run "an_sns_destination" {
  command = apply

  # The replica's own ARN (the mocked default is the source's); in the run, so that no other file inherits it.
  override_resource {
    target = module.replica_table.aws_dynamodb_table.this
    values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica" }
  }

  variables {
    on_failure_destination = {
      create_queue = false
      arn          = "arn:aws:sns:us-east-1:123456789012:replication-failures"
      kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/55555555-5555-5555-5555-555555555555"
    }
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Action if s.Sid == "SendFailedBatchMetadata"] == [["sns:Publish"]]
    error_message = "An SNS destination: sns:Publish only."
  }

  assert {
    condition     = [for s in jsondecode(output.operator_policy_json).Statement : s.Sid if length(regexall("FailedBatch|OnFailure", s.Sid)) > 0] == []
    error_message = "ddb-replica cannot read an SNS topic's failed batches back: no statement for them."
  }
}

run "an_s3_destination_with_its_key" {
  command = apply

  # The replica's own ARN (the mocked default is the source's); in the run, so that no other file inherits it.
  override_resource {
    target = module.replica_table.aws_dynamodb_table.this
    values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica" }
  }

  variables {
    on_failure_destination = {
      create_queue = false
      arn          = "arn:aws:s3:::replication-failures"
      kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/44444444-4444-4444-4444-444444444444"
    }
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.lambda[0].policy).Statement : s.Sid if startswith(s.Sid, "ListFailed") || startswith(s.Sid, "WriteFailed")] == ["ListFailedBatchBucket", "WriteFailedBatchObjects"]
    error_message = "An S3 destination: list the bucket, put its objects."
  }

  assert {
    condition     = [for s in jsondecode(output.operator_policy_json).Statement : [s.Sid, s.Action, s.Resource] if length(regexall("FailedBatch|OnFailure", s.Sid)) > 0] == [["ListFailedBatchObjects", ["s3:ListBucket"], ["arn:aws:s3:::replication-failures"]], ["RedriveFailedBatchObjects", ["s3:DeleteObject", "s3:GetObject"], ["arn:aws:s3:::replication-failures/aws/lambda/6a1c0a43-0000-4000-8000-000000000001/*"]], ["DecryptFailedBatches", ["kms:Decrypt"], ["arn:aws:kms:us-east-1:123456789012:key/44444444-4444-4444-4444-444444444444"]]]
    error_message = "ddb-replica redrive lists, reads and deletes this mapping's objects only, and decrypts them."
  }

  assert {
    condition     = [for s in jsondecode(output.operator_policy_json).Statement : s.Condition.StringLike["s3:prefix"] if s.Sid == "ListFailedBatchObjects"] == [["aws/lambda/6a1c0a43-0000-4000-8000-000000000001/*"]]
    error_message = "The bucket is listed under this mapping's prefix only."
  }

  assert {
    condition     = [for s in jsondecode(output.operator_policy_json).Statement : s.Condition.StringEquals["kms:ViaService"] if s.Sid == "DecryptFailedBatches"] == [["s3.us-east-1.amazonaws.com"]]
    error_message = "The bucket's key is usable through S3 only."
  }
}

run "serverless_backfill" {
  command = apply

  override_resource {
    target = module.replica_table.aws_dynamodb_table.this
    values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica" }
  }

  override_resource {
    target = module.serverless_backfill.module.checkpoint_table.aws_dynamodb_table.this
    values = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica-backfill-checkpoints" }
  }

  override_resource {
    target = module.serverless_backfill.aws_sfn_state_machine.this
    values = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:logfile_replica-backfill" }
  }

  variables {
    backfill_mode            = "serverless"
    backfill_package_path    = "tests/fixtures/ddbreplica_lambda.zip"
    backfill_max_concurrency = 4
  }

  assert {
    condition = [for s in jsondecode(output.operator_policy_json).Statement : [s.Sid, s.Action, s.Resource] if !contains(["ReadMappingStatus", "ReadFunctionLogLines", "ReadReplicationMetrics", "ReadAlarmStates", "ReadOnFailureQueueDepth", "RedriveFailedBatchMessages", "ReadSourceStreamRecords"], s.Sid)] == [
      ["ReadSourceTable", ["dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:Scan"], ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile"]],
      ["ReadAndRepairTargets", ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:PutItem", "dynamodb:Scan"], ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica"]],
      ["RunServerlessBackfill", ["states:DescribeStateMachine", "states:ListExecutions", "states:StartExecution"], ["arn:aws:states:us-east-1:123456789012:stateMachine:logfile_replica-backfill"]],
      ["FollowServerlessBackfill", ["states:DescribeExecution", "states:StopExecution"], ["arn:aws:states:us-east-1:123456789012:execution:logfile_replica-backfill:*"]],
      ["KeepServerlessCheckpoints", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"], ["arn:aws:dynamodb:us-east-1:123456789012:table/logfile_replica-backfill-checkpoints"]],
    ]
    error_message = "With the serverless backfill, operators may also start, follow and stop its executions and keep its checkpoints: on its state machine and table only."
  }

  assert {
    condition = (
      output.backfill.state_machine_arn == output.backfill_state_machine_arn
      && output.backfill.checkpoint_table_name == "logfile_replica-backfill-checkpoints"
      && output.backfill.max_concurrency == 4
      && output.backfill_function_name == "logfile_replica-backfill"
    )
    error_message = "The backfill output names the state machine and the checkpoint table, for ddb-replica backfill --serverless."
  }
}

run "no_serverless_backfill_by_default" {
  command = plan

  assert {
    condition     = output.backfill == null && output.backfill_state_machine_arn == null && output.backfill_function_role_arn == null
    error_message = "backfill_mode defaults to local: nothing of the serverless backfill is created."
  }
}
