/**
 * The built-in traces a spec entry names with `builtin:` (docs/traces.md): where a request
 * of a well-known server starts and ends, and what is worth capturing, so that a user writes
 * only the name, the program and the keep rule.
 */
import type { CaptureSpec, SpecExpr } from './spec-types.js';
import type { TracePathProbe } from './trace-types.js';

/** What a built-in trace fills in. */
export interface BuiltinTrace {
  readonly function: string;
  readonly start: readonly CaptureSpec[];
  readonly end: readonly CaptureSpec[];
  readonly error?: SpecExpr;
  readonly probes: readonly TracePathProbe[];
}

const BUILTINS: Readonly<Record<string, BuiltinTrace>> = {
  // Every request of a net/http server runs serverHandler.ServeHTTP on the connection's
  // goroutine. It returns nothing; the status is WriteHeader's argument (on the request's
  // goroutine), an event named `status` (keep on it with `if: status.code >= 500`).
  http: {
    function: 'net/http.serverHandler.ServeHTTP',
    start: [
      { column: 'method', expr: 'req.Method' },
      { column: 'path', expr: 'req.URL.Path' },
    ],
    end: [],
    probes: [
      {
        name: 'status',
        site: { kind: 'entry', function: 'net/http.(*response).WriteHeader' },
        capture: [{ column: 'code', expr: 'code' }],
      },
    ],
  },
  // A unary RPC of grpc-go runs processUnaryRPC on the stream's goroutine; its named result
  // is the handler's error (or the failure to send the reply).
  grpc: {
    function: 'google.golang.org/grpc.(*Server).processUnaryRPC',
    start: [{ column: 'method', expr: 'stream.method' }],
    end: [],
    error: { expr: 'err' },
    probes: [],
  },
};

/** The built-in trace named `name`, if there is one. */
export function builtinTrace(name: string): BuiltinTrace | undefined {
  return Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
}
