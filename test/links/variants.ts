/**
 * Test support: the builds of the link fixtures the tests run. grpcpair is built against
 * several grpc-go releases (one go.mod per release in testdata/grpcpair, picked with
 * -modfile), each with the Go toolchains its go directive allows.
 */
import { type BuiltFixture, buildFixture, GO_TOOLCHAINS, type Toolchain } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';

/** One grpc-go release the fixture pins, and the toolchains to build it with. */
export interface GrpcVariant {
  readonly grpc: string;
  /** Extra `go build` flags selecting its go.mod. */
  readonly flags: readonly string[];
  readonly toolchains: readonly Toolchain[];
}

/**
 * grpc-go 1.68 (the last with one transport.Stream type), 1.70 (go 1.22; ClientStream embeds
 * *Stream), 1.78 (go 1.24; it embeds Stream by value) and the newest (go 1.26).
 */
export const GRPC_VARIANTS: readonly GrpcVariant[] = [
  { grpc: 'v1.68.2', flags: ['-modfile=go.v168.mod'], toolchains: ['go1.22.12', 'local'] },
  { grpc: 'v1.70.0', flags: [], toolchains: GO_TOOLCHAINS },
  { grpc: 'v1.78.0', flags: ['-modfile=go.v178.mod'], toolchains: ['go1.24.13', 'go1.25.9'] },
  { grpc: 'v1.85.0', flags: ['-modfile=go.latest.mod'], toolchains: ['local'] },
];

/** Which side's code a grpcpair build has: both, or one (-tags serveronly / clientonly). */
export type GrpcSides = 'both' | 'serveronly' | 'clientonly';

/** Builds grpcpair for one grpc-go release and toolchain. */
export function buildGrpcPair(
  v: GrpcVariant,
  toolchain: Toolchain,
  sides: GrpcSides = 'both',
): Promise<BuiltFixture> {
  const tags = sides === 'both' ? [] : [`-tags=${sides}`];
  return buildFixture('grpcpair', { toolchain, flags: [...v.flags, ...tags] });
}

/** Builds httpchain (standard library only) with a toolchain. */
export function buildHttpChain(toolchain: Toolchain): Promise<BuiltFixture> {
  return buildFixture('httpchain', { toolchain });
}

/** Starts C, B and A of httpchain (A -> B -> C; pushed onto `targets` to kill), once C's handler runs. */
export async function startChain(
  path: string,
  targets: Target[],
): Promise<{ a: Target; b: Target; c: Target }> {
  const c = await startTarget(path, ['-role', 'c']);
  targets.push(c);
  const cAddr = /listening (\S+)/.exec(c.lines[0]!.text)![1]!;
  const b = await startTarget(path, ['-role', 'b', '-next', cAddr]);
  targets.push(b);
  const bAddr = /listening (\S+)/.exec(b.lines[0]!.text)![1]!;
  const a = await startTarget(path, ['-role', 'a', '-next', bAddr]);
  targets.push(a);
  await b.waitFor(/^handling \/b/);
  await c.waitFor(/^handling \/c/);
  return { a, b, c };
}

/** Builds connpair (HTTP and gRPC over wrapped connections, TCP or Unix; grpc-go 1.70). */
export function buildConnPair(toolchain: Toolchain = 'local'): Promise<BuiltFixture> {
  return buildFixture('connpair', { toolchain });
}

/** How connpair wraps its connections and what it talks over. */
export interface ConnMode {
  readonly net: 'tcp' | 'unix';
  readonly wrap: 'none' | 'embed' | 'named' | 'deep';
}

/**
 * Starts a connpair server and client (pushed onto `targets`), `calls` HTTP and gRPC calls in
 * flight; `prefix` runs each under a wrapper command (e.g. a new network namespace).
 */
export async function startConnPair(
  path: string,
  mode: ConnMode,
  targets: Target[],
  opts: { calls?: number; prefix?: readonly string[] } = {},
): Promise<{ server: Target; client: Target }> {
  const calls = String(opts.calls ?? 1);
  const flags = ['-net', mode.net, '-wrap', mode.wrap, '-calls', calls];
  const run = (args: string[]): [string, string[]] =>
    opts.prefix && opts.prefix.length > 0
      ? [opts.prefix[0]!, [...opts.prefix.slice(1), path, ...args]]
      : [path, args];
  const server = await startTarget(...run(['server', ...flags]));
  targets.push(server);
  const [, h, g] = /^ready \d+ listening (\S+) (\S+)/.exec(server.lines[0]!.text)!;
  const client = await startTarget(...run(['client', ...flags, '-http', h!, '-grpc', g!]));
  targets.push(client);
  await server.waitFor(/^all in flight/);
  return { server, client };
}
