"""Deploying the packaged template to an emulator with osls, and checking what it created."""
