"""End-to-end tests of the embedded local stack."""
