#!/usr/bin/env bash
# Build the production image, tagged `latest` and the package.json version,
# with OCI labels (version, revision, created, source).
#
#   scripts/docker-build.sh [extra docker build arguments...]
#
# Environment:
#   DOCKER          docker client                                  (default: docker)
#   IMAGE           image name                                     (default: the package.json name)
#   BUILD_ARGS      extra build arguments, split on spaces, e.g.
#                   "--build-arg BUILD_IMAGE=mirror.example/node:{{ cookiecutter.node_version }}-bookworm-slim"
#   DOCKER_NETWORK  network for RUN steps, e.g. "host"             (default: the builder's)
#   NPMRC_FILE      .npmrc with private-registry credentials, passed as a build secret
#   NPM_CA_FILE     extra CA bundle (TLS-intercepting proxy), passed as a build secret;
#                   NODE_EXTRA_CA_CERTS is used when NPM_CA_FILE is not set.
# Secrets go through BuildKit secret mounts: never into an ARG, ENV or layer.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DOCKER="${DOCKER:-docker}"

# "key": "value" from package.json without needing node on the host.
package_field() {
  sed -n "s/^  \"$1\": *\"\([^\"]*\)\".*/\1/p" package.json | head -n 1
}

IMAGE="${IMAGE:-$(package_field name)}"
VERSION="$(package_field version)"
REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# Remote URL without any credentials embedded in it (https://user:token@host/...).
SOURCE="$(git remote get-url origin 2>/dev/null | sed -e 's#://[^/@]*@#://#' || true)"

args=(
  build
  --file Dockerfile.production
  --tag "${IMAGE}:latest"
  --tag "${IMAGE}:${VERSION}"
  --build-arg "VERSION=${VERSION}"
  --build-arg "REVISION=${REVISION}"
  --build-arg "CREATED=${CREATED}"
  --build-arg "SOURCE=${SOURCE:-unknown}"
)
if [ -n "${DOCKER_NETWORK:-}" ]; then
  args+=(--network "${DOCKER_NETWORK}")
fi
if [ -n "${NPMRC_FILE:-}" ]; then
  args+=(--secret "id=npmrc,src=${NPMRC_FILE}")
fi
CA_FILE="${NPM_CA_FILE:-}"
if [ -z "${CA_FILE}" ]; then
  CA_FILE="${NODE_EXTRA_CA_CERTS:-}"
fi
if [ -n "${CA_FILE}" ]; then
  args+=(--secret "id=ca,src=${CA_FILE}")
fi
if [ -n "${BUILD_ARGS:-}" ]; then
  read -r -a extra <<<"${BUILD_ARGS}"
  args+=("${extra[@]}")
fi

echo "Building ${IMAGE}:${VERSION} (revision ${REVISION})" >&2
DOCKER_BUILDKIT=1 "${DOCKER}" "${args[@]}" "$@" .
echo "Built ${IMAGE}:latest and ${IMAGE}:${VERSION}" >&2
