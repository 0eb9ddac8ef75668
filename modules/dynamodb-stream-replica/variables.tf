################################################################################
# REQUIRED
################################################################################

variable "source_table_name" {
  description = "Name of the table to replicate from. Created by the module when `create_source_table = true`; otherwise the name of an existing table in the provider's region whose stream is already enabled with new images (checked at plan time)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.source_table_name))
    error_message = "source_table_name must be 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.' (DynamoDB table name rules)."
  }
}

variable "replica_table_name" {
  description = "Name of the replica table the module creates. The function may write to this table only (PutItem, DeleteItem, BatchWriteItem)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.replica_table_name))
    error_message = "replica_table_name must be 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.' (DynamoDB table name rules)."
  }
}

variable "hash_key" {
  description = "Partition key of both tables: `name` and `type` (`S` string, `N` number, `B` binary; default `S`). For an existing source table it must match that table's partition key (checked at plan time)."
  type = object({
    name = string
    type = optional(string, "S")
  })

  validation {
    condition     = length(var.hash_key.name) > 0 && contains(["S", "N", "B"], var.hash_key.type)
    error_message = "hash_key needs a non-empty name and a type of S, N or B."
  }
}

variable "lambda_package_path" {
  description = "Path of the deployment package (zip of the `lambda_src` files: `ddbreplica_lambda.py`, `lab_config.py`, `replica_targets.py`; built by `make build` into `dist/ddbreplica_lambda.zip`). Its SHA-256 drives redeployments; `terraform validate` works without the file, `plan` stops with a clear error if it is missing."
  type        = string

  validation {
    condition     = endswith(var.lambda_package_path, ".zip")
    error_message = "lambda_package_path must name a .zip file."
  }
}

################################################################################
# OPTIONAL: general
################################################################################

variable "create" {
  description = "Whether to create anything at all. `false` turns every resource and data source of the module off (outputs become null), and so plans the deletion of the tables it created: see \"Keeping the tables\" in the README to keep them."
  type        = bool
  default     = true
  nullable    = false
}

