"""The clinician web app, JSON API and (later) CDS Hooks service, served by ``b12 serve``."""
