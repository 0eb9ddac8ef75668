variable "region" {
  description = "AWS region to deploy the lab into (the lab itself does not require a particular one)."
  type        = string
  default     = "us-east-1"
}

variable "source_table_name" {
  description = "Name of the lab's source table."
  type        = string
  default     = "logfile"
}

variable "create_source_table" {
  description = "Whether Terraform creates the source table (default). `false` uses an existing `source_table_name` whose stream is already on with new images, as in the lab, where `logfile` held rows before `update-table --stream-specification`; run `ddb-replica backfill` afterwards for the rows that predate the stream."
  type        = bool
  default     = true
}

variable "replica_table_name" {
  description = "Name of the lab's replica table."
  type        = string
  default     = "logfile_replica"
}

variable "lambda_function_name" {
  description = "Name of the lab's replication function."
  type        = string
  default     = "ddbreplica_lambda"
}

variable "create_cloudwatch_log_group" {
  description = "Whether to create the function's log group. Set false if `/aws/lambda/<lambda_function_name>` exists already: Lambda creates it on the first invocation, so it does after the console version of the lab."
  type        = bool
  default     = true
  nullable    = false
}

variable "lambda_runtime" {
  description = "Python runtime of the function (python3.12 or newer)."
  type        = string
  default     = "python3.12"
}

variable "lambda_package_path" {
  description = "Path of the function's zip. Default: `dist/ddbreplica_lambda.zip` at the repository root, written by `make build`."
  type        = string
  default     = null
}
