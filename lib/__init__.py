"""Domain and adapters. Knows nothing about Lambda event formats or the local stack."""
