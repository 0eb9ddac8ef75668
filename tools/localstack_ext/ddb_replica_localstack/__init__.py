"""LocalStack extension for running the DynamoDB-replication lab without Docker or DynamoDB Local.

- ``dynamodb:moto`` / ``dynamodbstreams:moto``: serve DynamoDB and DynamoDB Streams from moto
  (select with ``PROVIDER_OVERRIDE_DYNAMODB=moto PROVIDER_OVERRIDE_DYNAMODBSTREAMS=moto``).
- ``subprocess`` Lambda runtime executor: runs Python functions as local worker processes
  (select with ``LAMBDA_RUNTIME_EXECUTOR=subprocess``).
"""
