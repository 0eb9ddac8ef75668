locals {
  # Input: {"run": "<id>", "segments": [0, 1, ...]} (ddb-replica backfill --serverless; the segments not done).
  # Each segment loops: invoke the function, which works from the segment's checkpoint until done or its time is
  # nearly up, until it answers done. A failure is retried, then reported in the segment's result (its checkpoint
  # is in the table), and the other segments go on: the execution succeeds with a list of per-segment results.
  # Inline map: every event in the execution's history (at most 25,000), about 7 per invocation and 4 per
  # segment; the CLI keeps runs to 1,000 segments.
  definition = {
    Comment = "Backfill of ${local.source_table_name}: one iteration per scan segment (ddb-replica backfill --serverless)."
    StartAt = "Segments"
    States = {
      Segments = {
        Type           = "Map"
        ItemsPath      = "$.segments"
        MaxConcurrency = var.max_concurrency
        # The execution's name: the function stops when the run's manifest names another (stopped, resumed).
        ItemSelector = {
          "run.$"       = "$.run"
          "segment.$"   = "$$.Map.Item.Value"
          "execution.$" = "$$.Execution.Name"
        }
        ItemProcessor = {
          ProcessorConfig = { Mode = "INLINE" }
          StartAt         = "Copy"
          States = {
            Copy = {
              Type     = "Task"
              Resource = "arn:${local.partition}:states:::lambda:invoke"
              Parameters = {
                FunctionName = try(aws_lambda_function.this[0].arn, "")
                "Payload.$"  = "$"
              }
              OutputPath = "$.Payload"
              Retry = [
                {
                  # The run's own faults (a target the function does not know, too many keys the replica refuses,
                  # a lease taken over): another attempt would fail the same way.
                  ErrorEquals = ["OpsError", "TooManyRefusedError", "LeaseLostError"]
                  MaxAttempts = 0
                },
                {
                  # An invocation of a stopped execution still holds the segment past the function's own wait (a
                  # run stopped from the console: its invocations go on until a resumed run takes the manifest).
                  ErrorEquals     = ["SegmentBusyError"]
                  IntervalSeconds = 15
                  BackoffRate     = 1
                  MaxAttempts     = ceil(var.lambda_timeout / 15) + 2
                },
                {
                  # Lambda's own transient errors and throttling (account concurrency): AWS's advice for lambda:invoke.
                  ErrorEquals     = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"]
                  IntervalSeconds = 2
                  BackoffRate     = 2
                  MaxAttempts     = 8
                },
                {
                  ErrorEquals     = ["States.ALL"]
                  IntervalSeconds = 2
                  BackoffRate     = 2
                  MaxAttempts     = var.retry_attempts
                },
              ]
              Catch = [
                {
                  ErrorEquals = ["States.ALL"]
                  ResultPath  = "$.error"
                  Next        = "SegmentFailed"
                },
              ]
              Next = "SegmentDone"
            }
            SegmentDone = {
              Type = "Choice"
              Choices = [
                {
                  Variable      = "$.done"
                  BooleanEquals = true
                  Next          = "Finished"
                },
                {
                  # The run belongs to another execution (resumed) or to none (stopped): this one ends here.
                  # (IsPresent first: an answer without the field must not fail the whole execution.)
                  And = [
                    { Variable = "$.handed_over", IsPresent = true },
                    { Variable = "$.handed_over", BooleanEquals = true },
                  ]
                  Next = "HandedOver"
                },
              ]
              Default = "Copy"
            }
            Finished   = { Type = "Succeed" }
            HandedOver = { Type = "Succeed" }
            # The segment's result carries the error: {"run", "segment", "error": {"Error", "Cause"}}.
            SegmentFailed = { Type = "Pass", End = true }
          }
        }
        End = true
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "states" {
  count = local.create ? 1 : 0

  # checkov:skip=CKV_AWS_338: retention is a variable (30 days by default): operational logs; the checkpoints hold the run's state.
  name              = local.states_log_group
  retention_in_days = var.cloudwatch_logs_retention_in_days
  kms_key_id        = var.cloudwatch_logs_kms_key_arn

  tags = var.tags
}

resource "aws_sfn_state_machine" "this" {
  count = local.create ? 1 : 0

  # checkov:skip=CKV_AWS_284: X-Ray is optional (tracing_enabled); off by default.
  name       = local.state_machine_name
  role_arn   = aws_iam_role.states[0].arn
  definition = jsonencode(local.definition)
  type       = "STANDARD" # a run lasts hours; Express workflows stop after 5 minutes

  # Failed steps and their errors, with their data: a segment's number, its counts and the error (never items).
  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.states[0].arn}:*"
    include_execution_data = true
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = var.tracing_enabled
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.states]
}
