"""What a re-run will change, said first, in the user's terms ("+added −removed")."""

from __future__ import annotations

from .answers import Answers


def describe_changes(old: Answers | None, new: Answers) -> list[str]:
    """Lines such as "domains: +b.example −a.example"; empty when nothing a user would notice changed."""
    if old is None:
        return []
    lines = []
    for label, before_list, after_list in (("domains", old.site.domains, new.site.domains),
                                           ("app.packages", old.app.packages, new.app.packages)):
        added = [d for d in after_list if d not in before_list]
        removed = [d for d in before_list if d not in after_list]
        if added or removed:
            lines.append(f"{label}: " + " ".join([f"+{d}" for d in added] + [f"\u2212{d}" for d in removed]))
    for dotted in ("app.user", "app.source", "app.workers", "app.bind", "app.directory", "app.wsgi",
                   "https.enabled", "https.mode", "https.redirect", "https.renewal", "https.acme_server"):
        before, after = old.get(dotted), new.get(dotted)
        if before != after:
            lines.append(f"{dotted}: {before!r} -> {after!r}")
    if old.app.name != new.app.name:
        lines.append(f"app.name: {old.app.name!r} -> {new.app.name!r} (a new site; the old one is left as it is)")
    return lines
