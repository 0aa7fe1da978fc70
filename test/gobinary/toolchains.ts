/**
 * Toolchains the gobinary tests build testdata/inlining with: the project's list plus
 * go1.19.13, the newest release with the Go 1.18 pclntab format (magic 0xfffffff0, 20-byte
 * inlinedCall, no _func.startLine). testdata/inlining has its own go.mod (go 1.18) for it.
 */
import { GO_TOOLCHAINS } from '../../support/go-fixtures.js';

/** GO_TOOLCHAINS plus the oldest pclntab format we read. */
export const PCLNTAB_TOOLCHAINS: readonly string[] = [...GO_TOOLCHAINS, 'go1.19.13'];
