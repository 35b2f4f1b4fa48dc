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
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

help_if_asked "$@"
image="${IMAGE:-$(package_field name)}"
version="$(package_field version)"
set_label_args "$version"
set_secret_args
set_extra_build_args

args=(build --file Dockerfile.production --tag "${image}:latest" --tag "${image}:${version}" "${label_args[@]}")
if [ -n "${DOCKER_NETWORK:-}" ]; then
  args+=(--network "$DOCKER_NETWORK")
fi
args+=("${secret_args[@]}" "${extra_build_args[@]}")

log "Building ${image}:${version}"
DOCKER_BUILDKIT=1 "$docker" "${args[@]}" "$@" .
log "Built ${image}:latest and ${image}:${version}"
