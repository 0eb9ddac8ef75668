variable "create" {
  description = "Whether to create the alarms (and the dashboard, with `create_dashboard`). false creates nothing."
  type        = bool
  default     = true
  nullable    = false
}

variable "name_prefix" {
  description = "Prefix of the alarm and dashboard names, e.g. the replication function's name: `<name_prefix>-iterator-age`, ..."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,200}$", var.name_prefix))
    error_message = "name_prefix must be 1-200 characters of letters, digits, '_', '.' and '-' (it begins every alarm name, and the dashboard's)."
  }
}

variable "function_name" {
  description = "Name of the replication function: its `IteratorAge`, `Errors` and `Throttles` (namespace AWS/Lambda) are alarmed on, and its own metrics read by function and target."
  type        = string
  nullable    = false
}

variable "event_source_mapping_uuid" {
  description = "UUID of the stream's event source mapping, for the alarms on its own metrics (`FailedInvokeEventCount`, `DroppedEventCount`). Needs `event_source_mapping_alarms = true` and the mapping's `metrics_config` with `EventCount`."
  type        = string
  default     = null
}

variable "event_source_mapping_alarms" {
  description = "Whether to alarm on the mapping's own metrics. A separate switch because the UUID is known only after apply, and Terraform must know at plan which alarms exist."
  type        = bool
  default     = false
  nullable    = false
}

variable "on_failure_queue_alarm" {
  description = "Whether to alarm when the on-failure queue (`on_failure_queue_name`) holds a message. A separate switch because the queue's name may be known only after apply (an ARN from the same configuration)."
  type        = bool
  default     = false
  nullable    = false
}

variable "on_failure_queue_name" {
  description = "Name of the SQS queue that receives failed batches (the mapping's on-failure destination), with `on_failure_queue_alarm = true`."
  type        = string
  default     = null
}

variable "iterator_age_threshold_seconds" {
  description = "Replication lag that raises the lag alarm: the age of the last record the function read (IteratorAge maximum), in seconds. Default 10 minutes, well inside the stream's 24 h retention."
  type        = number
  default     = 600
  nullable    = false

  validation {
    condition     = var.iterator_age_threshold_seconds >= 1 && var.iterator_age_threshold_seconds <= 86400
    error_message = "iterator_age_threshold_seconds must be from 1 to 86400 (the stream keeps records 24 h: a larger lag has lost records already)."
  }
}

variable "iterator_age_evaluation_periods" {
  description = "Consecutive periods the lag must stay over its threshold before the lag alarm fires (the other alarms fire on the first period with an event)."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.iterator_age_evaluation_periods >= 1 && var.iterator_age_evaluation_periods <= 100 && floor(var.iterator_age_evaluation_periods) == var.iterator_age_evaluation_periods
    error_message = "iterator_age_evaluation_periods must be a whole number from 1 to 100."
  }
}

variable "period_seconds" {
  description = "Period of every alarm, in seconds: 60 or a multiple of 60 (Lambda and SQS publish one-minute metrics)."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.period_seconds >= 60 && var.period_seconds <= 86400 && var.period_seconds % 60 == 0
    error_message = "period_seconds must be a multiple of 60 from 60 to 86400: Lambda and SQS publish metrics per minute."
  }
}

variable "alarm_actions" {
  description = "ARNs to notify when an alarm fires (SNS topics, usually). Empty: the alarms only change state."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.alarm_actions : can(regex("^arn:[^:]+:[a-z0-9-]+:", arn))]) && length(var.alarm_actions) <= 5
    error_message = "alarm_actions must be at most 5 ARNs (CloudWatch's limit), e.g. arn:aws:sns:us-east-1:123456789012:oncall."
  }
}

variable "ok_actions" {
  description = "ARNs to notify when an alarm returns to OK."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.ok_actions : can(regex("^arn:[^:]+:[a-z0-9-]+:", arn))]) && length(var.ok_actions) <= 5
    error_message = "ok_actions must be at most 5 ARNs (CloudWatch's limit), e.g. arn:aws:sns:us-east-1:123456789012:oncall."
  }
}

variable "create_dashboard" {
  description = "Whether to create a CloudWatch dashboard with lag, throughput and latency per target, errors, and the queue's depth."
  type        = bool
  default     = false
  nullable    = false
}

variable "metrics_namespace" {
  description = "Namespace of the function's own metrics (Embedded Metric Format in its log line), for the dashboard; null when the function publishes none (its widgets are left out)."
  type        = string
  default     = "DdbReplica"
}

variable "tags" {
  description = "Tags for the alarms and the dashboard."
  type        = map(string)
  default     = {}
  nullable    = false
}
