/**
 * A process that attaches compiled probes to a target and holds them until it is killed:
 * the test SIGKILLs it and checks that the kernel removed everything. Arguments: pid, the
 * executable's path, the specs as JSON. Prints one JSON line {programIds, linkIds} once
 * attached, then drains events (as an agent would) until it dies.
 */
import { GoBinary } from '../../src/gobinary/go-binary.js';
import { AttachedProbes } from '../../src/probes/attached-probes.js';
import { linkInfo, programInfo } from '../../src/probes/bpf/info.js';
import { compileProbe } from '../../src/probes/compile/compile-probe.js';
import type { ProbeSpec } from '../../src/probes/probe-spec.js';

const [pid, path, specs] = process.argv.slice(2);
const bin = await GoBinary.open(path!);
const probes = await AttachedProbes.attach(
  (JSON.parse(specs!) as ProbeSpec[]).map((s) => compileProbe(bin, s)),
  { pid: Number(pid), tag: 'hk' },
);
console.log(
  JSON.stringify({
    programIds: probes.programFds.map((fd) => programInfo(fd).id),
    linkIds: probes.attachmentFds.map((fd) => linkInfo(fd).id),
  }),
);
for (;;) {
  await probes.waitForEvents(100);
  probes.poll(() => {});
}
