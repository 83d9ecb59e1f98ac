"""Newsletter product app."""
