#!/usr/bin/env bash
# Scan the production image for known vulnerabilities, then audit the
# production npm dependencies.
#
#   scripts/scan-image.sh [options] [IMAGE]
#
# IMAGE defaults to "<package.json name>:latest" (what scripts/docker-build.sh
# tags). The image scanner is the first one found of trivy, grype and
# docker scout (or the one chosen with --scanner / SCANNER). `docker scan`
# (Snyk) was retired in 2023 and is not used.
#
# Options (environment variable in brackets):
#   -s, --scanner NAME   trivy | grype | scout | auto            [SCANNER=auto]
#       --severity LIST  severities that fail the scan           [SEVERITY=HIGH,CRITICAL]
#       --all-vulns      also fail on vulnerabilities with no fix [IGNORE_UNFIXED=0]
#       --skip-audit     do not run `npm audit --omit=dev`       [SKIP_NPM_AUDIT=1]
#       --audit-level L  npm audit level: low|moderate|high|critical [AUDIT_LEVEL=high]
#       --skip-image     only run npm audit                      [SKIP_IMAGE_SCAN=1]
#   -h, --help           show this help
# DOCKER names the docker client for docker scout (default: docker).
#
# Exit status: 0 when every step passed, 1 when a step found problems,
# 2 on a usage error or when no image scanner is installed.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

scanner="${SCANNER:-auto}"
severity="${SEVERITY:-HIGH,CRITICAL}"
ignore_unfixed="${IGNORE_UNFIXED:-1}"
skip_audit="${SKIP_NPM_AUDIT:-0}"
skip_image="${SKIP_IMAGE_SCAN:-0}"
audit_level="${AUDIT_LEVEL:-high}"
image="${IMAGE:-}"

while [ "$#" -gt 0 ]; do
  case "$1" in
    -s | --scanner) [ "$#" -ge 2 ] || die "$1 needs a value"; scanner="$2"; shift 2 ;;
    --severity) [ "$#" -ge 2 ] || die "$1 needs a value"; severity="$2"; shift 2 ;;
    --all-vulns) ignore_unfixed=0; shift ;;
    --skip-audit) skip_audit=1; shift ;;
    --audit-level) [ "$#" -ge 2 ] || die "$1 needs a value"; audit_level="$2"; shift 2 ;;
    --skip-image) skip_image=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) image="$1"; shift ;;
  esac
done

severity="$(printf '%s' "$severity" | tr '[:lower:]' '[:upper:]')"

# The lowest severity of the list: grype fails at or above one threshold.
lowest_severity() {
  local level
  for level in LOW MEDIUM HIGH CRITICAL; do
    case ",$severity," in *",$level,"*) printf '%s' "$level" | tr '[:upper:]' '[:lower:]'; return ;; esac
  done
  printf 'high'
}

have() { command -v "$1" >/dev/null 2>&1; }
have_scout() { have "$docker" && "$docker" scout version >/dev/null 2>&1; }

pick_scanner() {
  case "$scanner" in
    auto)
      if have trivy; then echo trivy
      elif have grype; then echo grype
      elif have_scout; then echo scout
      else echo none
      fi ;;
    trivy | grype) if have "$scanner"; then echo "$scanner"; else echo none; fi ;;
    scout) if have_scout; then echo scout; else echo none; fi ;;
    *) die "unknown scanner '$scanner' (trivy, grype, scout or auto)" ;;
  esac
}

status=0

if [ "$skip_image" != 1 ]; then
  chosen="$(pick_scanner)"
  if [ "$chosen" = none ]; then
    cat >&2 <<EOF
scan-image: no image scanner found (wanted: ${scanner}).
Install one of these and run the script again:
  - Trivy:        https://trivy.dev (apt/brew/binary release; 'trivy image IMAGE')
  - Grype:        https://github.com/anchore/grype
  - Docker Scout: the 'docker scout' CLI plugin (included in Docker Desktop)
'docker scan' was retired in 2023 and is not supported.
Use --skip-image (SKIP_IMAGE_SCAN=1) to run only the npm audit.
EOF
    exit 2
  fi

  if [ -z "$image" ]; then
    image="$(package_field name):latest"
  fi

  log "Scanning ${image} with ${chosen} (fail on: ${severity})"
  case "$chosen" in
    trivy)
      args=(image --exit-code 1 --severity "$severity" --no-progress)
      [ "$ignore_unfixed" = 1 ] && args+=(--ignore-unfixed)
      trivy "${args[@]}" "$image" || status=1
      ;;
    grype)
      args=(--fail-on "$(lowest_severity)")
      [ "$ignore_unfixed" = 1 ] && args+=(--only-fixed)
      grype "${args[@]}" "$image" || status=1
      ;;
    scout)
      args=(cves --exit-code --only-severity "$(printf '%s' "$severity" | tr '[:upper:]' '[:lower:]')")
      [ "$ignore_unfixed" = 1 ] && args+=(--only-fixed)
      "$docker" scout "${args[@]}" "$image" || status=1
      ;;
  esac
  if [ "$status" -ne 0 ]; then
    warn "the image scan found vulnerabilities (or failed): see above"
  fi
fi

if [ "$skip_audit" != 1 ]; then
  have npm || die "npm is not installed (use --skip-audit / SKIP_NPM_AUDIT=1 to skip the npm audit)"
  log "npm audit --omit=dev --audit-level=${audit_level}"
  if ! npm audit --omit=dev --audit-level="$audit_level"; then
    warn "npm audit found vulnerable production dependencies (or failed): see above"
    status=1
  fi
fi

if [ "$status" -eq 0 ]; then
  log "Security scan passed"
fi
exit "$status"
