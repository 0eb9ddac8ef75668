variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every name in this example, so it can run next to the workshop example."
  type        = string
  default     = "ddbreplica-complete"
}

variable "lambda_package_path" {
  description = "Path of the function's zip. Default: `dist/ddbreplica_lambda.zip` at the repository root, written by `make build`."
  type        = string
  default     = null
}

variable "backfill_package_path" {
  description = "Path of the serverless backfill's zip. Default: `dist/ddb_replica_backfill.zip` at the repository root, written by `make build`."
  type        = string
  default     = null
}

variable "lambda_reserved_concurrent_executions" {
  description = "Reserved concurrency of the first replicator (-1: none). Reserving fails in accounts whose concurrency quota is still the new-account 10."
  type        = number
  default     = -1
}

variable "deletion_protection_enabled" {
  description = "Deletion protection of the tables the modules create (true makes `terraform destroy` fail until it is turned off)."
  type        = bool
  default     = false
}
