#!/usr/bin/env bash
# The local Debian 12 base image (no registry is reachable here): mmdebstrap builds a minbase
# root file system with Python 3.11 once, cached as a tarball under .run/stack/, and
# `docker import` turns it into $STACK_BASE_IMAGE. Both steps are skipped when their result exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
source "$here/env.sh"

tarball="$STACK_RUN/bookworm-minbase.tar"
if docker image inspect "$STACK_BASE_IMAGE" >/dev/null 2>&1; then
  echo "base: $STACK_BASE_IMAGE present"
  exit 0
fi
if [ ! -s "$tarball" ]; then
  command -v mmdebstrap >/dev/null || { echo "base.sh: mmdebstrap missing; run scripts/install-system-deps.sh" >&2; exit 1; }
  start=$(date +%s)
  # Python for the Airflow image, ca-certificates for HTTPS to PyPI and Debian.
  mmdebstrap --quiet --variant=minbase --format=tar \
    --include=python3.11,python3.11-venv,ca-certificates \
    bookworm "$tarball.part"
  mv "$tarball.part" "$tarball"
  echo "base: mmdebstrap $(($(date +%s) - start)) s"
fi
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["bash"]' \
  "$tarball" "$STACK_BASE_IMAGE" >/dev/null
echo "base: imported $STACK_BASE_IMAGE"