variable "tags" {
  description = "Tags for every resource the module creates (tables, function, role, log group, queue). Merged under `source_table_tags` / `replica_table_tags`."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# OPTIONAL: tables
################################################################################

variable "create_source_table" {
  description = "Whether the module creates the source table. `false` reads the existing table `source_table_name` instead: its stream must be enabled with `NEW_IMAGE` or `NEW_AND_OLD_IMAGES` and its keys must match `hash_key`/`range_key`, or plan fails with a message saying what to change."
  type        = bool
  default     = true
  nullable    = false
}

variable "source_stream_arn" {
  description = "With `create_source_table = false`: the stream ARN of the existing table (e.g. `aws_dynamodb_table.orders.stream_arn`), when that table is in the same configuration. The module then reads the table once it exists (not at the first plan, when it does not yet), and the mapping follows this ARN, so an edit of the table (a tag) never replaces it. `null` (default): the module reads the table named `source_table_name` at plan time, which must exist before the plan (a table managed elsewhere; after its stream is re-created there, the next plan and apply move the mapping to the new stream)."
  type        = string
  default     = null

  validation {
    condition     = var.source_stream_arn == null || var.source_stream_arn == "" ? true : can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[a-zA-Z0-9_.-]{3,255}/stream/.+$", var.source_stream_arn))
    error_message = "source_stream_arn must be a DynamoDB stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>), e.g. aws_dynamodb_table.orders.stream_arn."
  }
}

variable "range_key" {
  description = "Sort key of both tables (`name`, `type` S/N/B, default `S`), or `null` for a partition key only. For an existing source table it must match that table's sort key."
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

variable "source_billing_mode" {
  description = "Billing mode of the source table (when created): `PAY_PER_REQUEST` (default, never throttles the writers) or `PROVISIONED` (then `source_read_capacity` and `source_write_capacity` are required)."
  type        = string
  default     = "PAY_PER_REQUEST"
  nullable    = false

  validation {
    condition     = contains(["PROVISIONED", "PAY_PER_REQUEST"], var.source_billing_mode)
    error_message = "source_billing_mode must be PROVISIONED or PAY_PER_REQUEST."
  }
}

variable "source_read_capacity" {
  description = "Read capacity units of the source table with `PROVISIONED` billing; also the default of its indexes. Ignored with `PAY_PER_REQUEST`."
  type        = number
  default     = null

  validation {
    condition     = var.source_read_capacity == null ? true : var.source_read_capacity >= 1 && floor(var.source_read_capacity) == var.source_read_capacity
    error_message = "source_read_capacity must be a whole number >= 1 (or null)."
  }
}

variable "source_write_capacity" {
  description = "Write capacity units of the source table with `PROVISIONED` billing; also the default of its indexes. Ignored with `PAY_PER_REQUEST`."
  type        = number
  default     = null

  validation {
    condition     = var.source_write_capacity == null ? true : var.source_write_capacity >= 1 && floor(var.source_write_capacity) == var.source_write_capacity
    error_message = "source_write_capacity must be a whole number >= 1 (or null)."
  }
}

variable "source_global_secondary_indexes" {
  description = <<-EOT
    Global secondary indexes of the source table (when created). Each: `name`; `hash_key` and optional `range_key` as `{ name, type }` (type S/N/B, default S);
    `projection_type` `ALL` (default), `KEYS_ONLY` or `INCLUDE` (then `non_key_attributes` lists the projected attributes);
    `read_capacity`/`write_capacity` with `PROVISIONED` billing (default: the table's). Attribute definitions are derived from the keys.
  EOT
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
    condition     = length(distinct([for i in var.source_global_secondary_indexes : i.name])) == length(var.source_global_secondary_indexes) && length(var.source_global_secondary_indexes) <= 20
    error_message = "source_global_secondary_indexes: index names must be unique, at most 20 indexes per table."
  }

  validation {
    condition = alltrue([for i in var.source_global_secondary_indexes : contains(["ALL", "KEYS_ONLY", "INCLUDE"], i.projection_type) && (
      i.projection_type == "INCLUDE" ? length(coalesce(i.non_key_attributes, [])) > 0 : i.non_key_attributes == null
    )])
    error_message = "source_global_secondary_indexes: projection_type must be ALL, KEYS_ONLY or INCLUDE; INCLUDE needs non_key_attributes, the others must not set them."
  }

  validation {
    condition = alltrue([for i in var.source_global_secondary_indexes : contains(["S", "N", "B"], i.hash_key.type) && (
      i.range_key == null ? true : contains(["S", "N", "B"], i.range_key.type)
    )])
    error_message = "source_global_secondary_indexes: key types must be S, N or B."
  }
}

variable "source_stream_view_type" {
  description = "What the source table's stream carries (when the module creates the table). The handler copies the new image, so only `NEW_IMAGE` (default, smallest records) and `NEW_AND_OLD_IMAGES` are accepted. AWS cannot change the view type of an enabled stream: a change disables the stream and enables a new one (new ARN), and the plan replaces the event source mapping to read it (the old mapping is deleted before the new one is created). Not replicated then: records of the old stream the old mapping had not processed, changes written between the two streams, and with `LATEST` the new stream's records before the new mapping starts. So the plan refuses such a change (it reads the table's current view type) unless `allow_stream_replacement = true`; run `ddb-replica verify --repair` after that apply."
  type        = string
  default     = "NEW_IMAGE"
  nullable    = false

  validation {
    condition     = contains(["NEW_IMAGE", "NEW_AND_OLD_IMAGES"], var.source_stream_view_type)
    error_message = "source_stream_view_type must be NEW_IMAGE or NEW_AND_OLD_IMAGES: the handler writes the new image to the replica (KEYS_ONLY and OLD_IMAGE records do not carry it)."
  }
}

variable "check_stream_view_type" {
  description = "Whether the plan reads the module's own source table, when it exists already, to refuse a change of its stream view type (see `allow_stream_replacement`). Needs dynamodb:ListTables and dynamodb:DescribeTable for whoever runs the plan (ListTables pages through the region's table names). Set it to `false` when `source_table_name` is not known at plan time (built from another resource): the number of reads then depends on a value Terraform cannot know, and the plan fails with \"Invalid count argument\"."
  type        = bool
  default     = true
  nullable    = false
}

variable "allow_stream_replacement" {
  description = "Whether a plan may change the view type of the stream of a source table the module created earlier. `false` (default): such a plan fails with the table's current view type, what the change would lose, and how to go ahead (see `source_stream_view_type`). Set it to `true` for the one apply that changes it, then run `ddb-replica verify --repair`."
  type        = bool
  default     = false
  nullable    = false
}

variable "source_table_tags" {
  description = "Extra tags of the source table (when created)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "create_replica_table" {
  description = "Whether the module creates the replica table `replica_table_name` in its own region and account (the workshop's replica). `false`: the function writes only the `replica_targets` (at least one)."
  type        = bool
  default     = true
  nullable    = false
}

variable "replica_targets" {
  description = "More replica tables fed by the same stream and function: the `target` outputs of the replica-target module, instantiated with the provider of each target's region or account. Each batch is written to every target (the module's own replica first); a record is reported done only when all of them have it, so a target that keeps failing holds back the shard for every target until the mapping's retry limits send the batch to the on-failure destination. `role_arn` (a writer role in another account) is assumed with `external_id`; `kms_key_arn` of a target in this account is granted to the function's role (through DynamoDB only). `region` and `account_id` (the module's output has both) let the plan refuse a target configured twice, or the source itself, before anything is created; without them the table ARN says, once known."
  type = list(object({
    name        = string
    table_name  = string
    table_arn   = string
    region      = optional(string)
    account_id  = optional(string)
    role_arn    = optional(string)
    external_id = optional(string)
    kms_key_arn = optional(string)
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for t in var.replica_targets : can(regex("^[a-zA-Z0-9_.-]{1,64}$", t.name))])
    error_message = "replica_targets: each name must be 1-64 characters of a-z, A-Z, 0-9, '_', '-' and '.'."
  }

  validation {
    condition     = alltrue([for t in var.replica_targets : t.role_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", t.role_arn))])
    error_message = "replica_targets: role_arn must be an IAM role ARN (the replica-target module's writer_role_arn)."
  }

  validation {
    # Unknown until the table exists (a first apply): then checked by the provider's own ARN, not here.
    condition     = alltrue([for t in var.replica_targets : can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/", t.table_arn)) ? endswith(t.table_arn, ":table/${t.table_name}") : false])
    error_message = "replica_targets: table_arn must be the DynamoDB table ARN of table_name (arn:<partition>:dynamodb:<region>:<account>:table/<table_name>): the function's role is granted that ARN and writes that name."
  }

  validation {
    condition     = alltrue([for t in var.replica_targets : t.external_id == null || t.role_arn != null])
    error_message = "replica_targets: external_id is sent when assuming role_arn; a target without a role_arn cannot use one."
  }
}

variable "replica_billing_mode" {
  description = "Billing mode of the replica table: `PAY_PER_REQUEST` (default; a throttled replica slows replication down) or `PROVISIONED` (then `replica_read_capacity` and `replica_write_capacity` are required)."
  type        = string
  default     = "PAY_PER_REQUEST"
  nullable    = false

  validation {
    condition     = contains(["PROVISIONED", "PAY_PER_REQUEST"], var.replica_billing_mode)
    error_message = "replica_billing_mode must be PROVISIONED or PAY_PER_REQUEST."
  }
}

variable "replica_read_capacity" {
  description = "Read capacity units of the replica table with `PROVISIONED` billing; also the default of its indexes. Ignored with `PAY_PER_REQUEST`."
  type        = number
  default     = null

  validation {
    condition     = var.replica_read_capacity == null ? true : var.replica_read_capacity >= 1 && floor(var.replica_read_capacity) == var.replica_read_capacity
    error_message = "replica_read_capacity must be a whole number >= 1 (or null)."
  }
}

variable "replica_write_capacity" {
  description = "Write capacity units of the replica table with `PROVISIONED` billing; also the default of its indexes. Ignored with `PAY_PER_REQUEST`."
  type        = number
  default     = null

  validation {
    condition     = var.replica_write_capacity == null ? true : var.replica_write_capacity >= 1 && floor(var.replica_write_capacity) == var.replica_write_capacity
    error_message = "replica_write_capacity must be a whole number >= 1 (or null)."
  }
}

variable "replica_global_secondary_indexes" {
  description = "Global secondary indexes of the replica table; same shape as `source_global_secondary_indexes`. They may differ from the source's (the lab projects more attributes on the replica)."
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
    condition     = length(distinct([for i in var.replica_global_secondary_indexes : i.name])) == length(var.replica_global_secondary_indexes) && length(var.replica_global_secondary_indexes) <= 20
    error_message = "replica_global_secondary_indexes: index names must be unique, at most 20 indexes per table."
  }

  validation {
    condition = alltrue([for i in var.replica_global_secondary_indexes : contains(["ALL", "KEYS_ONLY", "INCLUDE"], i.projection_type) && (
      i.projection_type == "INCLUDE" ? length(coalesce(i.non_key_attributes, [])) > 0 : i.non_key_attributes == null
    )])
    error_message = "replica_global_secondary_indexes: projection_type must be ALL, KEYS_ONLY or INCLUDE; INCLUDE needs non_key_attributes, the others must not set them."
  }

  validation {
    condition = alltrue([for i in var.replica_global_secondary_indexes : contains(["S", "N", "B"], i.hash_key.type) && (
      i.range_key == null ? true : contains(["S", "N", "B"], i.range_key.type)
    )])
    error_message = "replica_global_secondary_indexes: key types must be S, N or B."
  }
}

variable "replica_table_tags" {
  description = "Extra tags of the replica table (the lab sets `workshop-design-patterns = targeted-for-cleanup`)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "point_in_time_recovery_enabled" {
  description = "Whether point-in-time recovery (35 days of continuous backups) is on for the tables the module creates."
  type        = bool
  default     = true
  nullable    = false
}

variable "deletion_protection_enabled" {
  description = "Whether the tables the module creates refuse DeleteTable (`terraform destroy` then fails until it is turned off). Off by default, as in AWS and terraform-aws-modules: the lab and the examples are meant to be destroyed, and a default that blocks `terraform destroy` would leave every tried example behind. Turn it on for tables that hold data you keep; the README's \"Keeping the tables\" shows how to change `create_source_table` or `create` without deleting a table."
  type        = bool
  default     = false
  nullable    = false
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for the tables the module creates and for the module's on-failure queue, unless `source_table_kms_key_arn`, `replica_table_kms_key_arn` or `on_failure_destination.kms_key_arn` name another one for that resource. `null` (default) keeps the AWS owned key (tables) and SSE-SQS (queue). The function's role may use each key only through the service that holds the data (`kms:ViaService`): kms:Decrypt through DynamoDB for table keys, kms:GenerateDataKey and kms:Decrypt through SQS for the queue's key. The key policy must allow the account's IAM policies (the default key policy does)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "source_table_kms_key_arn" {
  description = "ARN of the customer managed KMS key of the source table, when the module creates it and it differs from `kms_key_arn`. `null` (default): `kms_key_arn`. The function's role may call kms:Decrypt on it through DynamoDB only (`kms:ViaService`): the mapping reads the stream, which the table's key encrypts."
  type        = string
  default     = null

  validation {
    condition     = var.source_table_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.source_table_kms_key_arn))
    error_message = "source_table_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "replica_table_kms_key_arn" {
  description = "ARN of the customer managed KMS key of the replica table, when it differs from `kms_key_arn`. `null` (default): `kms_key_arn`. The function's role may call kms:Decrypt on it through DynamoDB only (`kms:ViaService`): DynamoDB decrypts the table key on the writer's behalf."
  type        = string
  default     = null

  validation {
    condition     = var.replica_table_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.replica_table_kms_key_arn))
    error_message = "replica_table_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias."
  }
}

################################################################################
# OPTIONAL: function
################################################################################

variable "lambda_function_name" {
  description = "Name of the replication function (the lab: `ddbreplica_lambda`). Default: `<replica_table_name>-replicator`, dots replaced by dashes. Also names its log group `/aws/lambda/<name>`, and by default its role and queue."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_function_name == null ? true : can(regex("^[a-zA-Z0-9_-]{1,64}$", var.lambda_function_name))
    error_message = "lambda_function_name must be 1-64 characters of a-z, A-Z, 0-9, '-' and '_'."
  }
}

variable "lambda_handler" {
  description = "Handler of the function, `<module>.<function>` inside the package."
  type        = string
  default     = "ddbreplica_lambda.lambda_handler"
  nullable    = false

  validation {
    condition     = length(var.lambda_handler) <= 128 && can(regex("^[^\\s]+\\.[^\\s./]+$", var.lambda_handler))
    error_message = "lambda_handler must be <module>.<function>, at most 128 characters, e.g. ddbreplica_lambda.lambda_handler (the file ddbreplica_lambda.py in the package, its function lambda_handler)."
  }
}

variable "lambda_runtime" {
  description = "Python runtime of the function, `python3.12` or newer (the handler targets 3.12, like the project's `requires-python`)."
  type        = string
  default     = "python3.12"
  nullable    = false

  validation {
    condition     = can(regex("^python3\\.(1[2-9]|[2-9][0-9])$", var.lambda_runtime))
    error_message = "lambda_runtime must be python3.12 or a newer python3.x runtime."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the function: `x86_64` (default, as in the lab) or `arm64` (cheaper per GB-second; the package is pure Python)."
  type        = string
  default     = "x86_64"
  nullable    = false

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "lambda_timeout" {
  description = "Timeout of one invocation in seconds (3-900; the lab: 60). The function always returns its report before it: an alarm ends the writing 1.5 s before the timeout, even inside a call to DynamoDB, and the records it had no time to write are reported failed and retried."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.lambda_timeout >= 3 && var.lambda_timeout <= 900 && floor(var.lambda_timeout) == var.lambda_timeout
    error_message = "lambda_timeout must be a whole number of seconds from 3 to 900 (Lambda's default is 3): the function keeps the last 1.5 s to return its report, and needs time to write before that."
  }
}

variable "lambda_memory_size" {
  description = "Memory of the function in MB (128-10240); CPU grows with it."
  type        = number
  default     = 128
  nullable    = false

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240 && floor(var.lambda_memory_size) == var.lambda_memory_size
    error_message = "lambda_memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "lambda_reserved_concurrent_executions" {
  description = "Concurrency reserved for the function: `-1` (default) for none, or a number >= 1. The mapping runs at most one invocation per shard and `parallelization_factor`. 0 is refused: it would throttle every batch; pause replication with `event_source_mapping.enabled = false` instead."
  type        = number
  default     = -1
  nullable    = false

  validation {
    condition     = var.lambda_reserved_concurrent_executions == -1 || var.lambda_reserved_concurrent_executions >= 1
    error_message = "lambda_reserved_concurrent_executions must be -1 (unreserved) or >= 1."
  }
}

variable "lambda_tracing_mode" {
  description = "X-Ray tracing of the function: `null` (default, off), `PassThrough` or `Active`. `Active` lets the role call xray:PutTraceSegments and xray:PutTelemetryRecords (on `*`: X-Ray has no resource-level permissions)."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_tracing_mode == null ? true : contains(["Active", "PassThrough"], var.lambda_tracing_mode)
    error_message = "lambda_tracing_mode must be null, Active or PassThrough."
  }
}

variable "lambda_publish" {
  description = "Whether each change of the function's code or configuration publishes a new version, with an alias (`lambda_alias_name`) that the event source mapping invokes. A new version then goes live, or an earlier one comes back (`lambda_alias_function_version`), by moving the alias: the mapping keeps its function ARN and is never re-created. `false` (default, as in the lab): the mapping invokes `$LATEST`. Turning it on changes the mapping in place. Lambda keeps every published version (they count against the account's code storage) until the function is deleted."
  type        = bool
  default     = false
  nullable    = false
}

variable "lambda_alias_name" {
  description = "Name of the alias the mapping invokes when `lambda_publish = true`."
  type        = string
  default     = "live"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,128}$", var.lambda_alias_name)) && !can(regex("^[0-9]+$", var.lambda_alias_name))
    error_message = "lambda_alias_name must be 1-128 characters of a-z, A-Z, 0-9, '-' and '_', and not only digits (those name versions)."
  }
}

