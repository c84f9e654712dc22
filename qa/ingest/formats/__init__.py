"""Parsers, one module per import format: each turns a file into qa.ingest.records, touching no database."""
