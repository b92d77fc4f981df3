#!/usr/bin/env bash
# Builds the test control plane once and caches it by version (docs/e2e.md):
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  from k8s.io/kubernetes
#   etcd                                                                from go.etcd.io/etcd/server/v3
#   helm                                                                from helm.sh/helm/v3
#   CRDs of cert-manager and the Prometheus operator (crds/), so the chart's Certificates, Issuers, PodMonitors and
#   PrometheusRules are validated by the API server against their real schemas; from those projects' Go modules
# Everything comes from the Go module proxy. k8s.io/kubernetes is not meant to be imported: its go.mod points
# every k8s.io/* staging module at ./staging, which a module download does not contain, so a small wrapper
# module pins each of them to the published v0.<minor>.<patch> of the same release.
#
#   scripts/build-k8s.sh            build what is missing, print the bin folder last
#   scripts/build-k8s.sh --print    print the bin folder only (exit 1 when incomplete)
set -euo pipefail

K8S_VERSION="${CONFKUBE_K8S_VERSION:-1.36.3}"
ETCD_VERSION="${CONFKUBE_ETCD_VERSION:-3.6.16}"
HELM_VERSION="${CONFKUBE_HELM_VERSION:-3.22.0}"
CERT_MANAGER_VERSION="${CONFKUBE_CERT_MANAGER_VERSION:-1.21.2}"
PROMETHEUS_OPERATOR_VERSION="${CONFKUBE_PROMETHEUS_OPERATOR_VERSION:-0.85.0}"
CACHE_ROOT="${CONFKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/confkube}"
OUT="$CACHE_ROOT/k8s-$K8S_VERSION"
BIN="$OUT/bin"
# The machine's own Go: a module that wanted a newer one must fail here, not download a toolchain.
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export CGO_ENABLED=0

BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd helm)
CRDS_DIR="$OUT/crds"
CRDS=(cert-manager.io_certificates.yaml cert-manager.io_issuers.yaml cert-manager.io_clusterissuers.yaml
      monitoring.coreos.com_podmonitors.yaml monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml)

complete() {
  for b in "${BINARIES[@]}"; do [ -x "$BIN/$b" ] || return 1; done
  for c in "${CRDS[@]}"; do [ -f "$CRDS_DIR/$c" ] || return 1; done
  return 0
}

if [ "${1:-}" = "--print" ]; then
  complete && { echo "$BIN"; exit 0; }
  exit 1
fi

if complete; then
  echo "control plane $K8S_VERSION cached in $BIN" >&2
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "build-k8s: Go is required (the Go module proxy provides every module)" >&2; exit 2; }
mkdir -p "$BIN"
start=$(date +%s)
step() { echo "[build-k8s +$(( $(date +%s) - start ))s] $*" >&2; }

minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
patch="${K8S_VERSION##*.}"
staging_version="v0.$minor.$patch"

# --- Kubernetes -------------------------------------------------------------------------------------------
if ! [ -x "$BIN/kube-apiserver" ] || ! [ -x "$BIN/kube-controller-manager" ] || ! [ -x "$BIN/kube-scheduler" ] \
   || ! [ -x "$BIN/kubectl" ]; then
  mod="$OUT/src/kubernetes"
  mkdir -p "$mod"
  step "downloading k8s.io/kubernetes v$K8S_VERSION"
  upstream_mod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  {
    echo "module confkube.test/k8s-testenv"
    echo
    echo "go $(sed -n 's/^go //p' "$upstream_mod")"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$upstream_mod" | sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 '"$staging_version"'#p'
    echo ")"
  } > "$mod/go.mod"
  cat > "$mod/tools.go" <<'EOF'
//go:build tools

// Package tools keeps the control plane's commands in this module's build list.
package tools
EOF
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
  ldflags="$ldflags -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [ -x "$BIN/$cmd" ] && continue
    step "building $cmd (first build on 2 cores: several minutes each)"
    (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$BIN/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
    mv "$BIN/$cmd.tmp" "$BIN/$cmd"
  done
fi

# --- etcd -------------------------------------------------------------------------------------------------
if ! [ -x "$BIN/etcd" ]; then
  mod="$OUT/src/etcd"
  mkdir -p "$mod"
  printf 'module confkube.test/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" > "$mod/go.mod"
  step "building etcd v$ETCD_VERSION"
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$BIN/etcd.tmp" "$BIN/etcd"
fi

# --- helm -------------------------------------------------------------------------------------------------
if ! [ -x "$BIN/helm" ]; then
  mod="$OUT/src/helm"
  mkdir -p "$mod"
  printf 'module confkube.test/helm\n\ngo 1.24\n\nrequire helm.sh/helm/v3 v%s\n' "$HELM_VERSION" > "$mod/go.mod"
  step "building helm v$HELM_VERSION"
  (cd "$mod" && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
    -o "$BIN/helm.tmp" helm.sh/helm/v3/cmd/helm)
  mv "$BIN/helm.tmp" "$BIN/helm"
fi

# --- CRDs -------------------------------------------------------------------------------------------------
if ! [ -f "$CRDS_DIR/${CRDS[-1]}" ] || ! [ -f "$CRDS_DIR/${CRDS[0]}" ]; then
  step "fetching cert-manager v$CERT_MANAGER_VERSION and prometheus-operator v$PROMETHEUS_OPERATOR_VERSION CRDs"
  mkdir -p "$CRDS_DIR"
  cm=$(go mod download -json "github.com/cert-manager/cert-manager@v$CERT_MANAGER_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  po=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@v$PROMETHEUS_OPERATOR_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  for c in "${CRDS[@]}"; do
    case "$c" in
      cert-manager.io_*) cp "$cm/deploy/crds/$c" "$CRDS_DIR/$c" ;;
      *) cp "$po/example/prometheus-operator-crd/$c" "$CRDS_DIR/$c" ;;
    esac
    chmod 644 "$CRDS_DIR/$c"
  done
fi

echo "$K8S_VERSION" > "$OUT/VERSION"
step "done: $BIN ($(du -sh "$BIN" | cut -f1))"
echo "$BIN"
