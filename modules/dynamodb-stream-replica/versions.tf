terraform {
  # 1.6: `terraform test`; OpenTofu 1.6+ reads the same configuration.
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Every argument used here exists in 5.0; 6.x is supported (no upper bound).
      version = ">= 5.0"
    }
  }
}
