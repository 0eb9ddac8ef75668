# The replica table in the target's region and account, and the writer role a replicator in another account assumes.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "222222222222"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "ap-southeast-2"
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:ap-southeast-2:222222222222:table/logfile_replica"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::222222222222:role/logfile_replica-replica-writer"
    }
  }
}

variables {
  name       = "au"
  table_name = "logfile_replica"
  hash_key   = { name = "PK" }
}

run "same_account_target_is_a_table_only" {
  command = apply

  assert {
    condition     = length(aws_iam_role.writer) == 0 && output.target.role_arn == null && output.writer_role_arn == null
    error_message = "Without create_writer_role there is no role: the replicator's own role writes the table."
  }

  assert {
    condition = jsonencode(output.target) == jsonencode({
      name        = "au"
      table_name  = "logfile_replica"
      table_arn   = "arn:aws:dynamodb:ap-southeast-2:222222222222:table/logfile_replica"
      region      = "ap-southeast-2"
      account_id  = "222222222222"
      role_arn    = null
      external_id = null
      kms_key_arn = null
    })
    error_message = "The target output must describe the table for the replication module's replica_targets."
  }

  assert {
    condition     = module.table.table_name == "logfile_replica" && output.table_arn == "arn:aws:dynamodb:ap-southeast-2:222222222222:table/logfile_replica"
    error_message = "The table comes from the dynamodb-table module."
  }
}

run "writer_role_trusts_the_replicator_role_only_with_the_external_id" {
  command = apply

  variables {
    create_writer_role  = true
    replicator_role_arn = "arn:aws:iam::123456789012:role/ddbreplica_lambda-us-east-1"
    external_id         = "lab-42"
    kms_key_arn         = "arn:aws:kms:ap-southeast-2:222222222222:key/5678abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = jsondecode(aws_iam_role.writer[0].assume_role_policy).Statement == [{
      Sid       = "ReplicatorFunctionRole"
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { AWS = "arn:aws:iam::123456789012:root" }
      Condition = {
        ArnEquals    = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/ddbreplica_lambda-us-east-1"] }
        StringEquals = { "sts:ExternalId" = "lab-42" }
      }
    }]
    error_message = "The trust policy must name the replicator's account, narrowed to its role and the external ID."
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.writer[0].policy).Statement : s.Sid => [s.Action, s.Resource] } == {
      WriteReplicaTable      = [["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem"], ["arn:aws:dynamodb:ap-southeast-2:222222222222:table/logfile_replica"]]
      UseTableKeyViaDynamoDB = [["kms:Decrypt"], ["arn:aws:kms:ap-southeast-2:222222222222:key/5678abcd-12ab-34cd-56ef-1234567890ab"]]
    }
    error_message = "The writer role covers that table and its key only; no reads when only the function (which never reads) may assume it."
  }

  assert {
    condition     = aws_iam_role.writer[0].name == "logfile_replica-ap-southeast-2-writer"
    error_message = "The default role name names the region (IAM names are global to the account)."
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.writer[0].policy).Statement : s.Condition if s.Sid == "UseTableKeyViaDynamoDB"] == [{ StringEquals = { "kms:ViaService" = "dynamodb.ap-southeast-2.amazonaws.com" } }]
    error_message = "The key is usable through DynamoDB in its own region only."
  }

  assert {
    condition     = output.target.role_arn == "arn:aws:iam::222222222222:role/logfile_replica-replica-writer" && output.target.external_id == "lab-42"
    error_message = "The target output carries the role and the external ID the function must use."
  }
}

run "operators_may_read_for_verify_without_external_id" {
  command = apply

  variables {
    create_writer_role  = true
    replicator_role_arn = "arn:aws:iam::123456789012:role/ddbreplica_lambda-us-east-1"
    operator_role_arns  = ["arn:aws:iam::123456789012:role/operator"]
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.writer[0].policy).Statement : s.Sid => [s.Action, s.Resource] } == {
      WriteReplicaTable         = [["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem"], ["arn:aws:dynamodb:ap-southeast-2:222222222222:table/logfile_replica"]]
      ReadReplicaTableForVerify = [["dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:Scan"], ["arn:aws:dynamodb:ap-southeast-2:222222222222:table/logfile_replica"]]
    }
    error_message = "With operators the role may also read that table for ddb-replica backfill|verify."
  }

  assert {
    condition     = jsondecode(aws_iam_role.writer[0].assume_role_policy).Statement[0].Condition == { ArnEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/ddbreplica_lambda-us-east-1", "arn:aws:iam::123456789012:role/operator"] } }
    error_message = "Operators are trusted next to the function's role; no external ID condition without one."
  }
}

run "rejects_a_writer_role_without_a_replicator" {
  command = plan

  variables {
    create_writer_role = true
  }

  expect_failures = [aws_iam_role.writer]
}

run "reads_can_be_turned_off_for_operators" {
  command = apply

  variables {
    create_writer_role       = true
    replicator_role_arn      = "arn:aws:iam::123456789012:role/ddbreplica_lambda-us-east-1"
    operator_role_arns       = ["arn:aws:iam::123456789012:role/operator"]
    writer_role_allow_verify = false
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.writer[0].policy).Statement : s.Sid] == ["WriteReplicaTable"]
    error_message = "writer_role_allow_verify = false leaves the writes only."
  }
}
