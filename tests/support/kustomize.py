"""A minimal, offline `kustomize build` for the features the template's manifests use.

No kustomize binary can be installed from the registries the tests may reach, so this
renders the generated `deploy/kubernetes` tree itself. It implements exactly:

- `resources:` (YAML files, and folders holding a kustomization.yaml);
- `configMapGenerator:` with `literals:` and `behavior: create|merge`, named with
  kustomize's content-hash suffix, and the references to it in pod specs renamed;
- `images:` (`newName`, `newTag`, `digest`) on containers;
- `patches:` given as a `path:` to a strategic-merge patch of one resource (maps merge;
  lists of named items merge by `name`; other lists are replaced).

Any other kustomization field, or generator/patch option, raises `Unsupported`, so the
renderer never silently ignores what it does not implement. Where a real `kubectl kustomize`
or `kustomize` is on PATH, tests/test_kubernetes.py checks that both give the same output.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import yaml

SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "configMapGenerator", "images", "patches"}
POD_SPEC_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class Unsupported(Exception):
    """The kustomization uses something this renderer does not implement."""


def build(folder: Path) -> list[dict]:
    """The resources `kustomize build folder` would print, generated names hashed."""
    resources, generated = _build(folder)
    renames = {}
    for config_map in generated:
        hashed = f"{config_map['metadata']['name']}-{config_map_hash(config_map)}"
        renames[config_map["metadata"]["name"]] = hashed
        config_map["metadata"]["name"] = hashed
    for resource in resources:
        _rename_config_map_references(resource, renames)
    return generated + resources


def config_map_hash(config_map: dict) -> str:
    """kustomize's name suffix for a generated ConfigMap (api/hasher in kustomize v5).

    kustomize hashes the JSON of {"data", "kind", "name"} with Go's sorted keys and HTML
    escaping. Its name lookup uses the path "metadata/name" as one field name, which never
    matches, so the name it hashes is always "" (only the data decides the suffix).
    """
    encoded = json.dumps(
        {"data": config_map.get("data", {}), "kind": "ConfigMap", "name": ""},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        encoded = encoded.replace(char, escaped)
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    # kustomize swaps some characters so the suffix never looks like a number or a bad word.
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _build(folder: Path) -> tuple[list[dict], list[dict]]:
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise Unsupported(f"{folder}: kustomization fields not implemented: {sorted(unknown)}")
    resources: list[dict] = []
    generated: list[dict] = []
    for entry in kustomization.get("resources", []):
        target = (folder / entry).resolve()
        if target.is_dir():
            child_resources, child_generated = _build(target)
            resources += child_resources
            generated += child_generated
        else:
            resources += [doc for doc in yaml.safe_load_all(target.read_text(encoding="utf-8")) if doc]
    for generator in kustomization.get("configMapGenerator", []):
        _generate_config_map(generator, generated, folder)
    for image in kustomization.get("images", []):
        for resource in resources:
            _set_image(resource, image)
    for patch in kustomization.get("patches", []):
        _apply_patch(patch, resources, folder)
    return resources, generated


def _generate_config_map(generator: dict, generated: list[dict], folder: Path) -> None:
    unknown = set(generator) - {"name", "literals", "behavior"}
    if unknown:
        raise Unsupported(f"{folder}: configMapGenerator options not implemented: {sorted(unknown)}")
    data = {}
    for literal in generator.get("literals", []):
        key, separator, value = literal.partition("=")
        if not separator:
            raise ValueError(f"{folder}: literal {literal!r} has no '='")
        data[key] = value
    behavior = generator.get("behavior", "create")
    existing = [cm for cm in generated if cm["metadata"]["name"] == generator["name"]]
    if behavior == "create":
        if existing:
            raise ValueError(f"{folder}: ConfigMap {generator['name']} generated twice")
        generated.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data}
        )
    elif behavior == "merge":
        if not existing:
            raise ValueError(f"{folder}: behavior: merge, but no ConfigMap {generator['name']} in the bases")
        existing[0]["data"].update(data)
    else:
        raise Unsupported(f"{folder}: configMapGenerator behavior {behavior!r}")


def _containers(resource: dict) -> list[dict]:
    if resource.get("kind") not in POD_SPEC_KINDS:
        return []
    spec = resource["spec"]["template"]["spec"]
    return spec.get("containers", []) + spec.get("initContainers", [])


def _set_image(resource: dict, image: dict) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise Unsupported(f"images options not implemented: {sorted(unknown)}")
    for container in _containers(resource):
        reference = container["image"]
        name, tag, digest = _split_image(reference)
        if name != image["name"]:
            continue
        name = image.get("newName", name)
        if "digest" in image:
            container["image"] = f"{name}@{image['digest']}"
        elif "newTag" in image:
            container["image"] = f"{name}:{image['newTag']}"
        else:
            container["image"] = name + (f"@{digest}" if digest else f":{tag}" if tag else "")


def _split_image(reference: str) -> tuple[str, str | None, str | None]:
    name, _, digest = reference.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        return name, tag, digest or None
    return name, None, digest or None


def _apply_patch(patch: dict, resources: list[dict], folder: Path) -> None:
    if set(patch) != {"path"}:
        raise Unsupported(f"{folder}: only `patches: - path: <strategic merge patch>` is implemented, got {patch}")
    body = yaml.safe_load((folder / patch["path"]).read_text(encoding="utf-8"))
    targets = [
        resource
        for resource in resources
        if resource["kind"] == body["kind"] and resource["metadata"]["name"] == body["metadata"]["name"]
    ]
    if len(targets) != 1:
        raise ValueError(f"{folder}: patch {patch['path']} matches {len(targets)} resources, not 1")
    merged = strategic_merge(targets[0], body)
    targets[0].clear()
    targets[0].update(merged)


def strategic_merge(original, patch):
    """Maps merge key by key (a None value deletes); lists of named maps merge by name."""
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(original)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(original, list) and isinstance(patch, list) and _all_named(original) and _all_named(patch):
        merged = copy.deepcopy(original)
        for item in patch:
            match = next((i for i, old in enumerate(merged) if old["name"] == item["name"]), None)
            if match is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[match] = strategic_merge(merged[match], item)
        return merged
    return copy.deepcopy(patch)


def _all_named(items: list) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def _rename_config_map_references(resource: dict, renames: dict[str, str]) -> None:
    if resource.get("kind") not in POD_SPEC_KINDS:
        return
    spec = resource["spec"]["template"]["spec"]
    for container in _containers(resource):
        for source in container.get("envFrom", []):
            reference = source.get("configMapRef")
            if reference and reference["name"] in renames:
                reference["name"] = renames[reference["name"]]
        for variable in container.get("env", []):
            reference = variable.get("valueFrom", {}).get("configMapKeyRef")
            if reference and reference["name"] in renames:
                reference["name"] = renames[reference["name"]]
    for volume in spec.get("volumes", []):
        reference = volume.get("configMap")
        if reference and reference["name"] in renames:
            reference["name"] = renames[reference["name"]]
