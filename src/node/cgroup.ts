/**
 * Pod and container from /proc/<pid>/cgroup, for the kubelet's two cgroup drivers on cgroup v1
 * and v2:
 *   v2 systemd:  0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
 *   v2 cgroupfs: 0::/kubepods/burstable/pod<uid>/<id>
 *   v1:          <n>:<controllers>:<same paths>
 * The systemd driver escapes the pod UID's dashes as underscores (a dash separates slice levels).
 * Guaranteed pods have no QoS level (`kubepods-pod<uid>.slice`, `/kubepods/pod<uid>`).
 */
export interface PodCgroup {
  podUid: string;
  /** Container ID without the runtime prefix; null for a process in the pod cgroup itself. */
  containerId: string | null;
  qos: 'guaranteed' | 'burstable' | 'besteffort';
  version: 1 | 2;
  /** Cgroup path of the container (or pod) in its hierarchy, for misc.current. */
  path: string;
  /** Hierarchy of the path: '' for the v2 unified tree, else the v1 controller directory ('misc', 'memory', …). */
  hierarchy: string;
}

// `[/-]`: with a cgroup root such as /kubelet (kind, some distributions) the slices are named
// `kubelet-kubepods-burstable-pod<uid>.slice`.
const SYSTEMD_POD = /[/-]kubepods(?:-(burstable|besteffort))?-pod([0-9a-fA-F_-]+)\.slice(?:\/([^/]+))?/;
const CGROUPFS_POD = /\/kubepods\/(?:(burstable|besteffort)\/)?pod([0-9a-fA-F-]+)(?:\/([^/]+))?/;
const SCOPE = /^(?:cri-containerd|crio|docker|cri-o|containerd)-([0-9a-fA-F]{12,})\.scope$/;

function matchPath(path: string): Omit<PodCgroup, 'version' | 'hierarchy'> | null {
  let m = SYSTEMD_POD.exec(path);
  let systemd = true;
  if (!m) {
    m = CGROUPFS_POD.exec(path);
    systemd = false;
  }
  if (!m) return null;
  const qos = (m[1] ?? 'guaranteed') as PodCgroup['qos'];
  const podUid = systemd ? m[2].replace(/_/g, '-') : m[2];
  let containerId: string | null = null;
  let containerDir: string | undefined = m[3];
  if (containerDir !== undefined) {
    if (systemd) {
      // crio-conmon-<id>.scope is the runtime monitor, not the container.
      const s = SCOPE.exec(containerDir);
      if (s) containerId = s[1];
      else containerDir = undefined;
    } else if (/^[0-9a-fA-F]{12,}$/.test(containerDir)) {
      containerId = containerDir;
    } else {
      containerDir = undefined;
    }
  }
  const podEnd = m.index + m[0].length - (m[3] !== undefined ? m[3].length + 1 : 0);
  const cut = containerDir !== undefined ? m.index + m[0].length : podEnd;
  return { podUid: podUid.toLowerCase(), containerId: containerId?.toLowerCase() ?? null, qos, path: path.slice(0, cut) };
}

/** null for a process outside any pod (host daemons, the kubelet, aesmd on the host). */
export function parsePodCgroup(text: string): PodCgroup | null {
  let v1: PodCgroup | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const controllers = line.slice(a + 1, b);
    const path = line.slice(b + 1);
    const hit = matchPath(path);
    if (!hit) continue;
    if (line.slice(0, a) === '0' && controllers === '') return { ...hit, version: 2, hierarchy: '' };
    const list = controllers.split(',');
    // Prefer the misc hierarchy (EPC usage lives there), then any other.
    if (list.includes('misc')) v1 = { ...hit, version: 1, hierarchy: 'misc' };
    else if (!v1) v1 = { ...hit, version: 1, hierarchy: controllers.startsWith('name=') ? controllers.slice(5) : list[0] };
  }
  return v1;
}
