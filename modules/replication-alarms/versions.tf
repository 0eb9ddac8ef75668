terraform {
  # 1.6: `terraform test`; OpenTofu 1.6+ reads the same configuration.
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Tested with 6.47.1 (built by `make setup`). 6.0 is the schema the module is written for (5.x lacks
      # attributes it reads, e.g. the mapping's arn before 5.70); 7.x is not tested, hence the upper bound.
      version = ">= 6.0, < 7.0"
    }
  }
}
