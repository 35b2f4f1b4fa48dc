"""Validate every answer before a single file is written.

Each validator takes one answer and returns an error message (or None). A refusal
names the field, explains the rule, and exits non-zero; cookiecutter then removes
the half-made project directory, so nothing is left on disk.

The answers arrive as JSON rendered into the string below. Keeping Jinja inside a
raw string makes this file importable (and its validators unit-testable) before
rendering too.
"""

from __future__ import annotations

import json
import re
import sys

RENDERED_ANSWERS = r"""{{ cookiecutter | jsonify }}"""

# npm package names and Docker repository names overlap on this shape: lowercase
# alphanumerics separated by single hyphens, starting with a letter.
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
SLUG_MAX_LENGTH = 128
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

NODE_VERSIONS = ("26", "24", "22", "20")
END_OF_LIFE_NODE_VERSIONS = {"20": "2026-04-30"}
CHOICES = {
    "node_version": NODE_VERSIONS,
    "base_image": ("trixie-slim", "bookworm-slim", "alpine", "distroless"),
    "bundler": ("tsc", "esbuild"),
    "init_system": ("dumb-init", "tini", "none"),
    "auth_mode": ("jwt", "api_key"),
    "ci": ("github", "gitlab", "none"),
    "license": ("MIT", "Apache-2.0", "BSD-3-Clause", "proprietary"),
}
BOOLEANS = ("cloud_run", "security_scanning", "multi_platform", "kubernetes")
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


def validate_cloud_run_service_name(slug: object, cloud_run: object) -> str | None:
    if cloud_run is True and isinstance(slug, str) and len(slug) > CLOUD_RUN_SERVICE_MAX_LENGTH:
        return (
            f"must be at most {CLOUD_RUN_SERVICE_MAX_LENGTH} characters with cloud_run=yes "
            "(it becomes the Cloud Run service name)"
        )
    return None


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


def validate_choice(field: str, value: object) -> str | None:
    allowed = CHOICES[field]
    if value not in allowed:
        return f"{value!r} is not one of: {', '.join(allowed)}"
    return None


def validate_boolean(value: object) -> str | None:
    if not isinstance(value, bool):
        return f"{value!r} is not a yes/no answer (use true/false, yes/no, y/n, 1/0)"
    return None


def validate_kubernetes_name(slug: object, kubernetes: object) -> str | None:
    if kubernetes is True and isinstance(slug, str) and len(slug) > KUBERNETES_NAME_MAX_LENGTH:
        return (
            f"must be at most {KUBERNETES_NAME_MAX_LENGTH} characters with kubernetes=yes "
            "(it becomes the Kubernetes Service name and the pods' label value)"
        )
    return None


def collect_errors(answers: dict) -> list[str]:
    """Every problem with the answers, each as 'field: message'."""
    checks: list[tuple[str, str | None]] = [(field, validate_free_text(answers.get(field))) for field in FREE_TEXT]
    checks += [
        ("project_slug", validate_project_slug(answers.get("project_slug"))),
        ("project_slug", validate_cloud_run_service_name(answers.get("project_slug"), answers.get("cloud_run"))),
        ("project_slug", validate_kubernetes_name(answers.get("project_slug"), answers.get("kubernetes"))),
        ("author_email", validate_author_email(answers.get("author_email", ""))),
        ("version", validate_version(answers.get("version"))),
        ("port", validate_port(answers.get("port"))),
    ]
    checks += [(field, validate_choice(field, answers.get(field))) for field in CHOICES]
    checks += [(field, validate_boolean(answers.get(field))) for field in BOOLEANS]
    return [f"{field}: {message}" for field, message in checks if message]


def warn_end_of_life_node(node_version: str) -> None:
    if node_version in END_OF_LIFE_NODE_VERSIONS:
        print(
            f"WARNING: node_version: Node.js {node_version} reached end-of-life on "
            f"{END_OF_LIFE_NODE_VERSIONS[node_version]} and gets no security fixes; "
            "choose 24 (LTS) unless you must run on it.",
            file=sys.stderr,
        )


def main() -> int:
    answers = json.loads(RENDERED_ANSWERS)
    errors = collect_errors(answers)
    if errors:
        print("ERROR: the template answers are invalid; nothing was generated.", file=sys.stderr)
        for error in errors:
            print(f"  - {error}", file=sys.stderr)
        return 1
    warn_end_of_life_node(answers["node_version"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
