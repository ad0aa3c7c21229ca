"""Lifecycle: the offline reference data that dates what a host runs.

``catalogue`` (end of life, version release dates, KEV), ``overlay`` (network devices'
firmware and hardware dates, the local overlay), ``advisories`` (when each Debian/Ubuntu
security fix was published), ``debversion`` (dpkg version order), ``support`` (who still sends
a release fixes, in words), ``applications/`` (application release catalogue). The build tools
that derive the shipped data (``python -m scanner.lifecycle build``,
``python -m scanner.lifecycle.applications.build``) are run by maintainers, not by a scan.
"""
