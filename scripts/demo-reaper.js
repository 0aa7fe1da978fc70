#!/usr/bin/env node
// The demo's safety net: scripts/start.js starts this with a pipe as its stdin and writes the
// pid of every process it starts, one per line. When the pipe closes without a final "done"
// line, start.js died without stopping them (SIGKILL, a crash): this stops them (SIGINT, then
// SIGKILL after 10 s), so a dead `npm start` leaves no server or agent behind. The demo's Go
// services also exit by themselves when their own stdin closes (-lifeline). Its one argument,
// the demo directory, is not used: it tells this process apart in `ps`.
const pids = new Set();
let done = false;
let buffered = '';
process.on('SIGINT', () => {}); // start.js handles signals; this one must outlive it
process.on('SIGTERM', () => {});
process.stdin.on('data', (d) => {
  buffered += d.toString();
  const lines = buffered.split('\n');
  buffered = lines.pop();
  for (const line of lines) {
    if (line === 'done') done = true;
    else if (/^\d+$/.test(line)) pids.add(Number(line));
  }
});
process.stdin.on('end', () => {
  if (done) process.exit(0);
  const alive = () =>
    [...pids].filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
  for (const pid of alive()) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {}
  }
  const deadline = Date.now() + 10_000;
  const timer = setInterval(() => {
    const left = alive();
    if (left.length === 0 || Date.now() > deadline) {
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      clearInterval(timer);
      process.exit(0);
    }
  }, 200);
});
