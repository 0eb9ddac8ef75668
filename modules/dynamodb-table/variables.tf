variable "create" {
  description = "Whether to create the table."
  type        = bool
  default     = true
  nullable    = false
}

variable "name" {
  description = "Name of the table."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.name))
    error_message = "name must be 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.' (DynamoDB table name rules)."
  }
}

variable "hash_key" {
  description = "Partition key: `name` and `type` (`S`, `N` or `B`; default `S`). A replica needs its source's."
  type = object({
    name = string
    type = optional(string, "S")
  })

  validation {
    condition     = length(var.hash_key.name) > 0 && contains(["S", "N", "B"], var.hash_key.type)
    error_message = "hash_key needs a non-empty name and a type of S, N or B."
  }
}

variable "range_key" {
  description = "Sort key, if any; same shape as `hash_key`."
  type = object({
    name = string
    type = optional(string, "S")
  })
  default = null

  validation {
    condition     = var.range_key == null ? true : length(var.range_key.name) > 0 && contains(["S", "N", "B"], var.range_key.type)
    error_message = "range_key needs a non-empty name and a type of S, N or B."
  }
}

variable "billing_mode" {
  description = "`PAY_PER_REQUEST` (default) or `PROVISIONED` (then `read_capacity` and `write_capacity` are required)."
  type        = string
  default     = "PAY_PER_REQUEST"
  nullable    = false

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "read_capacity" {
  description = "Read capacity units with `PROVISIONED` billing (also the default of each index)."
  type        = number
  default     = null

  validation {
    condition     = var.read_capacity == null ? true : var.read_capacity >= 1
    error_message = "read_capacity must be at least 1."
  }
}

variable "write_capacity" {
  description = "Write capacity units with `PROVISIONED` billing (also the default of each index). A replica's must absorb the source's write rate, and a backfill's on top."
  type        = number
  default     = null

  validation {
    condition     = var.write_capacity == null ? true : var.write_capacity >= 1
    error_message = "write_capacity must be at least 1."
  }
}

variable "global_secondary_indexes" {
  description = "Global secondary indexes: `name`, `hash_key`, optional `range_key`, `projection_type` (`ALL` by default, `KEYS_ONLY`, `INCLUDE` with `non_key_attributes`) and, with `PROVISIONED` billing, optional capacities. A replica's may differ from its source's."
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

  validation {
    condition     = length(distinct([for i in var.global_secondary_indexes : i.name])) == length(var.global_secondary_indexes) && length(var.global_secondary_indexes) <= 20
    error_message = "global_secondary_indexes: index names must be unique, at most 20 indexes per table."
  }

  validation {
    condition = alltrue([for i in var.global_secondary_indexes : contains(["ALL", "KEYS_ONLY", "INCLUDE"], i.projection_type) && (
      i.projection_type == "INCLUDE" ? length(coalesce(i.non_key_attributes, [])) > 0 : i.non_key_attributes == null
    )])
    error_message = "global_secondary_indexes: projection_type must be ALL, KEYS_ONLY or INCLUDE; INCLUDE needs non_key_attributes, the others must not set them."
  }

  validation {
    condition = alltrue([for i in var.global_secondary_indexes : contains(["S", "N", "B"], i.hash_key.type) && (
      i.range_key == null ? true : contains(["S", "N", "B"], i.range_key.type)
    )])
    error_message = "global_secondary_indexes: key types must be S, N or B."
  }
}

variable "stream_view_type" {
  description = "The table's stream, for a source: `NEW_IMAGE` or `NEW_AND_OLD_IMAGES` (the replication needs new images), `KEYS_ONLY` or `OLD_IMAGE`. `null` (default): no stream, as a replica needs none."
  type        = string
  default     = null

  validation {
    condition     = var.stream_view_type == null ? true : contains(["NEW_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY", "OLD_IMAGE"], var.stream_view_type)
    error_message = "stream_view_type must be NEW_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY, OLD_IMAGE or null."
  }
}

variable "point_in_time_recovery_enabled" {
  description = "Whether point-in-time recovery (35 days of continuous backups) is on."
  type        = bool
  default     = true
  nullable    = false
}

variable "deletion_protection_enabled" {
  description = "Whether the table refuses DeleteTable (`terraform destroy` then fails until it is turned off)."
  type        = bool
  default     = false
  nullable    = false
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key in the table's region; `null` (default) keeps the AWS owned key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "tags" {
  description = "Tags of the table."
  type        = map(string)
  default     = {}
  nullable    = false
}
