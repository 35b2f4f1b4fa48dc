#!/usr/bin/env bash
# Build the production image with Cloud Build, push it to Artifact Registry
# and deploy deploy/cloud-run/service.yaml to Cloud Run.
#
#   PROJECT_ID=my-project REGION=europe-west1 scripts/deploy-cloud-run.sh
#
# Required environment:
#   PROJECT_ID        Google Cloud project id
#   REGION            Cloud Run and Artifact Registry region, e.g. europe-west1
# Optional environment:
#   IMAGE_REPOSITORY  where the image is pushed and pulled from, an Artifact Registry
#                     repository (Cloud Run pulls from there) (default: {% if "-docker.pkg.dev/" in cookiecutter.image_repository %}{{ cookiecutter.image_repository }}{% else %}REGION-docker.pkg.dev/PROJECT_ID/REPOSITORY/SERVICE{% endif %})
#   REPOSITORY        Artifact Registry docker repository   (default: containers)
#   SERVICE           Cloud Run service name               (default: {{ cookiecutter.project_slug }})
#   TAG               image tag            (default: <package.json version>-<git short sha>)
#   PUBLIC_URL        public https URL of the service
#                     (default: the deterministic https://SERVICE-PROJECT_NUMBER.REGION.run.app)
#   SERVICE_ACCOUNT   runtime service account e-mail (default: the project's default;
#                     a dedicated account with only the roles it needs is better)
#   BUILD_REGION      Cloud Build region (default: global)
# Options:
#   --skip-build      deploy the image TAG that is already in the registry
#   --dry-run         print the gcloud commands and the rendered service.yaml (DRY_RUN=1)
#   -h, --help        show this help
#
# One-time setup (see deploy/cloud-run/README.md):
#   gcloud services enable run.googleapis.com cloudbuild.googleapis.com \
#     artifactregistry.googleapis.com secretmanager.googleapis.com
#   gcloud artifacts repositories create containers --repository-format=docker --location=REGION
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

skip_build=0
dry_run="${DRY_RUN:-0}"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --skip-build) skip_build=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

[ -n "${PROJECT_ID:-}" ] || die "PROJECT_ID is not set (the Google Cloud project id)"
[ -n "${REGION:-}" ] || die "REGION is not set (e.g. REGION=europe-west1)"
if [ "$dry_run" != 1 ] && ! command -v gcloud >/dev/null 2>&1; then
  die "gcloud is not installed: https://cloud.google.com/sdk/docs/install"
fi
[ -f deploy/cloud-run/service.yaml ] || die "deploy/cloud-run/service.yaml is missing"
[ -f cloudbuild.yaml ] || die "cloudbuild.yaml is missing"

repository="${REPOSITORY:-containers}"
service="${SERVICE:-{{ cookiecutter.project_slug }}}"
tag="${TAG:-}"
if [ -z "$tag" ]; then
  sha="$(git rev-parse --short HEAD 2>/dev/null || true)"
  tag="$(package_field version)${sha:+-$sha}"
fi
{%- if "-docker.pkg.dev/" in cookiecutter.image_repository %}
# image_repository, an Artifact Registry repository: Cloud Run pulls from Artifact Registry.
image_repository="${IMAGE_REPOSITORY:-{{ cookiecutter.image_repository }}}"
{%- else %}
# image_repository ({{ cookiecutter.image_repository }}) is not in Artifact Registry, which Cloud Run
# pulls from: the image goes to the region's Artifact Registry repository instead.
image_repository="${IMAGE_REPOSITORY:-${REGION}-docker.pkg.dev/${PROJECT_ID}/${repository}/${service}}"
{%- endif %}
image="${image_repository}:${tag}"
source_url="$(git_source_url)"

# Run a command, or with --dry-run print it (prefixed with "+ ", as `set -x` would).
run() {
  if [ "$dry_run" = 1 ]; then
    printf '+ '
    print_cmd "$@"
  else
    "$@"
  fi
}

if [ "$skip_build" != 1 ]; then
  log "Building and pushing ${image} with Cloud Build"
  build_args=(builds submit --project="$PROJECT_ID" --config=cloudbuild.yaml
    --substitutions="_REGION=${REGION},_REPOSITORY=${repository},_SERVICE=${service},_TAG=${tag},_SOURCE=${source_url},_DEPLOY=false,_IMAGE_REPOSITORY=${image_repository}")
  [ -n "${BUILD_REGION:-}" ] && build_args+=(--region="$BUILD_REGION")
  run gcloud "${build_args[@]}" .
fi

public_url="${PUBLIC_URL:-}"
if [ -z "$public_url" ]; then
  if [ "$dry_run" = 1 ]; then
    number=PROJECT_NUMBER
  else
    number="$(gcloud projects describe "$PROJECT_ID" --format='value(projectNumber)')"
  fi
  public_url="https://${service}-${number}.${REGION}.run.app"
fi

rendered="$(mktemp "${TMPDIR:-/tmp}/service.XXXXXX.yaml")"
trap 'rm -f "$rendered"' EXIT
sed -e "s|__IMAGE__|${image}|" \
  -e "s|__PUBLIC_URL__|${public_url}|" \
  -e "s|^\( *name: \){{ cookiecutter.project_slug }}$|\1${service}|" \
  deploy/cloud-run/service.yaml >"$rendered"
if [ -n "${SERVICE_ACCOUNT:-}" ]; then
  sed -i.bak "s|__SERVICE_ACCOUNT__|${SERVICE_ACCOUNT}|" "$rendered"
else
  sed -i.bak '/serviceAccountName: __SERVICE_ACCOUNT__/d' "$rendered"
fi
rm -f "${rendered}.bak"

log "Deploying ${service} to Cloud Run in ${REGION} (PUBLIC_URL=${public_url})"
if [ "$dry_run" = 1 ]; then
  cat "$rendered"
fi
run gcloud run services replace "$rendered" --project="$PROJECT_ID" --region="$REGION"

if [ "$dry_run" != 1 ]; then
  url="$(gcloud run services describe "$service" --project="$PROJECT_ID" --region="$REGION" --format='value(status.url)')"
  log "Deployed: ${url}"
  echo "    health: curl ${url}/health"
  echo "    MCP endpoint: ${url}/mcp (bearer authentication)"
fi
