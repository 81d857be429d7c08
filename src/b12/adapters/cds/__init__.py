"""CDS Hooks adapters: caller authentication (``jwt_verify``), cards and prefetch.

``jwt_verify`` checks the signed JWT every CDS Client sends (CDS Hooks 2.0 "Security and
Safety"); the replay cache and feedback rows live in ``b12.adapters.sql.cds_store``.
"""
