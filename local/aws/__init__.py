"""The emulated AWS services: the embedded moto server, the LocalStack backend, and provisioning."""
