/** Delve's variable types for values-compare.ts; the client itself is test/support/delve.ts. */
export type { DlvLoadConfig, DlvVariable } from '../support/delve.js';
