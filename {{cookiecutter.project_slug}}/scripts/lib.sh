# shellcheck shell=bash
# Helpers shared by the scripts in this folder: source it, do not run it.
#
#   # shellcheck source=lib.sh
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Sourcing it moves to the project root (every script works from there), sets `docker`
# to the docker client (DOCKER, default: docker) and defines:
#   usage                  print the running script's header comment (its --help)
#   help_if_asked ARGS...  usage and exit 0 when the first argument is -h or --help
#   die MESSAGE            print "<script>: MESSAGE" to stderr and exit 2
#   log MESSAGE            print "==> MESSAGE" (progress)
#   warn MESSAGE           print "<script>: warning: MESSAGE" to stderr
#   print_cmd ARGS...      print a command so that it can be pasted into a shell
#   package_field KEY      a top-level string of package.json (name, version), without node
#   git_source_url         the git remote's URL, without any credentials in it
#   set_secret_args        array secret_args: the BuildKit --secret arguments (below)
#   set_extra_build_args   array extra_build_args: BUILD_ARGS split on spaces
#   set_label_args VERSION array label_args: the --build-args of the image's OCI labels
#
# Build secrets, only when given, never as --build-arg (build args stay in the image):
#   NPMRC_FILE   a private registry's .npmrc              -> --secret id=npmrc
#   NPM_CA_FILE  extra CA bundle (TLS-intercepting proxy) -> --secret id=ca
#                (NODE_EXTRA_CA_CERTS is used when NPM_CA_FILE is not set)
# Labels: VERSION, REVISION (git commit), CREATED (now, UTC) and SOURCE (the git remote,
# without credentials); REVISION, CREATED and SOURCE may be given in the environment.

script_path="$(cd "$(dirname "$0")" && pwd)/${0##*/}"
script_name="${0##*/}"
script_name="${script_name%.sh}"
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
# shellcheck disable=SC2034  # read by the sourcing scripts
docker="${DOCKER:-docker}"

usage() {
  sed -n '2,/^set -euo pipefail/p' "$script_path" | sed -e '$d' -e 's/^# \{0,1\}//'
}

help_if_asked() {
  case "${1:-}" in
    -h | --help) usage; exit 0 ;;
  esac
}

die() {
  printf '%s: %s\n' "$script_name" "$*" >&2
  exit 2
}

log() {
  printf '==> %s\n' "$*"
}

warn() {
  printf '%s: warning: %s\n' "$script_name" "$*" >&2
}

print_cmd() {
  local arg
  local out=()
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]]; then out+=("$arg"); else out+=("$(printf '%q' "$arg")"); fi
  done
  printf '%s\n' "${out[*]}"
}

package_field() {
  sed -n "/^  \"$1\": *\"/{s/^  \"$1\": *\"\([^\"]*\)\".*/\1/p;q;}" package.json
}

git_source_url() {
  git config --get remote.origin.url 2>/dev/null | sed -e 's#://[^/@]*@#://#' || true
}

# The set_* functions fill arrays that the sourcing script reads.
# shellcheck disable=SC2034
set_secret_args() {
  local ca_file="${NPM_CA_FILE:-${NODE_EXTRA_CA_CERTS:-}}"
  secret_args=()
  if [ -n "${NPMRC_FILE:-}" ]; then
    [ -f "$NPMRC_FILE" ] || die "NPMRC_FILE=$NPMRC_FILE is not a file"
    secret_args+=(--secret "id=npmrc,src=${NPMRC_FILE}")
  fi
  if [ -n "$ca_file" ]; then
    [ -f "$ca_file" ] || die "NPM_CA_FILE=$ca_file is not a file"
    secret_args+=(--secret "id=ca,src=${ca_file}")
  fi
}

# shellcheck disable=SC2034
set_extra_build_args() {
  extra_build_args=()
  if [ -n "${BUILD_ARGS:-}" ]; then
    read -r -a extra_build_args <<<"$BUILD_ARGS"
  fi
}

# shellcheck disable=SC2034
set_label_args() {
  local version="$1"
  local revision="${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
  local created="${CREATED:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}"
  local source_url="${SOURCE:-$(git_source_url)}"
  label_args=(
    --build-arg "VERSION=${version}"
    --build-arg "REVISION=${revision}"
    --build-arg "CREATED=${created}"
    --build-arg "SOURCE=${source_url:-unknown}"
  )
}
