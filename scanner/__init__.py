"""undone: an agentless compliance scanner that reports what the IT support provider has left
undone."""

__version__ = "0.2.0"