variable "lambda_alias_function_version" {
  description = "The published version the alias points to, e.g. `\"3\"` to roll back to it without a deploy (needs `lambda_publish = true`). `null` (default): the version the last apply published. The `lambda_function_version` output names the newest one."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_alias_function_version == null ? true : can(regex("^[1-9][0-9]*$", var.lambda_alias_function_version))
    error_message = "lambda_alias_function_version must be a published version number such as \"3\" (not $LATEST, which an alias for a stream should not follow), or null."
  }
}

variable "lambda_role_name" {
  description = "Name of the function's IAM role. Default: `<function name>-<region>` (the function name cut to fit 64 characters): IAM names are global to the account, so the same module in a second region gets a role of its own. Set it to keep a name you already use (the workshop example keeps `ddbreplica_lambda`); changing a role's name replaces the role."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_role_name == null ? true : can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", var.lambda_role_name))
    error_message = "lambda_role_name must be 1-64 characters of a-z, A-Z, 0-9 and +=,.@_-."
  }
}

variable "lambda_role_permissions_boundary" {
  description = "ARN of a managed policy that bounds the function's role, or `null`."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_role_permissions_boundary == null ? true : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.lambda_role_permissions_boundary))
    error_message = "lambda_role_permissions_boundary must be the ARN of a managed IAM policy (arn:<partition>:iam::<account>:policy/<name>), or null."
  }
}

