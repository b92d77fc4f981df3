#!/usr/bin/env bash
# The plain manifests in deploy/ (`kubectl apply -k deploy/`) are the Helm chart deploy/helm/confkube rendered
# with its default values, release "confkube" in namespace "confkube", the Namespace object included and TLS
# from cert-manager (a chart-generated CA cannot be static). One file per chart template, and a
# kustomization.yaml listing them. test/deploy/chart.test.ts re-renders and compares, so they never drift.
#
#   scripts/render-manifests.sh                    rewrite deploy/*.yaml
#   scripts/render-manifests.sh --out DIR          write them to DIR instead
#   scripts/render-manifests.sh --stdout [-- ARGS] print the whole rendered stream (ARGS go to `helm template`,
#                                                  e.g. -- --set tls.mode=helm), for `kubectl apply --dry-run=server`
# helm comes from the pinned control-plane build (scripts/build-k8s.sh), or $HELM.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
K8S_VERSION="${CONFKUBE_K8S_VERSION:-1.36.3}"
out="$repo/deploy"
stdout=false
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --stdout) stdout=true; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "render-manifests: unknown argument $1" >&2; exit 2 ;;
  esac
done

helm="${HELM:-}"
if [ -z "$helm" ]; then
  if bin=$(bash "$repo/scripts/build-k8s.sh" --print 2>/dev/null); then helm="$bin/helm"; fi
fi
[ -n "$helm" ] && [ -x "$helm" ] || { echo "render-manifests: helm not found: run scripts/build-k8s.sh (it builds helm with the control plane) or set HELM" >&2; exit 1; }

render() {
  "$helm" template confkube "$repo/deploy/helm/confkube" --namespace confkube --kube-version "$K8S_VERSION" \
    --set createNamespace=true --set tls.mode=cert-manager \
    --set attestation.kek.existingSecret=confkube-attestation-kek "$@"
}

if $stdout; then
  render "${extra[@]}"
  exit 0
fi

stream=$(render)
mkdir -p "$out"
rm -f "$out"/*.yaml
# Split on Helm's "# Source: confkube/templates/<file>" markers: one output file per template.
files=$(awk -v out="$out" '
  /^# Source: confkube\/templates\// {
    name = $3; sub(/^confkube\/templates\//, "", name)
    file = out "/" name
    if (!(file in seen)) {
      seen[file] = 1; order[++n] = name
      print "# Rendered from deploy/helm/confkube (templates/" name ") by scripts/render-manifests.sh: edit the chart, then re-run the script." > file
    } else print "---" > file
    next
  }
  /^---$/ { next }
  { if (file) print > file }
  END { for (i = 1; i <= n; i++) print order[i] }' <<<"$stream")
{
  echo "# kubectl apply -k deploy/ — the chart's default values, TLS from cert-manager (install cert-manager first)."
  echo "# The signing keys' key-encryption key is yours to create (a static file must not carry one), once:"
  echo "#   kubectl -n confkube create secret generic confkube-attestation-kek --from-literal=kek=\"\$(openssl rand -base64 32)\""
  echo "# Rendered by scripts/render-manifests.sh from deploy/helm/confkube; do not edit by hand."
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  # The Namespace first, then the templates in name order.
  sort <<<"$files" | awk '$0 == "namespace.yaml" { print; next } { rest[++n] = $0 } END { for (i = 1; i <= n; i++) print rest[i] }' \
    | sed 's/^/  - /'
} > "$out/kustomization.yaml"
echo "render-manifests: wrote $(wc -l <<<"$files") manifest files and kustomization.yaml to $out" >&2
