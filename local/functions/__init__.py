"""The local Lambda runtime: warm worker processes per function, and the SQS pollers that feed them."""
