"""The ``firewall.*`` facts: which host firewall filters inbound traffic, and its default.

One family of facts that every platform fills (``posix.firewall``, ``windows.firewall``), so one
rule set judges them all. :data:`PROVIDES` names the facts every platform's section gives; a
section adds its own (``firewall.input_chains`` on Linux, the profiles on Windows) after them.

- :mod:`probes.firewall.nft`: the one parser of ``nft list ruleset`` (``posix.firewall`` and
  ``posix.gateway`` both read it);
- :mod:`probes.firewall.iptables`: the defaults of ``iptables -S``, walked like nft's chains.

A family package is not a section: :func:`probes.sections` finds sections only in the folders
it lists (``FAMILIES``, ``SCANNER_FAMILIES``).
"""

from __future__ import annotations

PROVIDES = (
    "firewall.kind",
    "firewall.active",
    "firewall.default_inbound",
    "firewall.default_inbound_v6",
    "firewall.detail",
    "firewall.services",
)
#: why a Linux section that reads the kernel's rules gives no facts to another user
ROOT_REASON = "needs root (allow sudo with become: true)"
