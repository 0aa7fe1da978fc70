/**
 * The labels of one process, as specs select on them: executable, command line, allow-listed
 * environment, hostname, pid, container and Kubernetes pod, Go version and build ID. Also the
 * matching of labels against the spec's program rules.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { ProgramSpec } from '../spec/spec-types.js';

/**
 * Environment variables reported as `env.NAME` labels unless `--env-allow` says otherwise:
 * the Go runtime's tuning knobs and the hostname, none of which carries a secret. The values
 * of other variables are never read out.
 */
export const DEFAULT_ENV_ALLOW: readonly string[] = [
  'HOSTNAME',
  'GOMAXPROCS',
  'GOGC',
  'GOMEMLIMIT',
  'GODEBUG',
  'GOTRACEBACK',
];

/** Environment variables that name a Kubernetes pod (set them with the downward API). */
export const POD_NAME_ENV = ['KUBERNETES_POD_NAME', 'POD_NAME', 'MY_POD_NAME'];
/** Environment variables that name a Kubernetes namespace (downward API). */
export const POD_NAMESPACE_ENV = ['KUBERNETES_NAMESPACE', 'POD_NAMESPACE', 'MY_POD_NAMESPACE'];
/** The service-account mount inside a pod: its `namespace` file names the pod's namespace. */
const SA_NAMESPACE = 'var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** A container found in a process's cgroup path. */
export interface ContainerRef {
  readonly id: string;
  /** docker, containerd, cri-o, podman, or kubernetes (cgroupfs driver, runtime unknown). */
  readonly runtime: string;
  /** The Kubernetes pod UID, when the cgroup path is under kubepods. */
  readonly podUid?: string;
}

const CONTAINER_PATTERNS: readonly [RegExp, string][] = [
  [/\/docker-([0-9a-f]{64})\.scope/, 'docker'],
  [/\/docker\/([0-9a-f]{64})(?![0-9a-f])/, 'docker'],
  [/\/cri-containerd-([0-9a-f]{64})\.scope/, 'containerd'],
  [/\/crio-(?:conmon-)?([0-9a-f]{64})\.scope/, 'cri-o'],
  [/\/libpod-(?:conmon-)?([0-9a-f]{64})\.scope/, 'podman'],
  [/\/kubepods[^\n]*\/([0-9a-f]{64})(?:\/|$)/, 'kubernetes'],
  [/\/containerd\/([0-9a-f]{64})(?![0-9a-f])/, 'containerd'],
];

/** Finds the container id in the text of /proc/PID/cgroup (cgroup v1 or v2), if any. */
export function parseContainer(cgroupText: string): ContainerRef | undefined {
  for (const line of cgroupText.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    for (const [re, runtime] of CONTAINER_PATTERNS) {
      const m = re.exec(path);
      if (!m) continue;
      const pod = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/.exec(path);
      return {
        id: m[1]!,
        runtime,
        ...(pod ? { podUid: pod[1]!.replace(/_/g, '-') } : {}),
      };
    }
  }
  return undefined;
}

/** Parses NUL-separated `NAME=value` pairs (/proc/PID/environ), keeping only names in `allow`. */
export function parseEnviron(text: string, allow: ReadonlySet<string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of text.split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0 && allow.has(kv.slice(0, eq))) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** The process's own hostname when it lives in another UTS namespace (a container), else undefined. */
function namespacedHostname(pid: number): string | undefined {
  try {
    if (readlinkSync(`/proc/${pid}/ns/uts`) === readlinkSync('/proc/self/ns/uts')) return undefined;
    return readFileSync(`/proc/${pid}/root/etc/hostname`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What labelling needs beyond the pid. */
export interface LabelInput {
  readonly pid: number;
  readonly executable: string;
  /** The agent's (machine's) hostname. */
  readonly node: string;
  readonly envAllow: ReadonlySet<string>;
  readonly goVersion?: string;
  readonly buildId?: string;
  readonly stripped?: boolean;
}

/** The labels and facts of one process. */
export interface ProcessLabels {
  readonly cmdline: string[];
  readonly hostname: string;
  readonly labels: Record<string, string>;
}

/** Reads the labels of a live process from /proc (missing files give missing labels, never errors). */
export function readLabels(input: LabelInput): ProcessLabels {
  const { pid } = input;
  const cmdline = (readProc(pid, 'cmdline') ?? '').split('\0');
  if (cmdline.at(-1) === '') cmdline.pop();
  const wanted = new Set([...input.envAllow, ...POD_NAME_ENV, ...POD_NAMESPACE_ENV]);
  const env = parseEnviron(readProc(pid, 'environ') ?? '', wanted);
  const ownHostname = namespacedHostname(pid);
  const hostname = ownHostname ?? input.node;
  const labels: Record<string, string> = {
    executable: input.executable,
    exe_name: input.executable.slice(input.executable.lastIndexOf('/') + 1),
    cmdline: cmdline.join(' '),
    hostname,
    node: input.node,
    pid: String(pid),
  };
  for (const [k, v] of Object.entries(env)) if (input.envAllow.has(k)) labels[`env.${k}`] = v;
  if (input.goVersion) labels.go_version = input.goVersion;
  if (input.buildId) labels.build_id = input.buildId;
  if (input.stripped) labels.stripped = 'true';
  const container = parseContainer(readProc(pid, 'cgroup') ?? '');
  if (container) {
    labels.container = container.id;
    labels.container_runtime = container.runtime;
    if (container.podUid) labels.pod_uid = container.podUid;
  }
  const podName = POD_NAME_ENV.map((n) => env[n]).find((v) => v);
  const namespace =
    POD_NAMESPACE_ENV.map((n) => env[n]).find((v) => v) ??
    (container?.podUid ? readProc(pid, `root/${SA_NAMESPACE}`)?.trim() : undefined);
  // In a pod, the hostname is the pod's name unless the pod spec sets another one.
  const pod = podName ?? (container?.podUid ? ownHostname : undefined);
  if (pod) labels.pod = pod;
  if (namespace) labels.namespace = namespace;
  return { cmdline, hostname, labels };
}

/** A program rule with its regular expressions compiled. */
export interface CompiledProgram {
  readonly name: string;
  readonly match: readonly (readonly [string, RegExp])[];
}

/** Compiles program rules; a rule whose regex does not compile matches nothing (the spec parser reports it). */
export function compilePrograms(programs: readonly ProgramSpec[]): CompiledProgram[] {
  const out: CompiledProgram[] = [];
  for (const p of programs) {
    try {
      out.push({ name: p.name, match: Object.entries(p.match).map(([k, v]) => [k, new RegExp(v)] as const) });
    } catch {
      // Skipped: parseSpec rejects such a spec before it gets here.
    }
  }
  return out;
}

/** Names of the programs whose every label regex matches (a label the process lacks never matches). */
export function matchPrograms(
  labels: Readonly<Record<string, string>>,
  programs: readonly CompiledProgram[],
): string[] {
  return programs
    .filter((p) => p.match.every(([label, re]) => labels[label] !== undefined && re.test(labels[label])))
    .map((p) => p.name);
}
