################################################################################
# REQUIRED
################################################################################

variable "name" {
  description = "Name of the target in the function's log lines, metrics and the `ddb-replica --target` flag, e.g. `eu` or `analytics`. Unique among the replication module's targets."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters of a-z, A-Z, 0-9, '_', '-' and '.'."
  }
}

variable "table_name" {
  description = "Name of the replica table created in this module's provider's region and account."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.' (DynamoDB table name rules)."
  }
}

variable "hash_key" {
  description = "Partition key of the replica: the source table's (`name`, `type` S, N or B)."
  type = object({
    name = string
    type = optional(string, "S")
  })
}

################################################################################
# OPTIONAL: table
################################################################################

variable "create" {
  description = "Whether to create anything at all (`target` output null when false)."
  type        = bool
  default     = true
  nullable    = false
}

variable "range_key" {
  description = "Sort key of the replica: the source table's, if it has one."
  type = object({
    name = string
    type = optional(string, "S")
  })
  default = null
}

variable "billing_mode" {
  description = "`PAY_PER_REQUEST` (default) or `PROVISIONED` (with `read_capacity` and `write_capacity`): the replica's own, whatever the source's."
  type        = string
  default     = "PAY_PER_REQUEST"
  nullable    = false
}

variable "read_capacity" {
  description = "Read capacity units with `PROVISIONED` billing."
  type        = number
  default     = null
}

variable "write_capacity" {
  description = "Write capacity units with `PROVISIONED` billing: enough for the source's write rate (a throttled target holds back every target of the stream)."
  type        = number
  default     = null
}

variable "global_secondary_indexes" {
  description = "The replica's own global secondary indexes (see the dynamodb-table module's variable of that name)."
  type = list(object({
    name = string
    hash_key = object({
      name = string
      type = optional(string, "S")
    })
    range_key = optional(object({
      name = string
      type = optional(string, "S")
    }))
    projection_type    = optional(string, "ALL")
    non_key_attributes = optional(list(string))
    read_capacity      = optional(number)
    write_capacity     = optional(number)
  }))
  default  = []
  nullable = false
}

variable "point_in_time_recovery_enabled" {
  description = "Whether point-in-time recovery is on for the replica table."
  type        = bool
  default     = true
  nullable    = false
}

variable "deletion_protection_enabled" {
  description = "Whether the replica table refuses DeleteTable."
  type        = bool
  default     = false
  nullable    = false
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key in this region (a key lives in the region of what it encrypts); `null` (default): the AWS owned key. The writer role may use it through DynamoDB only."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "tags" {
  description = "Tags of everything this module creates."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# OPTIONAL: writer role (the replicator in another account)
################################################################################

variable "create_writer_role" {
  description = "Whether to create a writer role for a replicator in another account (set `replicator_role_arn`). Leave false when the replicator is in this account: its own role then writes the table."
  type        = bool
  default     = false
  nullable    = false
}

variable "replicator_role_arn" {
  description = "ARN of the replicator's function role (the replication module's `lambda_role_arn` output): the only principal the writer role trusts, with `operator_role_arns`."
  type        = string
  default     = null

  validation {
    condition     = var.replicator_role_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.replicator_role_arn))
    error_message = "replicator_role_arn must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)."
  }
}

variable "operator_role_arns" {
  description = "ARNs of other roles (in the replicator's account) that may assume the writer role: who runs `ddb-replica backfill|verify --replica-role-arn`. Empty by default: only the function."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.operator_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "operator_role_arns must be IAM role ARNs."
  }
}

variable "external_id" {
  description = "External ID the writer role requires (sts:ExternalId); the function sends it. `null` (default): none."
  type        = string
  default     = null

  validation {
    condition     = var.external_id == null ? true : can(regex("^[\\w+=,.@:/-]+$", var.external_id)) && length(var.external_id) >= 2 && length(var.external_id) <= 1224
    error_message = "external_id must be 2-1224 characters of letters, digits and +=,.@:/-."
  }
}

variable "writer_role_name" {
  description = "Name of the writer role; default `<table_name>-<region>-writer` (IAM names are global to the account), cut to 64 characters."
  type        = string
  default     = null
}

variable "writer_role_permissions_boundary" {
  description = "ARN of a permissions boundary for the writer role."
  type        = string
  default     = null
}

variable "writer_role_allow_verify" {
  description = "Whether the writer role may also read the replica table (DescribeTable, Scan, BatchGetItem) for `ddb-replica backfill|verify --replica-role-arn`. `null` (default): only when `operator_role_arns` names someone to run them; the function itself never reads, so without operators the role only writes."
  type        = bool
  default     = null
}