variable "create_cloudwatch_log_group" {
  description = "Whether the module creates the function's log group `/aws/lambda/<function name>` (with the retention and key below). Set it to `false` when that group exists already: Lambda creates it on a function's first invocation, so anyone who ran the console lab with the same function name has one, and creating it again fails with ResourceAlreadyExistsException. Then the role may also call logs:CreateLogGroup on that group, the retention and key variables below are not applied, and the outputs of the log group are null. Alternative: keep `true` and import the group first (`import { to = module.<name>.aws_cloudwatch_log_group.lambda[0]; id = \"/aws/lambda/<function name>\" }`)."
  type        = bool
  default     = true
  nullable    = false
}

variable "cloudwatch_logs_retention_in_days" {
  description = "Days the function's log group keeps events: one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, or 0 to keep them forever."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cloudwatch_logs_retention_in_days)
    error_message = "cloudwatch_logs_retention_in_days must be one of the values CloudWatch Logs accepts: 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "cloudwatch_logs_kms_key_arn" {
  description = "ARN of a KMS key that encrypts the function's log group, or `null` for CloudWatch Logs' own encryption. The key policy must allow the `logs.<region>.amazonaws.com` service principal; the function's role needs nothing more."
  type        = string
  default     = null

  validation {
    condition     = var.cloudwatch_logs_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.cloudwatch_logs_kms_key_arn))
    error_message = "cloudwatch_logs_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias: CloudWatch Logs takes key ARNs only."
  }
}

