"""fetching"""
