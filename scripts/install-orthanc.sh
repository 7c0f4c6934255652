#!/usr/bin/env sh
# Installs the local DICOMweb store (Orthanc + its DICOMweb plugin) from Debian/Ubuntu packages, as root.
# The test harness runs it when Orthanc is missing and it runs as root (CI); otherwise run it with sudo.
# The packages' own service is not used: npm start and the tests run their own Orthanc on a free port.
set -eu
if command -v Orthanc >/dev/null 2>&1 && { [ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || [ -e /usr/lib/orthanc/libOrthancDicomWeb.so ]; }; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-orthanc: run as root (sudo $0), or: sudo apt-get install -y orthanc orthanc-dicomweb" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-orthanc: no apt-get; install Orthanc 1.9+ and its DICOMweb plugin by hand (https://www.orthanc-server.com)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d 101: the package's init script must not start a system-wide Orthanc on 8042/4242.
had_policy=0
[ -e /usr/sbin/policy-rc.d ] && had_policy=1
[ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d; }
apt-get install -y -qq --no-install-recommends orthanc orthanc-dicomweb
[ "$had_policy" = 1 ] || rm -f /usr/sbin/policy-rc.d