################################################################################
# OPTIONAL: event source mapping (stream -> function)
################################################################################

variable "event_source_mapping" {
  description = <<-EOT
    How Lambda reads the source stream. Defaults never block a shard forever and never drop a record silently:
    - `enabled` (true); `batch_size` 1-10000 (100); `starting_position` `TRIM_HORIZON` (default: replicate the last 24 h of the stream too) or `LATEST`;
    - `maximum_batching_window_in_seconds` 0-300 (0); `parallelization_factor` 1-10 (1; order per key is kept at any value);
    - `bisect_batch_on_function_error` (true): a failing batch is split to isolate a poison record;
    - `maximum_retry_attempts` -1 (infinite) or 0-10000 (10); `maximum_record_age_in_seconds` -1 (infinite) or 60-604800 (21600 = 6 h):
      a batch that runs out of retries or age goes to the on-failure destination. 6 h leaves 18 h of the stream's 24 h retention to re-read the
      records named in the failure message; at least one of the two limits must be finite;
    - `function_response_types` (["ReportBatchItemFailures"]): the handler reports the failed sequence numbers, Lambda retries from the lowest;
    - `filter_patterns` ([]): event filter patterns (JSON strings) of the mapping's `filter_criteria`. Filtered-out records are never replicated,
      so a filter that drops `REMOVE` events leaves deleted items in the replica;
    - `metrics` (["EventCount"]): the mapping's own metrics (`metrics_config`: polled, invoked, filtered, failed, dropped records, by the
      mapping's UUID), which the failed-events and dropped-events alarms read; [] turns them off (and those two alarms).
  EOT
  type = object({
    enabled                            = optional(bool, true)
    batch_size                         = optional(number, 100)
    starting_position                  = optional(string, "TRIM_HORIZON")
    maximum_batching_window_in_seconds = optional(number, 0)
    parallelization_factor             = optional(number, 1)
    bisect_batch_on_function_error     = optional(bool, true)
    maximum_retry_attempts             = optional(number, 10)
    maximum_record_age_in_seconds      = optional(number, 21600)
    function_response_types            = optional(list(string), ["ReportBatchItemFailures"])
    filter_patterns                    = optional(list(string), [])
    metrics                            = optional(list(string), ["EventCount"])
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.event_source_mapping.batch_size >= 1 && var.event_source_mapping.batch_size <= 10000 && floor(var.event_source_mapping.batch_size) == var.event_source_mapping.batch_size
    error_message = "event_source_mapping.batch_size must be a whole number from 1 to 10000 (DynamoDB Streams limit)."
  }

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.event_source_mapping.starting_position)
    error_message = "event_source_mapping.starting_position must be TRIM_HORIZON or LATEST (AT_TIMESTAMP exists for Kinesis only)."
  }

  validation {
    condition     = var.event_source_mapping.maximum_batching_window_in_seconds >= 0 && var.event_source_mapping.maximum_batching_window_in_seconds <= 300 && floor(var.event_source_mapping.maximum_batching_window_in_seconds) == var.event_source_mapping.maximum_batching_window_in_seconds
    error_message = "event_source_mapping.maximum_batching_window_in_seconds must be a whole number of seconds from 0 to 300."
  }

  validation {
    condition     = var.event_source_mapping.parallelization_factor >= 1 && var.event_source_mapping.parallelization_factor <= 10 && floor(var.event_source_mapping.parallelization_factor) == var.event_source_mapping.parallelization_factor
    error_message = "event_source_mapping.parallelization_factor must be a whole number from 1 to 10."
  }

  validation {
    condition     = var.event_source_mapping.maximum_retry_attempts >= -1 && var.event_source_mapping.maximum_retry_attempts <= 10000 && floor(var.event_source_mapping.maximum_retry_attempts) == var.event_source_mapping.maximum_retry_attempts
    error_message = "event_source_mapping.maximum_retry_attempts must be -1 (infinite) or a whole number from 0 to 10000."
  }

  validation {
    condition     = var.event_source_mapping.maximum_record_age_in_seconds == -1 || (var.event_source_mapping.maximum_record_age_in_seconds >= 60 && var.event_source_mapping.maximum_record_age_in_seconds <= 604800)
    error_message = "event_source_mapping.maximum_record_age_in_seconds must be -1 (infinite) or from 60 to 604800."
  }

  validation {
    condition     = var.event_source_mapping.maximum_retry_attempts != -1 || var.event_source_mapping.maximum_record_age_in_seconds != -1
    error_message = "event_source_mapping: maximum_retry_attempts and maximum_record_age_in_seconds cannot both be -1: a poison record would block its shard until the stream trims it after 24 h, and it would be lost without reaching the on-failure destination."
  }

  validation {
    condition     = alltrue([for t in var.event_source_mapping.function_response_types : t == "ReportBatchItemFailures"])
    error_message = "event_source_mapping.function_response_types may only contain ReportBatchItemFailures."
  }

  validation {
    condition     = length(var.event_source_mapping.filter_patterns) <= 10 && alltrue([for p in var.event_source_mapping.filter_patterns : can(keys(jsondecode(p)))])
    error_message = "event_source_mapping.filter_patterns must be at most 10 JSON objects (strings), e.g. jsonencode({ eventName = [\"INSERT\", \"MODIFY\"] })."
  }

  validation {
    condition     = alltrue([for m in var.event_source_mapping.metrics : m == "EventCount"])
    error_message = "event_source_mapping.metrics may only contain EventCount (ErrorCount and KafkaMetrics are for Kafka sources), or be []."
  }
}

