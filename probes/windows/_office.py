"""Microsoft 365 Apps / Office Click-to-Run update channels, as the registry and policies name
them: the GUIDs of the channels' CDN URLs (``CDNBaseUrl``, ``UpdateChannel``, ``UpdateUrl``;
Microsoft's published channel URLs), the ``UpdateBranch`` policy values and the names the
release feed uses. Shared by the parser (windows.applications) and the scanner side."""

from __future__ import annotations

import re
from typing import Any

# Microsoft 365 Apps update channels, by the GUID in CDNBaseUrl / UpdateChannel (Microsoft's
# published channel URLs) and by the names in UpdateBranch policies and the release feed
M365_CHANNELS: dict[str, str] = {
    "492350f6-3a01-4f97-b9c0-c7c6ddf67d60": "Current",
    "64256afe-f5d9-4f86-8936-8840a6a4f5be": "CurrentPreview",
    "55336b82-a18d-4dd6-b5f6-9e5095c314a6": "MonthlyEnterprise",
    "7ffbc6bf-bc32-4f92-8982-f9dd17fd3114": "SemiAnnual",
    "b8f9b850-328d-4355-9145-c59439a0c4cf": "SemiAnnualPreview",
    "5440fd1f-7ecb-4221-8110-145efaa6372f": "BetaChannel",
    "f2e724c1-748f-4b47-8fb8-8e0d210e9208": "PerpetualVL2019",
    "5030841d-c919-4594-8d2d-84ae4f96e58e": "PerpetualVL2021",
    "7983bac0-e531-40cf-be00-fd24fe66619c": "PerpetualVL2024",
}
M365_CHANNEL_NAMES: dict[str, str] = {
    "current": "Current", "monthly": "Current", "currentchannel": "Current",
    "firstreleasecurrent": "CurrentPreview", "currentpreview": "CurrentPreview",
    "monthlyenterprise": "MonthlyEnterprise", "monthlyenterprisechannel": "MonthlyEnterprise",
    "deferred": "SemiAnnual", "semiannual": "SemiAnnual", "broad": "SemiAnnual",
    "semiannualenterprisechannel": "SemiAnnual", "firstreleasedeferred": "SemiAnnualPreview",
    "semiannualpreview": "SemiAnnualPreview", "targeted": "SemiAnnualPreview",
    "insiderfast": "BetaChannel", "betachannel": "BetaChannel", "beta": "BetaChannel",
}


def channel(*values: Any) -> str | None:
    """A Microsoft 365 Apps channel from a CDN URL, a channel GUID or a channel name (the first
    value that names one)."""
    for value in values:
        text = str(value or "").strip()
        if not text:
            continue
        m = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text.lower())
        if m and m.group(0) in M365_CHANNELS:
            return M365_CHANNELS[m.group(0)]
        name = M365_CHANNEL_NAMES.get(re.sub(r"[^a-z]", "", text.lower()))
        if name:
            return name
    return None
