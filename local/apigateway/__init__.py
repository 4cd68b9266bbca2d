"""The local HTTP API: routes from serverless.yml, the JWT authorizer, and the served spec."""
