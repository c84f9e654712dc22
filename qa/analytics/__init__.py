"""Reading the archive in aggregate: filters, pre-aggregated daily statistics, dashboards, model quality, exports."""
