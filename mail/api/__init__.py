"""REST API of Service Mail under /api/v1/organisations/<org>/mail/."""
