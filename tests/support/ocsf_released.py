"""A released OCSF schema, from a registry package, to validate rootkey's OCSF output against.

Where the schema comes from: the PyPI package ``ocsf-json-schema`` (pinned in
requirements-dev.txt). It ships the OCSF project's compiled export of each released schema
version (``ocsf_json_schema/ocsf/<version>.json``, as served by the OCSF schema server for that
release) and builds JSON Schema 2020-12 for a class and its profiles from it. Nothing here is
written by hand: the tests run offline (CI reaches only package registries), and the schema is
the released one, not a copy kept in this repository.

Which version: the one rootkey's output claims (``bot.audit.ocsf.OCSF_VERSION``); a version the
package does not ship (a ``-dev`` schema is never released, so never shipped) fails to load.

The generated JSON Schema checks types, required attributes, enums, unknown attributes and the
at-least-one / just-one constraints. Three rules OCSF states that it does not encode are checked
here from the same released data:

- a sibling caption is the caption of its id in the id's enum (``severity`` of ``severity_id``,
  ``type_name`` of ``type_uid``, ...), except for 99 Other, whose caption is the source's own;
- ``metadata.version`` is the version of the schema the event is checked against;
- an attribute that a profile adds (``cloud``, ``cloud_partition``) appears only when
  ``metadata.profiles`` names that profile.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema, get_packaged_versions

OTHER = 99


@cache
def released(version: str) -> dict[str, Any]:
    """The compiled export of OCSF ``version`` shipped in the package (KeyError if none)."""
    if version not in get_packaged_versions():
        raise KeyError(f"OCSF {version} is not a release shipped by ocsf-json-schema")
    schema: dict[str, Any] = get_ocsf_schema(version=version)
    return schema


@cache
def validator(version: str, class_name: str, profiles: tuple[str, ...]) -> Draft202012Validator:
    """JSON Schema validation of ``class_name`` with ``profiles``, built from the release."""
    built = OcsfJsonSchemaEmbedded(released(version)).get_class_schema(
        class_name=class_name, profiles=list(profiles)
    )
    Draft202012Validator.check_schema(built)
    return Draft202012Validator(built)


def rule_errors(
    event: dict[str, Any],
    attributes: dict[str, Any],
    schema: dict[str, Any],
    profiles: frozenset[str],
    where: str = "",
) -> list[str]:
    """Sibling captions and profile membership, walked through the event's objects."""
    found: list[str] = []
    for name, value in event.items():
        definition = attributes.get(name)
        if definition is None:
            continue  # the JSON Schema refuses unknown attributes
        path = f"{where}{name}"
        owners = definition.get("profiles") or ()
        if owners and not profiles.intersection(owners):
            found.append(f"{path}: belongs to profile {owners}, not in metadata.profiles")
        sibling = definition.get("sibling")
        enum = definition.get("enum")
        if sibling and enum and sibling in event and value != OTHER:
            caption = enum.get(str(value), {}).get("caption")
            if caption is not None and event[sibling] != caption:
                found.append(f"{where}{sibling}: {event[sibling]!r} is not {caption!r} ({path})")
        object_type = definition.get("object_type")
        if object_type:
            inner = schema["objects"][object_type]["attributes"]
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    at = f"{path}[{i}]." if isinstance(value, list) else f"{path}."
                    found.extend(rule_errors(item, inner, schema, profiles, at))
    return found


def errors(event: dict[str, Any], version: str) -> list[str]:
    """Every way ``event`` breaks released OCSF ``version``: empty when it conforms."""
    schema = released(version)
    class_uid = event.get("class_uid")
    classes = [c for c in schema["classes"].values() if c.get("uid") == class_uid]
    if not classes:
        return [f"class_uid: {class_uid!r} is no class of OCSF {version}"]
    (definition,) = classes
    metadata = event.get("metadata") or {}
    declared = tuple(metadata.get("profiles") or ())
    known = [p for p in declared if p in schema["profiles"]]
    built = validator(version, definition["name"], tuple(known))
    found = [
        f"{'.'.join(map(str, e.path)) or '(event)'}: {e.message}"
        for e in sorted(built.iter_errors(event), key=lambda e: list(map(str, e.path)))
    ]
    found.extend(
        f"metadata.profiles: {p!r} is no profile of OCSF {version}"
        for p in declared
        if p not in known
    )
    if metadata.get("version") != version:
        found.append(f"metadata.version: {metadata.get('version')!r} is not {version!r}")
    found.extend(rule_errors(event, definition["attributes"], schema, frozenset(declared)))
    return found