variable "on_failure_destination" {
  description = <<-EOT
    Where the mapping sends a batch that exhausted its retries or record age (to a queue or topic Lambda sends the batch's metadata:
    shard, sequence numbers, timestamps, not the items; to a bucket also the records). Default: an SQS queue created by the module (`<function>-dlq`, encrypted, 14 days retention). Fields:
    `create_queue` (true); `queue_name`; `message_retention_seconds` 60-1209600 (1209600); `kms_key_arn` (the queue's key; default
    `kms_key_arn`, else SSE-SQS). Or `create_queue = false` with `arn` of an existing SQS queue, SNS topic or S3 bucket
    (`arn:aws:s3:::<bucket>`) and `kms_key_arn` of the customer managed key that encrypts it, if any. The role may call sqs:SendMessage
    (or sns:Publish) on that ARN only; for a bucket s3:ListBucket on it and s3:PutObject on its objects (Lambda chooses the object keys:
    use a bucket of its own). An S3 destination also receives the failed batch's records, not only its metadata. On the key, the role may
    call kms:GenerateDataKey and kms:Decrypt through that service only (`kms:ViaService`). `null` sends failed batches nowhere: they are
    dropped after the limits above.
  EOT
  type = object({
    create_queue              = optional(bool, true)
    queue_name                = optional(string)
    message_retention_seconds = optional(number, 1209600)
    arn                       = optional(string)
    kms_key_arn               = optional(string)
  })
  default = {}

  validation {
    condition     = var.on_failure_destination == null ? true : var.on_failure_destination.create_queue != (var.on_failure_destination.arn != null)
    error_message = "on_failure_destination: set either create_queue = true (the module's queue) or create_queue = false with the arn of an existing SQS queue, SNS topic or S3 bucket, not both and not neither (null turns the destination off)."
  }

  validation {
    condition = var.on_failure_destination == null ? true : var.on_failure_destination.arn == null ? true : (
      can(regex("^arn:aws[a-z-]*:(sqs|sns):[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_.-]+$", var.on_failure_destination.arn))
      || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.on_failure_destination.arn))
    )
    error_message = "on_failure_destination.arn must be the ARN of an SQS queue, SNS topic or S3 bucket (arn:aws:s3:::<bucket>, no object path): the destinations Lambda supports for DynamoDB streams."
  }

  validation {
    condition     = var.on_failure_destination == null ? true : var.on_failure_destination.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.on_failure_destination.kms_key_arn))
    error_message = "on_failure_destination.kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias: the role's kms:GenerateDataKey statement is scoped to it."
  }

  validation {
    condition     = var.on_failure_destination == null ? true : var.on_failure_destination.message_retention_seconds >= 60 && var.on_failure_destination.message_retention_seconds <= 1209600
    error_message = "on_failure_destination.message_retention_seconds must be from 60 to 1209600 (14 days)."
  }

  validation {
    condition     = var.on_failure_destination == null ? true : var.on_failure_destination.queue_name == null ? true : can(regex("^[a-zA-Z0-9_-]{1,80}$", var.on_failure_destination.queue_name))
    error_message = "on_failure_destination.queue_name must be 1-80 characters of a-z, A-Z, 0-9, '-' and '_'."
  }
}

