"""The newsletter's REST API, under /api/v1/organisations/<org_id>/newsletter/."""
