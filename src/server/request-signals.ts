/**
 * What the server learns about requests from the agents' request traces, handed to whoever
 * reacts to it (standing investigations): a request still in flight past a trace's slowness
 * threshold, and a trace an agent kept. The trace side emits; investigations subscribe. A
 * subscriber's failure is logged by the caller's `onError` and never reaches the emitter.
 */

/** A request in flight longer than its trace's `slower_than` threshold (sent once per request). */
export interface SlowRequestSignal {
  readonly kind: 'slow';
  /** The trace's name in the spec. */
  readonly trace: string;
  readonly agentId: string;
  /** The process key as stored (`processes.process`). */
  readonly process: string;
  readonly pid: number;
  readonly goroutine: number;
  /** The request's id, the same as the kept trace's if it is kept. */
  readonly requestId: string;
  readonly elapsedMs: number;
}

/** A request trace an agent kept, after it reached the store. */
export interface KeptTraceSignal {
  readonly kind: 'kept';
  readonly trace: string;
  readonly agentId: string;
  readonly process: string;
  readonly pid: number;
  readonly goroutine: number;
  readonly requestId: string;
  /** Why the keep rule kept it. */
  readonly outcome: 'error' | 'panic' | 'slow' | 'condition';
  readonly durationMs: number;
  /** The error's text when the request returned one. */
  readonly error?: string;
}

/** One signal about a request. */
export type RequestSignal = SlowRequestSignal | KeptTraceSignal;

/** A subscriber to request signals. */
export type RequestSignalListener = (signal: RequestSignal) => void;

/** The server's one bus of request signals: emit from the trace side, subscribe from investigations. */
export class RequestSignals {
  private readonly listeners = new Set<RequestSignalListener>();

  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: RequestSignalListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hands a signal to every listener; one listener's throw does not stop the others. */
  emit(signal: RequestSignal): void {
    for (const l of this.listeners) {
      try {
        l(signal);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
