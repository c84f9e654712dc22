"""Getting data in: formats (one module each), detection, staging, the parse worker, the loader and the importer.

Data travels formats → detect → staging → spool (in a parse_worker for large files) → importer → loader, one
transaction per chunk of whole conversations, under an import run (``runs``).
"""
