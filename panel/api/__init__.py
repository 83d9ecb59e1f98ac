"""REST API of the tenancy core (/api/v1/)."""
