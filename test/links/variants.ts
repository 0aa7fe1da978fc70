/**
 * Test support: the builds of the link fixtures the tests run. grpcpair is built against
 * several grpc-go releases (one go.mod per release in testdata/grpcpair, picked with
 * -modfile), each with the Go toolchains its go directive allows.
 */
import { type BuiltFixture, buildFixture, GO_TOOLCHAINS, type Toolchain } from '../support/go-fixtures.js';

/** One grpc-go release the fixture pins, and the toolchains to build it with. */
export interface GrpcVariant {
  readonly grpc: string;
  /** Extra `go build` flags selecting its go.mod. */
  readonly flags: readonly string[];
  readonly toolchains: readonly Toolchain[];
}

/** grpc-go 1.68 (the last with one transport.Stream type), 1.70 (go 1.22), and the newest (go 1.26). */
export const GRPC_VARIANTS: readonly GrpcVariant[] = [
  { grpc: 'v1.68.2', flags: ['-modfile=go.v168.mod'], toolchains: ['go1.22.12', 'local'] },
  { grpc: 'v1.70.0', flags: [], toolchains: GO_TOOLCHAINS },
  { grpc: 'v1.85.0', flags: ['-modfile=go.latest.mod'], toolchains: ['local'] },
];

/** Builds grpcpair for one grpc-go release and toolchain. */
export function buildGrpcPair(v: GrpcVariant, toolchain: Toolchain): Promise<BuiltFixture> {
  return buildFixture('grpcpair', { toolchain, flags: [...v.flags] });
}

/** Builds httpchain (standard library only) with a toolchain. */
export function buildHttpChain(toolchain: Toolchain): Promise<BuiltFixture> {
  return buildFixture('httpchain', { toolchain });
}
