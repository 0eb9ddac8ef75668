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
