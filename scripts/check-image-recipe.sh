#!/usr/bin/env bash
# Proves the Containerfile without a container engine: its stages' COPY and RUN steps are replayed in a clean
# temporary folder (each stage's WORKDIR becomes a folder there), then the image's ENTRYPOINT is run as the
# image's USER, from a read-only copy, for each component's --help and a short start-up:
#   node discover   on a fixture host root (a DCsv3 node: EPC on two NUMA nodes)
#   webhook         --review of the AKS FAQ's Job (EPC alias rewritten), then serving /healthz over TLS
#   serve           SQLite in a temporary folder, simulation, /.well-known/openid-configuration answered
#   node-agent      on the fixture host root without a cluster, /healthz and /metrics answered
# A devDependency the runtime imports, or a file the image lacks, fails here.
#
#   scripts/check-image-recipe.sh [--keep]   (--keep leaves the folder for a look)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
recipe="$repo/Containerfile"
work=$(mktemp -d "${TMPDIR:-/tmp}/confkube-image.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "${1:-}" != "--keep" ]; then chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap 'cleanup "${KEEP:-}"' EXIT
[ "${1:-}" = "--keep" ] && KEEP=--keep
start=$(date +%s)
say() { echo "[check-image +$(( $(date +%s) - start ))s] $*" >&2; }
fail() { echo "check-image-recipe: $*" >&2; exit 1; }

# --- replay the recipe -------------------------------------------------------------------------------------
declare -A stage_root stage_workdir
stage='' root='' workdir='' user='' entrypoint=''
envs=()

# Path inside the stage being built (absolute, or relative to its WORKDIR) → path in the temporary folder.
in_stage() {
  local s=$1 p=$2 wd=${stage_workdir[$1]}
  case "$p" in
    /*) ;;
    *) p="$wd/${p#./}" ;;
  esac
  p="${p%/}"
  [ "$p" = "$wd" ] && { echo "${stage_root[$s]}"; return; }
  case "$p" in
    "$wd"/*) echo "${stage_root[$s]}/${p#"$wd"/}" ;;
    *) fail "$p is outside stage $s's WORKDIR $wd: this check maps only paths under WORKDIR" ;;
  esac
}

copy() {
  local from='' args=()
  for a in "$@"; do
    case "$a" in
      --from=*) from=${a#--from=} ;;
      --chown=*|--chmod=*|--link) ;;
      --*) fail "COPY option $a is not understood by this check" ;;
      *) args+=("$a") ;;
    esac
  done
  [ ${#args[@]} -ge 2 ] || fail "COPY needs a source and a destination: COPY $*"
  local dest=${args[-1]} n=$(( ${#args[@]} - 1 ))
  local target; target=$(in_stage "$stage" "$dest")
  for src in "${args[@]:0:$n}"; do
    local path
    if [ -n "$from" ]; then
      [ -n "${stage_root[$from]:-}" ] || fail "COPY --from=$from: no such stage"
      path=$(in_stage "$from" "$src")
    else
      case "$src" in /*|*..*) fail "COPY source $src leaves the build context" ;; esac
      path="$repo/${src#./}"
    fi
    [ -e "$path" ] || fail "COPY $src: $path does not exist"
    # As the engines do: a directory's contents go into the destination; several sources or a trailing /
    # make the destination a directory.
    if [ -d "$path" ]; then
      mkdir -p "$target"; cp -a "$path/." "$target/"
    elif [ $n -gt 1 ] || [ "${dest%/}" != "$dest" ]; then
      mkdir -p "$target"; cp -a "$path" "$target/"
    else
      mkdir -p "$(dirname "$target")"; cp -a "$path" "$target"
    fi
  done
}

# Logical lines: continuations joined, comments and blank lines dropped.
mapfile -t lines < <(sed -e 's/\r$//' "$recipe" | awk '
  /^[[:space:]]*#/ && !cont { next }
  { line = cont ? line " " $0 : $0 }
  /\\$/ { sub(/\\$/, "", line); cont = 1; next }
  { cont = 0; if (line ~ /[^[:space:]]/) print line; line = "" }')

for line in "${lines[@]}"; do
  read -r instr rest <<<"$line"
  case "${instr^^}" in
    ARG) ;;
    FROM)
      # FROM image [AS name]
      name=$(sed -n 's/.*[[:space:]][Aa][Ss][[:space:]]\+\([A-Za-z0-9_.-]\+\)[[:space:]]*$/\1/p' <<<"$rest")
      stage=${name:-stage${#stage_root[@]}}
      root="$work/$stage"; mkdir -p "$root"; chmod 755 "$root"
      stage_root[$stage]=$root; stage_workdir[$stage]=/; workdir=/; envs=(); user=''
      say "stage $stage" ;;
    WORKDIR)
      [ "$workdir" = / ] || fail "stage $stage: one WORKDIR per stage (this check maps it to the stage's folder)"
      workdir=$rest; stage_workdir[$stage]=$rest ;;
    ENV) envs+=("$rest") ;;
    COPY)
      say "COPY $rest"
      # shellcheck disable=SC2086
      copy $rest ;;
    RUN)
      say "RUN $rest"
      # npm's cache is the image's own (a fresh one per check): the recipe's `npm cache clean` must not empty
      # this machine's, and packages come from the registry as in an image build.
      (cd "$root" && env npm_config_cache="$work/npm-cache" "${envs[@]}" bash -euo pipefail -c "$rest") \
        || fail "stage $stage: RUN $rest failed" ;;
    USER) user=$rest ;;
    ENTRYPOINT) entrypoint=$rest ;;
    CMD|LABEL|EXPOSE|VOLUME|STOPSIGNAL|HEALTHCHECK|SHELL) ;;
    *) fail "instruction $instr is not understood by this check" ;;
  esac
done

[ -n "$entrypoint" ] || fail "the final stage has no ENTRYPOINT"
[ -n "$user" ] || fail "the final stage has no USER: the image would run as root"
uid=${user%%:*}; gid=${user#*:}; [ "$gid" = "$user" ] && gid=$uid
[ "$uid" != 0 ] && [ "$uid" != root ] || fail "USER $user is root"
mapfile -t entry < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$entrypoint")
app=$root

# --- run the image's entrypoint -----------------------------------------------------------------------------
# The image's file system is read-only to its user (as with readOnlyRootFilesystem), HOME points nowhere
# writable, and the working directory is the last WORKDIR; state goes to $state, the stand-in for a volume.
chmod -R a-w "$app"
state="$work/volume"; mkdir -p "$state"; chown "$uid:$gid" "$state"
run() {
  (cd "$app" && exec env -i PATH="$PATH" HOME=/nonexistent "${envs[@]}" \
    setpriv --reuid="$uid" --regid="$gid" --clear-groups "${entry[@]}" "$@")
}
# In the background, logging to $work/<log>; its pid (the entrypoint's own, through exec) goes to pids.
start() {
  local log=$1; shift
  (cd "$app" && exec env -i PATH="$PATH" HOME=/nonexistent "${envs[@]}" \
    setpriv --reuid="$uid" --regid="$gid" --clear-groups "${entry[@]}" "$@") >"$work/$log" 2>&1 &
  pids+=($!)
}
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# Wait for a URL to answer (a condition, bounded so a hang fails instead of blocking CI).
wait_url() {
  local url=$1 pid=$2 log=$3 i
  for i in $(seq 1 600); do
    curl -fsSk --max-time 2 "$url" -o /dev/null 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$url: the process exited before answering"; }
    sleep 0.1
  done
  cat "$log" >&2; fail "$url did not answer"
}
expect() { grep -q -- "$2" <<<"$1" || { echo "$1" >&2; fail "$3: expected output containing \"$2\""; }; }

for cmd in "node-agent" "webhook" "serve" "node discover"; do
  # shellcheck disable=SC2086
  out=$(run $cmd --help) || fail "$cmd --help failed"
  expect "$out" "Usage:" "$cmd --help"
done
say "--help of node-agent, webhook, serve, node discover"

host="$repo/test/fixtures/node/hosts/dcsv3"
out=$(run node discover --host-root "$host") || fail "node discover failed"
expect "$out" "EPC: 262144 MiB (274877906944 bytes, from sysfs)" "node discover on $host"
say "node discover: the fixture host's EPC (two NUMA nodes)"

# The AKS FAQ's Job with its image line quoted (as published it is not valid YAML).
cat >"$state/sgx-job.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: { name: sgx-test }
spec:
  template:
    spec:
      containers:
        - name: sgxtest
          image: "oeciteam/sgx-test:1.0"
          resources:
            limits:
              sgx.intel.com/sgx_epc_mem_in_MiB: 10
      restartPolicy: Never
  backoffLimit: 0
YAML
out=$(run webhook --review "$state/sgx-job.yaml") || fail "webhook --review failed"
expect "$out" "^allowed" "webhook --review of the FAQ Job"
expect "$out" 'sgx.intel.com~1epc "10Mi"' "webhook --review of the FAQ Job"
say "webhook --review: the FAQ Job's EPC alias becomes sgx.intel.com/epc"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$state/tls.key" -out "$state/tls.crt" 2>/dev/null
chown "$uid:$gid" "$state/tls.key" "$state/tls.crt"

port=$(free_port)
start webhook.log webhook --tls-cert "$state/tls.crt" --tls-key "$state/tls.key" --address 127.0.0.1 --port "$port" --no-kube
wait_url "https://127.0.0.1:$port/healthz" "${pids[-1]}" "$work/webhook.log"
say "webhook serves /healthz over TLS"

port=$(free_port)
# The signing keys' key-encryption key, as the chart mounts it from a Secret (0400).
(umask 077 && openssl rand -base64 32 > "$state/kek") && chown "$uid:$gid" "$state/kek"
start serve.log serve --listen "127.0.0.1:$port" --store "sqlite:$state/attestation/confkube.db" \
  --simulation "$state/attestation/simulation" --tls-cert "$state/tls.crt" --tls-key "$state/tls.key" --kek-file "$state/kek"
wait_url "https://127.0.0.1:$port/.well-known/openid-configuration" "${pids[-1]}" "$work/serve.log"
[ -s "$state/attestation/confkube.db" ] || fail "serve: no SQLite database in the volume"
say "serve answers with SQLite and simulation in the volume"

port=$(free_port)
start agent.log node-agent --host-root "$host" --node-name fixture --no-kube --no-device-plugin --metrics-address "127.0.0.1:$port"
wait_url "http://127.0.0.1:$port/healthz" "${pids[-1]}" "$work/agent.log"
out=$(curl -fsS "http://127.0.0.1:$port/metrics")
expect "$out" 'confkube_sgx_epc_capacity_bytes{node="fixture"} 274877906944' "node-agent /metrics"
say "node-agent serves /healthz and /metrics"

for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
say "image recipe OK ($(du -sh "$app" | cut -f1) in the runtime stage)"