################################################################################
# OPTIONAL: serverless backfill (Step Functions + Lambda)
################################################################################

variable "backfill_mode" {
  description = "`local` (default): nothing more is created; `ddb-replica backfill` copies the items that predate the stream from where it runs. `serverless`: the module also creates a backfill function, a state machine that maps over the scan segments, and a checkpoint table (modules/serverless-backfill); `ddb-replica backfill --serverless` runs them."
  type        = string
  default     = "local"
  nullable    = false

  validation {
    condition     = contains(["local", "serverless"], var.backfill_mode)
    error_message = "backfill_mode must be local or serverless."
  }
}

variable "backfill_package_path" {
  description = "Path of the backfill function's zip, with `backfill_mode = \"serverless\"` (built by `make build` into `dist/ddb_replica_backfill.zip`)."
  type        = string
  default     = null
}

variable "backfill_max_concurrency" {
  description = "Segments the serverless backfill copies at the same time (its Map state's MaxConcurrency, 1-40); a run's --max-wcu is split evenly between them."
  type        = number
  default     = 8
  nullable    = false

  validation {
    condition     = var.backfill_max_concurrency >= 1 && var.backfill_max_concurrency <= 40 && floor(var.backfill_max_concurrency) == var.backfill_max_concurrency
    error_message = "backfill_max_concurrency must be a whole number from 1 to 40 (an inline Map state runs at most 40 iterations at once)."
  }
}

