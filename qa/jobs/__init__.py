"""Jobs that join the archive (qa) with the models (scoring): scoring the database, scoring a file, training."""
