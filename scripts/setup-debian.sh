#!/bin/sh
# The Debian packages the real-client tests run: the AWS CLI and botocore/boto3,
# Go with aws-sdk-go v1, wrk and hyperfine for the benchmarks, Harbor's registry
# (docker-registry: distribution 2.8.2 on aws-sdk-go v1.44) and skopeo to push
# to it, iproute2 for the network namespaces of the IMDS tests, openssl for the
# webhook's test certificates, buildah, podman and runc to build and run the
# image (test/image; crun refuses some hosts' hybrid cgroups, so the tests ask
# for runc), and prometheus (the server and promtool) for the alert rules'
# tests and the live alerting test (test/monitoring). As root, whatever is
# missing is installed; otherwise the missing ones and the command to install
# them are printed and this fails, before any test runs.
set -eu
debs="awscli python3-botocore python3-boto3 golang-go golang-github-aws-aws-sdk-go-dev wrk hyperfine docker-registry skopeo iproute2 openssl buildah podman runc prometheus"
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup: the tests need these Debian packages, and this is not a Debian system: $debs" >&2
  exit 1
fi
missing=""
for d in $debs; do
  dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing="$missing $d"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: the tests need Debian packages that are not installed:$missing" >&2
  echo "setup: install them as root, then run the tests again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
  exit 1
fi
echo "setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing >/dev/null
