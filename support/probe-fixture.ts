/** The fixture the compiled-probe tests and the probe benchmark run: testdata/probe-values, built and opened. */
import { GoBinary } from '../src/gobinary/go-binary.js';
import { buildFixture, type Toolchain } from './go-fixtures.js';

/** The fixture's binary (probe-values, or another testdata program), built with `toolchain`. */
export async function fixtureBinary(
  toolchain: Toolchain = 'local',
  program = 'probe-values',
): Promise<GoBinary> {
  const { path } = await buildFixture(program, { toolchain });
  return GoBinary.open(path);
}
