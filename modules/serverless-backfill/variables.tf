################################################################################
# REQUIRED
################################################################################

variable "name" {
  description = "Prefix of every resource's name: `<name>-backfill` (function, state machine), `<name>-backfill-checkpoints` (table), `<name>-backfill-<region>`/`-states-<region>` (roles)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of a-z, A-Z, 0-9, '_' and '-' (it prefixes Lambda, Step Functions and IAM names)."
  }
}

variable "source_table_arn" {
  description = "ARN of the table to backfill from: the function scans it and reads its keys again."
  type        = string

  validation {
    condition     = !var.create || can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[a-zA-Z0-9_.-]{3,255}$", var.source_table_arn))
    error_message = "source_table_arn must be a DynamoDB table ARN: arn:aws:dynamodb:<region>:<account>:table/<name> (any value, or null, with create = false)."
  }
}

variable "targets" {
  description = "The replicas a run may copy to (`ddb-replica backfill --serverless --target NAME`), as the replication module describes them: `name`, `table_name`, `table_arn`, and for a target in another account the writer `role_arn` (the module's role must be in that replica-target's `operator_role_arns`) and `external_id`; `kms_key_arn` of a table in this account that has a customer managed key."
  type = list(object({
    name        = string
    table_name  = string
    table_arn   = string
    role_arn    = optional(string)
    external_id = optional(string)
    kms_key_arn = optional(string)
  }))

  validation {
    condition     = !var.create || (length(var.targets) > 0 && alltrue([for t in var.targets : can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/", t.table_arn))]))
    error_message = "targets: give at least one target, each with the table_arn of a DynamoDB table (arn:aws:dynamodb:<region>:<account>:table/<name>)."
  }
}

variable "package_path" {
  description = "Path of the backfill function's zip (`ddb_replica` package and the handler's modules; built by `make build` into `dist/ddb_replica_backfill.zip`)."
  type        = string
}

################################################################################
# OPTIONAL
################################################################################

variable "create" {
  description = "Create the resources. false: none (the outputs are null)."
  type        = bool
  default     = true
}

variable "source_kms_key_arn" {
  description = "The source table's customer managed key (null: AWS owned key): the function may decrypt with it through DynamoDB."
  type        = string
  default     = null
}

variable "max_concurrency" {
  description = "Segments copied at the same time (the Map state's MaxConcurrency). A run's `--max-wcu` is split evenly between them; Lambda's account concurrency and the replica's capacity bound it too."
  type        = number
  default     = 8

  validation {
    condition     = var.max_concurrency >= 1 && var.max_concurrency <= 40 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "max_concurrency must be a whole number from 1 to 40 (an inline Map state runs at most 40 iterations at once)."
  }
}

variable "retry_attempts" {
  description = "Retries of a segment's invocation that failed (throttled past its own retries, a timeout, a Lambda error) before the segment is reported failed; a rerun with `--resume` continues it from its checkpoint."
  type        = number
  default     = 3

  validation {
    condition     = var.retry_attempts >= 0 && var.retry_attempts <= 10 && floor(var.retry_attempts) == var.retry_attempts
    error_message = "retry_attempts must be a whole number from 0 to 10."
  }
}

variable "lambda_runtime" {
  description = "Python runtime of the backfill function."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.(1[2-9]|[2-9][0-9])$", var.lambda_runtime))
    error_message = "lambda_runtime must be python3.12 or later (the code uses Python 3.12 syntax)."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the backfill function: x86_64 or arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "lambda_timeout" {
  description = "Seconds one invocation may run. It starts no chunk in its last 120 s (a third of a shorter timeout), then hands the segment on to the next invocation."
  type        = number
  default     = 900

  validation {
    condition     = var.lambda_timeout >= 30 && var.lambda_timeout <= 900
    error_message = "lambda_timeout must be from 30 to 900 seconds (Lambda's maximum)."
  }
}

variable "lambda_memory_size" {
  description = "Memory of the backfill function in MB (Lambda gives CPU in proportion: the copy compares and encodes items)."
  type        = number
  default     = 1024

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "lambda_memory_size must be from 128 to 10240 MB."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of a permissions boundary for both roles (function, state machine)."
  type        = string
  default     = null
}

variable "cloudwatch_logs_retention_in_days" {
  description = "Days the function's and the state machine's logs are kept."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cloudwatch_logs_retention_in_days)
    error_message = "cloudwatch_logs_retention_in_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "cloudwatch_logs_kms_key_arn" {
  description = "Customer managed key of both log groups (null: CloudWatch Logs' own encryption). Its key policy must let CloudWatch Logs use it."
  type        = string
  default     = null
}

variable "checkpoint_table_kms_key_arn" {
  description = "Customer managed key of the checkpoint table (null: AWS owned key)."
  type        = string
  default     = null
}

variable "tracing_enabled" {
  description = "X-Ray tracing of the state machine and the function."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
