"""One thin module per Lambda function: parse the event, call lib, shape the response."""
