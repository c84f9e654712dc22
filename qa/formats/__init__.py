"""Parsers, one module per import format: each turns a file into qa.records, touching no database."""
