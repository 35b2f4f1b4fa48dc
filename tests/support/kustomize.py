"""A minimal, offline `kustomize build` for the features the template's manifests use.

No kustomize binary can be installed from the registries the tests may reach, so this
renders the generated `deploy/kubernetes` tree itself. It implements exactly:

- `resources:` (YAML files, and folders holding a kustomization.yaml);
- `namespace:`, set on every namespaced resource (not on the cluster-scoped kinds listed in
  CLUSTER_SCOPED_KINDS; any other kind is taken as namespaced);
- `configMapGenerator:` with `literals:` and `behavior: create|merge`, named with
  kustomize's content-hash suffix, and the references to it in pod specs renamed;
- `images:` (`newName`, `newTag`, `digest`) on containers;
- `patches:` given as a `path:` to a strategic-merge patch of one resource: maps merge
  (a null value deletes), lists of scalars are replaced, and the lists of maps whose
  Kubernetes merge key is `name` (containers, env, volumes...) merge by name. Any other
  list of maps (volumeMounts merge by mountPath, container ports by containerPort, ...)
  and any `$patch`-style directive raise `Unsupported`.

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

SUPPORTED_FIELDS = {"apiVersion", "kind", "namespace", "resources", "configMapGenerator", "images", "patches"}
# Kinds without a namespace, which kustomize's `namespace:` leaves alone.
CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "IngressClass",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}
POD_SPEC_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# Pods kept elsewhere than spec.template.spec: kustomize sets their images and renames their
# ConfigMap references; this renderer would skip them in silence, so it refuses them.
OTHER_POD_KINDS = {"Pod", "CronJob", "PodTemplate"}


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
            documents = [doc for doc in yaml.safe_load_all(target.read_text(encoding="utf-8")) if doc]
            refused = sorted({doc.get("kind") for doc in documents} & OTHER_POD_KINDS)
            if refused:
                raise Unsupported(f"{target}: resources of kind {refused} (pod specs outside spec.template)")
            resources += documents
    for generator in kustomization.get("configMapGenerator", []):
        _generate_config_map(generator, generated, folder)
    for image in kustomization.get("images", []):
        for resource in resources:
            _set_image(resource, image)
    for patch in kustomization.get("patches", []):
        _apply_patch(patch, resources, folder)
    if "namespace" in kustomization:
        for resource in resources + generated:
            if resource["kind"] not in CLUSTER_SCOPED_KINDS:
                resource["metadata"]["namespace"] = kustomization["namespace"]
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


# Pod-spec lists whose strategic-merge key (patchMergeKey in the Kubernetes API) is `name`.
# Every other list of maps has another key or none (then it is replaced): not implemented.
MERGED_BY_NAME = {"containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets"}


def strategic_merge(original, patch, field: str = ""):
    """Maps merge key by key (a None value deletes); see the module docstring for lists."""
    if isinstance(patch, dict):
        directives = [key for key in patch if key.startswith("$")]
        if directives:
            raise Unsupported(f"strategic-merge directives not implemented: {directives} (in {field or 'the root'})")
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(original)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(original, list) and isinstance(patch, list):
        if not any(isinstance(item, dict) for item in original + patch):
            return copy.deepcopy(patch)
        if field not in MERGED_BY_NAME:
            raise Unsupported(f"strategic merge of the list `{field}` not implemented (its merge key is not `name`)")
        # kustomize's order: the patch's items (merged with the originals of the same name) in
        # the patch's order, then the originals the patch does not name, in their order.
        originals = {item["name"]: item for item in original}
        merged = [strategic_merge(originals.get(item["name"], {}), item, field) for item in patch]
        named = {item["name"] for item in patch}
        return merged + [copy.deepcopy(item) for item in original if item["name"] not in named]
    return copy.deepcopy(patch)


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
