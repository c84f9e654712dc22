"""Getting data in: formats (one module each), detection, staging, the parse worker, the loader and the importer.

Data travels formats → detect → staging → (parse_worker) → importer → loader, one transaction per file.
"""
