variable "source_region" {
  description = "Region of the source table and the function."
  type        = string
  default     = "us-east-1"
}

variable "eu_region" {
  description = "Region of the replica in the source's account."
  type        = string
  default     = "eu-west-1"
}

variable "replica_account_region" {
  description = "Region of the replica in the second account."
  type        = string
  default     = "ap-southeast-2"
}

variable "source_profile" {
  description = "AWS credentials profile of the source account (null: the default credential chain)."
  type        = string
  default     = null
}

variable "replica_account_profile" {
  description = "AWS credentials profile of the second account (null: the source's credentials, or `replica_account_role_arn`)."
  type        = string
  default     = null
}

variable "replica_account_role_arn" {
  description = "A role in the second account for Terraform to assume (e.g. `arn:aws:iam::<account>:role/OrganizationAccountAccessRole`); null: the profile's own credentials."
  type        = string
  default     = null
}

variable "operator_role_arns" {
  description = "Roles of the source account that may run `ddb-replica backfill|verify` through the second account's writer role."
  type        = list(string)
  default     = []
}

variable "create_operator_role" {
  description = "Create a role for `ddb-replica` in the source account, with the replication module's `operator_policy_json`, assumable by that account's principals that IAM lets assume it; trusted by the second account's writer role."
  type        = bool
  default     = false
}

variable "external_id" {
  description = "External ID the second account's writer role requires of the function."
  type        = string
  default     = "ddb-replica-multi-region"
}

variable "source_table_name" {
  description = "Name of the source table."
  type        = string
  default     = "logfile"
}

variable "replica_table_name" {
  description = "Name of both replica tables (one per region and account)."
  type        = string
  default     = "logfile_replica"
}

variable "lambda_package_path" {
  description = "Path of the function's zip (default: the repository's dist/ddbreplica_lambda.zip, built by `make build`)."
  type        = string
  default     = null
}
