#!/usr/bin/env bash
# Pin the production overlay to one pushed image, by digest:
#
#   scripts/pin-image.sh {{ cookiecutter.image_repository }}@sha256:<64 hex digits>
#
# Rewrites the `images:` entry of deploy/kubernetes/overlays/production/kustomization.yaml
# (newName: the repository; digest: replaces newTag), so `kubectl apply -k` deploys exactly
# the image CI built, tested and signed: a tag can be moved, a digest cannot. CI prints the
# digest of every image it pushes. Commit the change, then apply the overlay.
#
# Options:
#   -h, --help        show this help
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
help_if_asked "$@"

[ "$#" -eq 1 ] || die "expected one argument, REPOSITORY@sha256:DIGEST (see --help)"
reference="$1"
if ! printf '%s' "$reference" | grep -Eq '^[a-z0-9][a-z0-9.:_/-]*@sha256:[0-9a-f]{64}$'; then
  die "'$reference' is not REPOSITORY@sha256:<64 lowercase hex digits> (no tag)"
fi
repository="${reference%@*}"
digest="${reference#*@}"
overlay=deploy/kubernetes/overlays/production/kustomization.yaml
[ -f "$overlay" ] || die "$overlay is missing"

# The entry for the Deployment's image name: its newName line gets the repository, its
# newTag or digest line the digest. Everything else is copied unchanged.
updated="$(mktemp "${TMPDIR:-/tmp}/kustomization.XXXXXX")"
trap 'rm -f "$updated"' EXIT
awk -v name="{{ cookiecutter.project_slug }}" -v repository="$repository" -v digest="$digest" '
  /^images:/ { in_images = 1; print; next }
  in_images && /^[^ #]/ { in_images = 0 }
  in_images && $1 == "-" && $2 == "name:" { in_entry = ($3 == name) }
  in_images && in_entry && $1 == "newName:" { sub(/newName:.*/, "newName: " repository); done_name = 1 }
  in_images && in_entry && ($1 == "newTag:" || $1 == "digest:") { sub(/(newTag|digest):.*/, "digest: " digest); done_digest = 1 }
  { print }
  END { if (!done_name || !done_digest) exit 3 }
' "$overlay" >"$updated" || die "$overlay has no images: entry for {{ cookiecutter.project_slug }} with newName and newTag or digest"
cat "$updated" >"$overlay"
log "deploy/kubernetes/overlays/production now deploys ${repository}@${digest}"
