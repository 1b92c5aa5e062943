#!/bin/sh
# apt-get install PACKAGE... from the Debian archive exactly as it was at $DEBIAN_SNAPSHOT (a snapshot.debian.org
# time stamp such as 20260801T000000Z): the same date always gives the same package versions, and no Debian
# point release can remove them (snapshot.debian.org keeps every version ever published). Used by both
# Dockerfiles; the date is their DEBIAN_SNAPSHOT build argument.
set -eu
: "${DEBIAN_SNAPSHOT:?set DEBIAN_SNAPSHOT to a snapshot.debian.org time stamp, e.g. 20260801T000000Z}"
. /etc/os-release
rm -f /etc/apt/sources.list
cat > /etc/apt/sources.list.d/debian.sources <<SOURCES
Types: deb
URIs: http://snapshot.debian.org/archive/debian/${DEBIAN_SNAPSHOT}
Suites: ${VERSION_CODENAME} ${VERSION_CODENAME}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://snapshot.debian.org/archive/debian-security/${DEBIAN_SNAPSHOT}
Suites: ${VERSION_CODENAME}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# a snapshot's Release files are past their Valid-Until date by design; their signatures are still checked
apt-get -o Acquire::Check-Valid-Until=false -o Acquire::Retries=5 update
apt-get -o Acquire::Retries=5 install -y --no-install-recommends "$@"
rm -rf /var/lib/apt/lists/*
