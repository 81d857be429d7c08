"""The pure core of b12: no clock, files, network, environment or randomness.

Everything here takes the knowledge base and ``as_of`` as arguments.
"""
