"""CDS Hooks: JWT security, feedback store, services and conformance."""
