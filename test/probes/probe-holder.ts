/**
 * A process that attaches probes to a target and holds them until it is killed: the test
 * SIGKILLs it and checks that the kernel removed everything. Arguments: pid, executable path,
 * file offsets (comma separated). Prints one JSON line {programIds, linkIds} when attached.
 */
import { fileOffset } from '../../src/common/address.js';
import { linkInfo, programInfo } from '../../src/probes/bpf/info.js';
import { ProbeSet } from '../../src/probes/probe-set.js';

const [pid, path, offsets] = process.argv.slice(2);
const offs = offsets!.split(',').map((s) => fileOffset(Number(s)));
const viaLink = await ProbeSet.open({
  tag: 'hk',
  pid: Number(pid),
  path: path!,
  offsets: offs,
  action: { kind: 'count' },
  attach: 'multi',
});
const viaPerf = await ProbeSet.open({
  tag: 'hp',
  pid: Number(pid),
  path: path!,
  offsets: offs,
  action: { kind: 'empty' },
  attach: 'perf',
});
console.log(
  JSON.stringify({
    programIds: [...viaLink.programFds, ...viaPerf.programFds].map((fd) => programInfo(fd).id),
    linkIds: viaLink.attachmentFds.map((fd) => linkInfo(fd).id),
  }),
);
setInterval(() => {}, 1 << 30);
