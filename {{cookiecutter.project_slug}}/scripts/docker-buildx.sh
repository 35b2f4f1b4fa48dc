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

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  sed -n '2,/^set -euo pipefail/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

die() {
  printf 'docker-buildx: %s\n' "$*" >&2
  exit 2
}

output="${OUTPUT:-}"
platforms="${PLATFORMS:-}"
builder="${BUILDER:-}"
dry_run="${DRY_RUN:-0}"
read -r -a extra_tags <<<"${EXTRA_TAGS:-}"

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

command -v node >/dev/null 2>&1 || die "node is needed to read package.json"
name="$(node -p "require('./package.json').name")"
version="${VERSION:-$(node -p "require('./package.json').version")}"

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
  echo "docker-buildx: warning: '$image' has no registry prefix: it will be pushed to Docker Hub" \
    "(set REGISTRY or IMAGE to push elsewhere)" >&2
fi

node_version="${NODE_VERSION:-}"
if [ -z "$node_version" ] && [ -f .nvmrc ]; then
  node_version="$(tr -d ' \tv\r\n' <.nvmrc)"
fi
revision="${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
created="${CREATED:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}"
# Remote URL without any credentials embedded in it (https://user:token@host/...).
source_url="${SOURCE:-$(git config --get remote.origin.url 2>/dev/null | sed -e 's#://[^/@]*@#://#' || true)}"
source_url="${source_url:-unknown}"

cmd=(docker buildx build)
[ -n "$builder" ] && cmd+=(--builder "$builder")
cmd+=(
  --platform "$platforms"
  --file Dockerfile.production
  --target runtime
  --tag "${image}:latest"
  --tag "${image}:${version}"
)
for t in "${extra_tags[@]}"; do
  [ -n "$t" ] && cmd+=(--tag "$t")
done
[ -n "$node_version" ] && cmd+=(--build-arg "NODE_VERSION=${node_version}")
[ -n "${BUILD_IMAGE:-}" ] && cmd+=(--build-arg "BUILD_IMAGE=${BUILD_IMAGE}")
[ -n "${RUNTIME_IMAGE:-}" ] && cmd+=(--build-arg "RUNTIME_IMAGE=${RUNTIME_IMAGE}")
cmd+=(
  --build-arg "VERSION=${version}"
  --build-arg "REVISION=${revision}"
  --build-arg "CREATED=${created}"
  --build-arg "SOURCE=${source_url}"
)
if [ -n "${NPMRC_FILE:-}" ]; then
  [ -f "$NPMRC_FILE" ] || die "NPMRC_FILE=$NPMRC_FILE is not a file"
  cmd+=(--secret "id=npmrc,src=${NPMRC_FILE}")
fi
ca_file="${NPM_CA_FILE:-${NODE_EXTRA_CA_CERTS:-}}"
if [ -n "$ca_file" ]; then
  [ -f "$ca_file" ] || die "NPM_CA_FILE=$ca_file is not a file"
  cmd+=(--secret "id=ca,src=${ca_file}")
fi
if [ -n "${BUILD_ARGS:-}" ]; then
  read -r -a extra_args <<<"${BUILD_ARGS}"
  cmd+=("${extra_args[@]}")
fi
if [ -n "${CACHE_REF:-}" ]; then
  cmd+=(--cache-from "type=registry,ref=${CACHE_REF}")
  [ "$output" = push ] && cmd+=(--cache-to "type=registry,ref=${CACHE_REF},mode=max")
fi
case "$output" in
  push) cmd+=(--push) ;;
  load) cmd+=(--load) ;;
esac
cmd+=(.)

# Print a command so that it can be pasted into a shell.
print_cmd() {
  local arg out=()
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]]; then out+=("$arg"); else out+=("$(printf '%q' "$arg")"); fi
  done
  printf '%s\n' "${out[*]}"
}

if [ "$dry_run" = 1 ]; then
  print_cmd "${cmd[@]}"
  exit 0
fi

command -v docker >/dev/null 2>&1 || die "docker is not installed"
docker buildx version >/dev/null 2>&1 ||
  die "the docker buildx plugin is not installed (https://docs.docker.com/build/install-buildx/)"

if [ -z "$output" ]; then
  echo "docker-buildx: neither --push nor --load: the image stays in the build cache (a build check)" >&2
fi
echo "==> Building ${image}:latest and ${image}:${version} for ${platforms}"
"${cmd[@]}"
