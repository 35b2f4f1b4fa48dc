"""Validate every answer before a single file is written.

Each validator takes one answer and returns an error message (or None). A refusal
names the field, explains the rule, and exits non-zero; cookiecutter then removes
the half-made project directory, so nothing is left on disk.

The answers arrive as JSON rendered into the string below. Keeping Jinja inside a
raw string makes this file importable (and its validators unit-testable) before
rendering too.

The choices and the yes/no options are not listed here: they are read from the
template's own cookiecutter.json, so that file is the one place that defines the
variant space (see `template_options`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

RENDERED_ANSWERS = r"""{{ cookiecutter | jsonify }}"""

# npm package names and Docker repository names overlap on this shape: lowercase
# alphanumerics separated by single hyphens, starting with a letter.
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
SLUG_MAX_LENGTH = 128
# project_slug is derived from project_name unless given: say how to choose it.
SLUG_HINT = " (by default it is derived from project_name; choose one with project_slug=...)"
# Cloud Run service names (the slug, with cloud_run=yes) must be under 50 characters.
CLOUD_RUN_SERVICE_MAX_LENGTH = 49
# Kubernetes Service names and label values (the slug, with kubernetes=yes) are at most 63 characters.
KUBERNETES_NAME_MAX_LENGTH = 63
# Semantic Versioning 2.0.0, https://semver.org (the official regular expression).
SEMVER_PATTERN = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
EMAIL_PATTERN = re.compile(r"^[^@\s\"'<>,;]+@[^@\s\"'<>,;]+\.[^@\s\"'<>,;.]+$")
# Control characters (newlines, tabs, escapes) would break YAML, .env files and shell.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

# Node.js lines past their end of life (https://github.com/nodejs/Release): refused, whatever
# supplies them (--no-input, a config file, an old replay, cruft), naming the date and the
# lines to choose instead. The odd lines were never LTS and ended within months.
END_OF_LIFE_NODE_VERSIONS = {
    "16": "2023-09-11",
    "17": "2022-06-01",
    "18": "2025-04-30",
    "19": "2023-06-01",
    "20": "2026-04-30",
    "21": "2024-06-01",
    "23": "2025-06-01",
    "25": "2026-06-01",
}
FREE_TEXT = ("project_name", "description", "author_name")
FREE_TEXT_MAX_LENGTH = 200


def validate_free_text(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must not be empty"
    if CONTROL_CHARACTERS.search(value):
        return "must be a single line without control characters (newlines, tabs)"
    if len(value) > FREE_TEXT_MAX_LENGTH:
        return f"must be at most {FREE_TEXT_MAX_LENGTH} characters"
    return None


def validate_project_slug(value: object) -> str | None:
    if not isinstance(value, str) or not SLUG_PATTERN.match(value):
        return (
            f"{value!r} is not a valid npm package and Docker image name: use lowercase "
            "letters, digits and single hyphens, starting with a letter (e.g. 'my-mcp-server')"
        )
    if len(value) > SLUG_MAX_LENGTH:
        return f"must be at most {SLUG_MAX_LENGTH} characters"
    return None


def validate_slug_fits(slug: object, enabled: object, limit: int, option: str, becomes: str) -> str | None:
    """With `option`=yes the slug becomes a name with a length limit: refuse a longer one."""
    if enabled is True and isinstance(slug, str) and len(slug) > limit:
        return f"must be at most {limit} characters with {option}=yes (it becomes {becomes})"
    return None


def validate_cloud_run_service_name(slug: object, cloud_run: object) -> str | None:
    return validate_slug_fits(slug, cloud_run, CLOUD_RUN_SERVICE_MAX_LENGTH, "cloud_run", "the Cloud Run service name")


def validate_author_email(value: object) -> str | None:
    if value == "":
        return None
    if not isinstance(value, str) or not EMAIL_PATTERN.match(value):
        return f"{value!r} does not look like an email address (name@example.com), or leave it empty"
    return None


def validate_version(value: object) -> str | None:
    if not isinstance(value, str) or not SEMVER_PATTERN.match(value):
        return f"{value!r} is not a semantic version such as 0.1.0"
    return None


PORT_PATTERN = re.compile(r"[1-9][0-9]{0,4}")


def validate_port(value: object) -> str | None:
    text = str(value)
    # ASCII digits without a leading zero: str.isdigit() would let "８０８０" or "²" through.
    if not PORT_PATTERN.fullmatch(text) or not 1 <= int(text) <= 65535:
        return f"{value!r} is not a TCP port: use a whole number from 1 to 65535"
    return None


def template_options(answers: dict) -> dict:
    """The options of the template being generated: its cookiecutter.json, as written.

    Why read the file: what cookiecutter 2.7 renders into `{{ cookiecutter }}` for a
    choice is only the chosen value, never the list. Its `_cookiecutter` copy keeps
    the lists on a plain run but holds only the chosen values on `--replay`, and cruft
    passes neither. `_repo_dir` is set on every cookiecutter run, `--replay` included,
    to the template folder at the revision being generated (a local checkout, or the
    clone or unzipped copy of a gh:/zip template), so its cookiecutter.json is the
    variant space of exactly this generation. cruft (create and update) passes no
    `_repo_dir`: there the check is left to cookiecutter itself, which refuses a choice
    outside the list when cruft hands it the answers as extra context, naming the
    variable. A private `_choices` key would survive cruft too, but it would be a
    second copy of every list to keep in step by hand.
    """
    repo_dir = answers.get("_repo_dir")
    if not repo_dir:
        return {}
    path = Path(repo_dir)
    if not path.is_absolute():
        # `cookiecutter .` from a checkout: relative to where cookiecutter started (the shell's
        # PWD, which subprocess keeps), not to this hook's working directory (the new project).
        path = Path(os.environ.get("PWD", os.getcwd())) / path
    if not (path / "cookiecutter.json").is_file():
        return {}  # as under cruft: cookiecutter itself has checked the choices
    return json.loads((path / "cookiecutter.json").read_text(encoding="utf-8"))


def choice_options(options: dict) -> dict[str, list]:
    """Public options answered by picking from a list, with their lists."""
    return {key: value for key, value in options.items() if not key.startswith("_") and isinstance(value, list)}


def boolean_options(options: dict) -> list[str]:
    """Public yes/no options."""
    return [key for key, value in options.items() if not key.startswith("_") and isinstance(value, bool)]


def validate_choice(value: object, allowed: list) -> str | None:
    if value not in allowed:
        return f"{value!r} is not one of: {', '.join(allowed)}"
    return None


def validate_boolean(value: object) -> str | None:
    if not isinstance(value, bool):
        return f"{value!r} is not a yes/no answer (use true/false, yes/no, y/n, 1/0)"
    return None


# --- registries and the identity provider (teams) ---------------------------------------
# host[:port][/path]: a registry host (dotted, localhost, or with a port, so Docker never reads
# it as a Docker Hub namespace) and lowercase repository path components, as image names need.
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PORT = r"(?::[0-9]+)"
# (No f-strings here: this file is rendered by Jinja first, and a doubled brace would be Jinja's.)
REGISTRY_PATTERN = re.compile(
    r"(?:(?:localhost|" + _LABEL + r"(?:\." + _LABEL + r")+)" + _PORT + r"?|" + _LABEL + _PORT + r")"
    r"(?:/" + _PATH_COMPONENT + r")*"
)
# https://host[:port][/path]: no credentials, query, fragment, spaces, quotes or `$`.
HTTPS_URL_PATTERN = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~%/:+=-]*)?")


def validate_container_registry(value: object) -> str | None:
    if value == "":
        return None
    text = str(value)
    if REGISTRY_PATTERN.fullmatch(text):
        return None
    return (
        f"{value!r} is not a registry host with an optional path (e.g. mirror.example.com/dockerhub "
        "or registry.example.com:5000): no scheme (https://), no trailing slash, no spaces, "
        "no credentials, lowercase path; or leave it empty for the public image names"
    )


def validate_image_repository(value: object) -> str | None:
    """Where the app image is pushed: a registry host and a repository path, no tag or digest
    (the version tag or the digest is added by the build, CI and the Kubernetes overlay)."""
    text = str(value)
    host, _, path = text.partition("/")
    if path and REGISTRY_PATTERN.fullmatch(text) and REGISTRY_PATTERN.fullmatch(host):
        return None
    return (
        f"{value!r} is not an image repository such as ghcr.io/acme/my-mcp-server: a registry host "
        "(with a dot or a port), then a lowercase path; no scheme (https://), no tag (:1.0) or "
        "digest (@sha256:...), no trailing slash, no spaces"
    )


def validate_https_url(value: object) -> str | None:
    if value == "":
        return None
    text = str(value)
    if not HTTPS_URL_PATTERN.fullmatch(text):
        return (
            f"{value!r} is not an https URL (https://host[:port]/path): no other scheme, "
            "no user:password@, no query, no spaces; or leave it empty"
        )
    return None


# Twin of the issuer shapes and JWKS URLs in the project's src/auth/presets.ts, which the server
# enforces at start (naming AUTH_ISSUER / AUTH_JWKS_URL). Generation only warns: a team fork's
# default issuer fits one provider, and choosing another one there must still generate (then
# the deployment sets AUTH_ISSUER). tests/test_identity_providers.py proves the twins agree.
_ISSUER_HOST = r"[A-Za-z0-9.-]+(?::\d{1,5})?"
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ISSUER_SHAPES: dict[str, tuple[re.Pattern[str], str, Callable[[str], str]] | None] = {
    "generic": None,
    "auth0": (
        re.compile(r"^https://" + _ISSUER_HOST + r"/$"),
        "https://TENANT.auth0.com/",
        lambda i: i + ".well-known/jwks.json",
    ),
    "entra": (
        re.compile(r"^https://login\.microsoftonline\.(?:com|us)/" + _GUID + r"/v2\.0$"),
        "https://login.microsoftonline.com/TENANT-ID/v2.0",
        lambda i: i[: -len("/v2.0")] + "/discovery/v2.0/keys",
    ),
    "keycloak": (
        re.compile(r"^https://" + _ISSUER_HOST + r"(?:/auth)?/realms/[^/?#\s]+$"),
        "https://keycloak.example.com/realms/REALM",
        lambda i: i + "/protocol/openid-connect/certs",
    ),
    "okta": (
        re.compile(r"^https://" + _ISSUER_HOST + r"/oauth2/[A-Za-z0-9]+$"),
        "https://ORG.okta.com/oauth2/default",
        lambda i: i + "/v1/keys",
    ),
    "cognito": (
        re.compile(r"^https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/\1_[A-Za-z0-9]+$"),
        "https://cognito-idp.REGION.amazonaws.com/REGION_POOLID",
        lambda i: i + "/.well-known/jwks.json",
    ),
}


def issuer_verdict(provider: str, issuer: str) -> tuple[bool, str | None]:
    """(does the issuer fit the provider, the JWKS URL the provider publishes for it)."""
    shape = ISSUER_SHAPES.get(provider)
    if shape is None:
        return True, None
    pattern, _, jwks_of = shape
    if not pattern.fullmatch(issuer):
        return False, None
    return True, jwks_of(issuer)


def validate_identity_provider_urls(provider: object, issuer: object, jwks_url: object) -> list[tuple[str, str | None]]:
    """auth_issuer must have the provider's shape; auth_jwks_url must be that issuer's JWKS."""
    if not isinstance(provider, str) or ISSUER_SHAPES.get(provider) is None or not issuer:
        return []
    shape = ISSUER_SHAPES[provider]
    fits, expected = issuer_verdict(provider, str(issuer))
    if not fits:
        example = shape[1] if shape else ""
        return [("auth_issuer", f"{issuer!r} is not an issuer of identity_provider={provider} (expected {example})")]
    if jwks_url and jwks_url != expected:
        return [("auth_jwks_url", f"{jwks_url!r} is not the JWKS of auth_issuer for identity_provider={provider} "
                                  f"(expected {expected}, or leave it empty)")]  # fmt: skip
    return []


def validate_kubernetes_name(slug: object, kubernetes: object) -> str | None:
    becomes = "the Kubernetes Service name and the pods' label value"
    return validate_slug_fits(slug, kubernetes, KUBERNETES_NAME_MAX_LENGTH, "kubernetes", becomes)


# --- base families: cookiecutter.json's _base_families, one entry per base_image value --------
# The Dockerfiles, the Kubernetes Deployment and the README read an entry's fields, never the
# family's name; each field below is one of the facts they read (docs/maintaining/base-family.md).
BASE_FAMILY_TEXT_FIELDS = ("build_image", "runtime_image", "runtime_note", "development_note", "summary")
# How node and the init get into the runtime image, and its package manager: the combinations
# Dockerfile.production's runtime stage implements. A family of another shape needs a new block
# there first (and its entry here).
BASE_FAMILY_SHAPES = {
    # node and the init copied in from the (Debian) build image; apt only for OS upgrades.
    ("copied", "copied", "apt"),
    # the same with no package manager at all (distroless): no OS upgrades in the image.
    ("copied", "copied", None),
    # the official Node image is the runtime (npm removed); apk upgrades and installs the init.
    ("in-runtime-image", "package-manager", "apk"),
}
BASE_FAMILY_FIELDS = (*BASE_FAMILY_TEXT_FIELDS, "uid", "uid_account", "node", "init", "package_manager", "shell")
MIN_UID = 10000  # above every host account's uid: an escape lands in no one's account


def validate_base_family(name: str, family: object) -> list[str]:
    """Every problem with one _base_families entry, each naming the field."""
    if not isinstance(family, dict):
        return [f"{name}: an object of fields ({', '.join(BASE_FAMILY_FIELDS)}), not {family!r}"]
    problems = [f"{name}.{field}: missing" for field in BASE_FAMILY_FIELDS if field not in family]
    problems += [f"{name}.{field}: not a field of a base family" for field in family if field not in BASE_FAMILY_FIELDS]
    for field in (field for field in BASE_FAMILY_TEXT_FIELDS if field in family):
        value = family[field]
        if not isinstance(value, str) or not value.strip() or CONTROL_CHARACTERS.search(value):
            problems.append(f"{name}.{field}: {value!r} is not a one-line text")
    for field in ("build_image", "runtime_image"):
        value = family.get(field)
        if isinstance(value, str) and re.search(r"\s", value):
            problems.append(f"{name}.{field}: {value!r} is not an image reference (no spaces)")
    if "${NODE_VERSION}" not in str(family.get("build_image", "${NODE_VERSION}")):
        problems.append(name + ".build_image: must name the Node line as ${NODE_VERSION} (node:${NODE_VERSION}-...)")
    uid = family.get("uid", MIN_UID)
    if not isinstance(uid, int) or isinstance(uid, bool) or not MIN_UID <= uid < 2**31:
        problems.append(f"{name}.uid: {uid!r} is not a whole number from {MIN_UID} to {2**31 - 1}")
    account = family.get("uid_account")
    if account is not None and (not isinstance(account, str) or not re.fullmatch(r"[a-z_][a-z0-9_-]*", account)):
        problems.append(f"{name}.uid_account: {account!r} is not an account name (or null: the uid needs none)")
    if not isinstance(family.get("shell", True), bool):
        problems.append(f"{name}.shell: {family.get('shell')!r} is not true or false")
    shape = (family.get("node"), family.get("init"), family.get("package_manager"))
    if all(field in family for field in ("node", "init", "package_manager")) and shape not in BASE_FAMILY_SHAPES:
        known = "; ".join(f"node={n}, init={i}, package_manager={p}" for n, i, p in sorted(BASE_FAMILY_SHAPES, key=str))
        problems.append(
            f"{name}: node={shape[0]!r}, init={shape[1]!r}, package_manager={shape[2]!r} is no shape "
            f"Dockerfile.production implements ({known})"
        )
    elif shape[2] is not None and family.get("shell") is False:
        problems.append(f"{name}.shell: a runtime with a package manager runs its commands in a shell: true")
    return problems


def validate_base_image_family(base_image: object, families: object) -> list[str]:
    """The chosen base_image has a complete _base_families entry (a value added to the choice
    without one would otherwise fail deep in a template)."""
    if not isinstance(families, dict) or not isinstance(base_image, str):
        return []
    if base_image not in families:
        return [
            f"no entry for base_image={base_image!r}: add its facts to cookiecutter.json "
            "(docs/maintaining/base-family.md)"
        ]
    return validate_base_family(base_image, families[base_image])


def collect_errors(answers: dict, options: dict | None = None) -> list[str]:
    """Every problem with the answers, each as 'field: message'.

    `options` is the template's cookiecutter.json (see `template_options`): every
    choice and yes/no option it defines is checked. Left out, as when this file is
    imported from the template folder (the unit tests), the cookiecutter.json beside
    the hooks folder is used.
    """
    if options is None:
        options = json.loads((Path(__file__).resolve().parents[1] / "cookiecutter.json").read_text(encoding="utf-8"))
    checks: list[tuple[str, str | None]] = [(field, validate_free_text(answers.get(field))) for field in FREE_TEXT]
    checks += [
        ("project_slug", validate_project_slug(answers.get("project_slug"))),
        ("project_slug", validate_cloud_run_service_name(answers.get("project_slug"), answers.get("cloud_run"))),
        ("project_slug", validate_kubernetes_name(answers.get("project_slug"), answers.get("kubernetes"))),
        ("author_email", validate_author_email(answers.get("author_email", ""))),
        ("version", validate_version(answers.get("version"))),
        ("port", validate_port(answers.get("port"))),
    ]
    checks += [
        ("container_registry", validate_container_registry(answers.get("container_registry", ""))),
        ("npm_registry", validate_https_url(answers.get("npm_registry", ""))),
        ("auth_issuer", validate_https_url(answers.get("auth_issuer", ""))),
        ("auth_jwks_url", validate_https_url(answers.get("auth_jwks_url", ""))),
        ("image_repository", validate_image_repository(answers.get("image_repository", ""))),
    ]
    choices = choice_options(options)
    checks.append(("node_version", validate_node_version(answers.get("node_version"), choices.pop("node_version", []))))
    checks += [(field, validate_choice(answers.get(field), allowed)) for field, allowed in choices.items()]
    checks += [(field, validate_boolean(answers.get(field))) for field in boolean_options(options)]
    # The table the files are rendered with: the answers' (cookiecutter's context), else the options'.
    families = answers.get("_base_families", options.get("_base_families"))
    family_problems = validate_base_image_family(answers.get("base_image"), families)
    checks += [("_base_families", problem) for problem in family_problems]
    return [f"{field}: {message}{SLUG_HINT if field == 'project_slug' else ''}" for field, message in checks if message]


def warn_identity_provider_urls(answers: dict) -> None:
    problems = validate_identity_provider_urls(
        answers.get("identity_provider"), answers.get("auth_issuer", ""), answers.get("auth_jwks_url", "")
    )
    for field, message in problems:
        print(f"WARNING: {field}: {message}; the server refuses to start with it until it is fixed.", file=sys.stderr)


def validate_node_version(value: object, allowed: list) -> str | None:
    """An end-of-life line gets its own message (when it ended, what to choose), then the list check."""
    if isinstance(value, str) and value in END_OF_LIFE_NODE_VERSIONS:
        choose = ", ".join(allowed) if allowed else "a supported LTS line"
        return (
            f"Node.js {value} reached end-of-life on {END_OF_LIFE_NODE_VERSIONS[value]} and gets no "
            f"security fixes; choose one of the supported lines: {choose}"
        )
    return validate_choice(value, allowed) if allowed else None


def main() -> int:
    answers = json.loads(RENDERED_ANSWERS)
    options = template_options(answers)
    errors = collect_errors(answers, options)
    if errors:
        print("ERROR: the template answers are invalid; nothing was generated.", file=sys.stderr)
        for error in errors:
            print(f"  - {error}", file=sys.stderr)
        return 1
    warn_identity_provider_urls(answers)
    return 0


def remove_this_rendered_copy() -> None:
    """cookiecutter runs each hook from a rendered copy in the temporary folder and leaves it
    there, every answer in it: the copy removes itself (best effort), so generating leaves nothing
    behind. The template's own file (imported by the tests) is never removed."""
    here = Path(__file__)
    if here.name != "pre_gen_project.py":
        with contextlib.suppress(OSError):
            here.unlink()


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        remove_this_rendered_copy()
