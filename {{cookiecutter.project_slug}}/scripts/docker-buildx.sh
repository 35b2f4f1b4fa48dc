#!/usr/bin/env bash
# Build the production image for several platforms (default linux/amd64 and
# linux/arm64) with docker buildx, tagged "latest" and the package.json version.
#
#   scripts/docker-buildx.sh --push [options]     # build all platforms, push
#   scripts/docker-buildx.sh --load [options]     # build one platform, load
#
# A multi-platform image is a manifest list of one image per platform. The
# classic Docker image store holds one platform per tag, so `--load` of a
# multi-platform build fails there ("docker exporter does not currently
# support exporting manifest lists"): push it to a registry instead, or load
# a single platform (--load defaults to the host's platform), or enable the
# containerd image store of Docker Engine (then set ALLOW_MULTI_LOAD=1).
# Without --push or --load the result stays in the build cache only (a check).
#
# Options (environment variable in brackets):
#       --push             push to the registry (IMAGE must name it)  [OUTPUT=push]
#       --load             load into the local image store             [OUTPUT=load]
#       --platform LIST    comma-separated platforms                   [PLATFORMS]
#   -t, --tag TAG          extra tag (repeatable)                      [EXTRA_TAGS, space-separated]
#       --builder NAME     buildx builder to use                       [BUILDER]
#       --dry-run          print the docker command, do not run it     [DRY_RUN=1]
#   -h, --help             show this help
# More environment:
#   DOCKER         docker client, default "docker"
#   IMAGE          image name, default "<REGISTRY/>" + package.json name
#   REGISTRY       registry prefix, e.g. europe-docker.pkg.dev/my-project/containers
#   VERSION        version tag and label, default package.json version
#   NODE_VERSION   Node.js major, default from .nvmrc
#   BUILD_IMAGE, RUNTIME_IMAGE  base image overrides (private mirrors)
#   NPMRC_FILE     .npmrc for a private registry, passed as build secret "npmrc"
#   NPM_CA_FILE    extra CA bundle (TLS-intercepting proxy), build secret "ca";
#                  NODE_EXTRA_CA_CERTS is used when NPM_CA_FILE is not set
#   BUILD_ARGS     extra build arguments, split on spaces
#   CACHE_REF      registry ref for --cache-from/--cache-to (type=registry)
# Secrets are passed with --secret only when given: never as build args.
#
# Emulated arm64 builds need QEMU binfmt handlers on an amd64 host, e.g.
#   docker run --privileged --rm tonistiigi/binfmt --install arm64
# and a builder with the docker-container driver, e.g.
#   docker buildx create --name multiarch --driver docker-container --use
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dry_run="${DRY_RUN:-0}"
read -r -a extra_tags <<<"${EXTRA_TAGS:-}"
output="${OUTPUT:-}"
platforms="${PLATFORMS:-}"
builder="${BUILDER:-}"

while [ "$#" -gt 0 ]; do
  case "$1" in
    --push) output=push; shift ;;
    --load) output=load; shift ;;
    --platform) [ "$#" -ge 2 ] || die "$1 needs a value"; platforms="$2"; shift 2 ;;
    -t | --tag) [ "$#" -ge 2 ] || die "$1 needs a value"; extra_tags+=("$2"); shift 2 ;;
    --builder) [ "$#" -ge 2 ] || die "$1 needs a value"; builder="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

case "$output" in
  "" | push | load) ;;
  *) die "OUTPUT must be push or load, not '$output'" ;;
esac

name="$(package_field name)"
version="${VERSION:-$(package_field version)}"

if [ -n "${IMAGE:-}" ]; then
  image="$IMAGE"
elif [ -n "${REGISTRY:-}" ]; then
  image="${REGISTRY%/}/${name}"
else
  image="$name"
fi

if [ -z "$platforms" ]; then
  if [ "$output" = load ]; then
    case "$(uname -m)" in
      aarch64 | arm64) platforms=linux/arm64 ;;
      *) platforms=linux/amd64 ;;
    esac
  else
    platforms=linux/amd64,linux/arm64
  fi
fi

if [ "$output" = load ] && [[ "$platforms" == *,* ]] && [ "${ALLOW_MULTI_LOAD:-0}" != 1 ]; then
  die "--load cannot put a multi-platform image ($platforms) into the classic Docker image store.
Use --push (to a registry), or --load with a single --platform, or enable the containerd
image store and set ALLOW_MULTI_LOAD=1."
fi

if [ "$output" = push ] && [[ "$image" != */* ]]; then
  warn "'$image' has no registry prefix: it will be pushed to Docker Hub (set REGISTRY or IMAGE to push elsewhere)"
fi

node_version="${NODE_VERSION:-}"
if [ -z "$node_version" ] && [ -f .nvmrc ]; then
  node_version="$(tr -d ' \tv\r\n' <.nvmrc)"
fi
set_label_args "$version"
set_secret_args
set_extra_build_args

cmd=("$docker" buildx build)
[ -n "$builder" ] && cmd+=(--builder "$builder")
cmd+=(
  --platform "$platforms"
  --file Dockerfile.production
  --target runtime
  --tag "${image}:latest"
  --tag "${image}:${version}"
)
for tag in "${extra_tags[@]}"; do
  [ -n "$tag" ] && cmd+=(--tag "$tag")
done
[ -n "$node_version" ] && cmd+=(--build-arg "NODE_VERSION=${node_version}")
[ -n "${BUILD_IMAGE:-}" ] && cmd+=(--build-arg "BUILD_IMAGE=${BUILD_IMAGE}")
[ -n "${RUNTIME_IMAGE:-}" ] && cmd+=(--build-arg "RUNTIME_IMAGE=${RUNTIME_IMAGE}")
cmd+=("${label_args[@]}" "${secret_args[@]}" "${extra_build_args[@]}")
if [ -n "${CACHE_REF:-}" ]; then
  cmd+=(--cache-from "type=registry,ref=${CACHE_REF}")
  [ "$output" = push ] && cmd+=(--cache-to "type=registry,ref=${CACHE_REF},mode=max")
fi
case "$output" in
  push) cmd+=(--push) ;;
  load) cmd+=(--load) ;;
esac
cmd+=(.)

if [ "$dry_run" = 1 ]; then
  print_cmd "${cmd[@]}"
  exit 0
fi

command -v "$docker" >/dev/null 2>&1 || die "docker is not installed (or set DOCKER to its client)"
"$docker" buildx version >/dev/null 2>&1 ||
  die "the docker buildx plugin is not installed (https://docs.docker.com/build/install-buildx/)"

if [ -z "$output" ]; then
  warn "neither --push nor --load: the image stays in the build cache (a build check)"
fi
log "Building ${image}:latest and ${image}:${version} for ${platforms}"
"${cmd[@]}"
