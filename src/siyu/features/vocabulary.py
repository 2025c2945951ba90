"""Feature specs written against the data's own vocabulary, resolved with its profile (pure).

In configs/features.yaml an `event_type`, `channel` or attribute `column` may be a selector
instead of a name:

- ``each`` — every value the data holds for the entry's role filter, most rows first;
- ``{each: interaction}`` — every event type (or channel) of that role or role group;
- ``{top: 8}`` / ``{top: 8, of: activity}`` — the 8 most frequent ones.

`resolve_feature_specs` replaces selectors with the names found in the profile, builds the
specs and leaves out every spec whose inputs the data lacks (each family says why:
`Family.lacks`), so a brand's clickstream gets features from its own event names and no
column that can only be constant. Explicit names keep working and are checked the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from siyu.contract.profile import DataProfile
from siyu.features.family import ROLE_GROUPS, SpecError, roles_of
from siyu.features.parse import parse_feature_specs
from siyu.features.specs import FeatureSet

SELECTABLE = ("event_type", "channel", "column")


@dataclass(frozen=True)
class Omission:
    """A spec (or a whole config entry) left out, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class ResolvedFeatures:
    """The feature set built for one dataset, and what was left out of the config's specs."""

    specs: FeatureSet
    omitted: tuple[Omission, ...] = ()


def is_selector(value: Any) -> bool:
    return value == "each" or isinstance(value, Mapping)


def has_selectors(data: Mapping[str, Any]) -> bool:
    entries = data.get("features") if isinstance(data, Mapping) else None
    return any(isinstance(e, Mapping) and any(is_selector(e.get(k)) for k in SELECTABLE) for e in entries or [])


def _selector(value: Any, where: str, default_role: str) -> tuple[str, int | None]:
    """(role filter, top N or None) of a selector, checked."""
    if value == "each":
        return default_role, None
    allowed = {"each", "top", "of"}
    if set(value) - allowed or ("each" in value) == ("top" in value):
        raise SpecError(f"{where}: a selector is `each`, {{each: <role>}} or {{top: N[, of: <role>]}}; got {dict(value)!r}")
    if "each" in value:
        role = default_role if value["each"] in (True, "each") else value["each"]
        top = None
    else:
        role, top = value.get("of", default_role), value["top"]
        if not isinstance(top, int) or isinstance(top, bool) or top <= 0:
            raise SpecError(f"{where}: top must be a positive integer, got {top!r}")
    if not isinstance(role, str):
        raise SpecError(f"{where}: a selector's role must be one role or group name, got {role!r}")
    roles_of(role)
    return role, top


def _values(profile: DataProfile, key: str, family: str, role: str, top: int | None) -> list[str]:
    if key == "column":
        found = [c for c, n in profile.attributes.items() if n]
    elif key == "event_type":
        found = profile.event_types_of(roles_of(role))
    else:
        found = profile.channels_of(roles_of(role))
    return found if top is None else found[:top]


def _resolve_entry(entry: Mapping[str, Any], where: str, profile: DataProfile | None) -> tuple[list[dict], list[Omission]]:
    """The entry with its selectors replaced by lists of names (one entry per role value when the
    role is a list, since a selector reads the role), or why it yields nothing."""
    keys = [k for k in SELECTABLE if is_selector(entry.get(k))]
    if not keys:
        return [dict(entry)], []
    if "column" in keys and entry.get("family") != "attribute":
        raise SpecError(f"{where}: only the attribute family takes a selector for `column`")
    roles = entry.get("role", "any")
    out, omitted = [], []
    for role in roles if isinstance(roles, list) else [roles]:
        resolved = {**entry, **({"role": role} if "role" in entry else {})}
        for key in keys:
            sel_role, top = _selector(entry[key], f"{where}.{key}", role if isinstance(role, str) else "any")
            if profile is None:  # checking the syntax only: any one name stands for the vocabulary
                resolved[key] = ["x"]
                continue
            names = _values(profile, key, str(entry.get("family")), sel_role, top)
            if not names:
                what = "attribute columns" if key == "column" else f"{key.replace('_', ' ')}s of role {sel_role}"
                per = "attribute" if key == "column" else key.replace("_", " ")
                omitted.append(Omission(f"{where} {entry.get('family')} per {per}", f"the data has no {what}"))
                break
            resolved[key] = names
        else:
            out.append(resolved)
    return out, omitted


def resolve_feature_specs(data: Mapping[str, Any], profile: DataProfile | None) -> ResolvedFeatures:
    """The feature set of `data` (the parsed features.yaml) for the profiled dataset.

    With `profile=None` selectors are only checked (a config check before any data exists) and
    no spec is left out."""
    entries = data.get("features") if isinstance(data, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise SpecError("features config: expected a non-empty list under 'features:'")
    resolved: list[dict] = []
    omitted: list[Omission] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise SpecError(f"features[{i}]: expected a mapping with a 'family' key, got {entry!r}")
        got, left = _resolve_entry(entry, f"features[{i}]", profile)
        resolved += got
        omitted += left
    if not resolved:
        raise SpecError("features config: every entry was left out for this data: "
                        + "; ".join(f"{o.name}: {o.reason}" for o in omitted))
    specs = parse_feature_specs({"features": resolved})
    if profile is None:
        return ResolvedFeatures(specs, tuple(omitted))
    kept = []
    for spec in (s.for_profile(profile) for s in specs):
        reason = spec.lacks(profile)
        if reason:
            omitted.append(Omission(spec.name, reason))
        else:
            kept.append(spec)
    if not kept:
        raise SpecError("features config: the data feeds none of the feature specs: "
                        + "; ".join(f"{o.name}: {o.reason}" for o in omitted[:5]))
    return ResolvedFeatures(FeatureSet(tuple(kept)), tuple(omitted))


__all__ = ["ROLE_GROUPS", "Omission", "ResolvedFeatures", "has_selectors", "is_selector", "resolve_feature_specs"]