variable "backfill_lambda_timeout" {
  description = "Seconds one invocation of the backfill function may run (30-900); it hands its segment on to the next invocation before."
  type        = number
  default     = 900
  nullable    = false

  validation {
    condition     = var.backfill_lambda_timeout >= 30 && var.backfill_lambda_timeout <= 900
    error_message = "backfill_lambda_timeout must be from 30 to 900 seconds (Lambda's maximum)."
  }
}

################################################################################
# Alarms and metrics (modules/replication-alarms)
################################################################################

variable "alarms" {
  description = <<-EOT
    CloudWatch alarms on the replication (modules/replication-alarms), on by default:
    - `create` (true): the function's lag (`IteratorAge` maximum), `Errors` and `Throttles`; the module's on-failure queue holding a
      message; the mapping's failed, delivered-to-destination and dropped events (with `event_source_mapping.metrics`);
    - `iterator_age_threshold_seconds` (600) for `iterator_age_evaluation_periods` (3) periods of `period_seconds` (60, a multiple of 60);
    - `alarm_actions`, `ok_actions` ([]): ARNs to notify (SNS topics), at most 5 each;
    - `create_dashboard` (false): a dashboard with lag, throughput and latency per target, failures and the queue's depth.
  EOT
  type = object({
    create                          = optional(bool, true)
    iterator_age_threshold_seconds  = optional(number, 600)
    iterator_age_evaluation_periods = optional(number, 3)
    period_seconds                  = optional(number, 60)
    alarm_actions                   = optional(list(string), [])
    ok_actions                      = optional(list(string), [])
    create_dashboard                = optional(bool, false)
  })
  default  = {}
  nullable = false
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's own metrics: records, puts, deletes, failures, retries and latency_ms per target, from its log line (Embedded Metric Format; custom metrics are billed). null: the log line carries no metrics."
  type        = string
  default     = "DdbReplica"

  validation {
    condition     = var.metrics_namespace == null ? true : can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . - _ / # : and not begin with AWS/ (reserved for AWS services)."
  }
}
