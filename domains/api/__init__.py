"""The Domains REST API, under /api/v1/organisations/<org_id>/domains/."""
