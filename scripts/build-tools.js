#!/usr/bin/env node
// Builds the Go tools the tests start (SeaweedFS, the S3 server of test/store/s3-objects and
// the scaled-out store's tests) into .cache/tools once, before the tests run: SeaweedFS takes
// many minutes on 2 cores, which no test should spend inside its own time. Needs dist/ (npm ci
// builds it). A tool already built at its pinned version is reused at once.
import { ensureGoTool } from '../dist/support/go-tools.js';
import { SEAWEEDFS } from '../dist/support/s3-server.js';

for (const tool of [SEAWEEDFS]) {
  const t = await ensureGoTool(tool, (line) => console.log(`build-tools: ${line}`));
  console.log(
    `build-tools: ${t.path} (${(t.bytes / 1e6).toFixed(0)} MB, ${t.built ? `built in ${(t.ms / 1000).toFixed(0)} s` : 'already built'})`,
  );
}
