#!/usr/bin/env python3
"""Validates every encoded sample (from `gatehouse wire samples`) against docs/schemas.

Sample `X.json` must validate against `X.schema.json`; a sample without a schema fails, and so
does a payload schema without a sample (cloudevent.schema.json and wire-error.schema.json are
shared definitions and exempt).
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

schemas_dir, samples_dir = map(pathlib.Path, sys.argv[1:3])
schemas = {p: json.loads(p.read_text()) for p in schemas_dir.rglob("*.schema.json")}
registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas.values())
shared = {"cloudevent.schema.json", "wire-error.schema.json"}
failures = 0
checked = 0
for sample in sorted(samples_dir.rglob("*.json")):
    relative = sample.relative_to(samples_dir)
    schema_path = schemas_dir / relative.with_name(relative.name[: -len(".json")] + ".schema.json")
    if schema_path not in schemas:
        print(f"FAIL {relative}: no schema at {schema_path}")
        failures += 1
        continue
    validator = Draft202012Validator(schemas[schema_path], registry=registry, format_checker=FormatChecker())
    errors = list(validator.iter_errors(json.loads(sample.read_text())))
    checked += 1
    for error in errors:
        print(f"FAIL {relative}: {error.json_path}: {error.message}")
    failures += bool(errors)
for schema_path in schemas:
    if schema_path.name in shared:
        continue
    relative = schema_path.relative_to(schemas_dir)
    if not (samples_dir / relative.with_name(relative.name[: -len(".schema.json")] + ".json")).exists():
        print(f"FAIL {relative}: schema without a sample")
        failures += 1
print(f"schemas: {checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
