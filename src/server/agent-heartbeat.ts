/**
 * Heartbeats with the agents: every interval each connection gets a WebSocket ping, which the
 * agent's main thread answers (ws does as it reads; an agent's capture thread, however busy,
 * does not stand in the way), and any bytes from the agent count as a sign of life (a large
 * `captured` message takes a while to arrive, and pongs queue behind it). A connection silent
 * for the timeout is reported unresponsive, then answered again or, silent much longer, closed.
 *
 * Silence is counted in ticks of the server's own timer, not in wall time: when the server
 * itself was stalled (a large message parsed, SIGSTOP), the first tick afterwards runs before
 * the agents' queued answers are read, so a stall counts as one tick at most and never makes
 * every agent look silent.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** Heartbeat timing. */
export interface HeartbeatOptions {
  /** Ping interval, ms. */
  readonly intervalMs: number;
  /** Silent this long (ms): unresponsive. */
  readonly timeoutMs: number;
  /** Silent this long (ms): the connection is closed (a live agent reconnects). */
  readonly closeAfterMs: number;
}

/** What a tracked connection is told. */
export interface HeartbeatEvents {
  /** Silent past the timeout; `lastHeard` is when it was last heard from. */
  unresponsive(lastHeard: Date): void;
  /** Heard from again after being unresponsive for `silentMs`. */
  answered(silentMs: number): void;
}

interface Beat {
  readonly events: HeartbeatEvents;
  silentTicks: number;
  lastHeard: number;
  unresponsive: boolean;
}

/** The heartbeats of every agent connection. */
export class Heartbeats {
  private readonly beats = new Map<WebSocket, Beat>();
  private readonly timer: NodeJS.Timeout;
  private readonly unresponsiveTicks: number;
  private readonly closeTicks: number;

  constructor(opts: HeartbeatOptions) {
    this.unresponsiveTicks = Math.max(2, Math.ceil(opts.timeoutMs / opts.intervalMs));
    this.closeTicks = Math.max(this.unresponsiveTicks + 1, Math.ceil(opts.closeAfterMs / opts.intervalMs));
    this.timer = setInterval(() => this.tick(), opts.intervalMs);
    this.timer.unref();
  }

  /** Starts the heartbeats of a connection (until it closes); `socket` is its TCP stream. */
  track(ws: WebSocket, socket: Duplex, events: HeartbeatEvents): void {
    const beat: Beat = { events, silentTicks: 0, lastHeard: Date.now(), unresponsive: false };
    this.beats.set(ws, beat);
    const heard = (): void => this.heard(beat);
    socket.on('data', heard);
    ws.on('pong', heard);
    ws.on('ping', heard);
    ws.once('close', () => {
      socket.off('data', heard);
      this.beats.delete(ws);
    });
  }

  /** Stops the heartbeats. */
  close(): void {
    clearInterval(this.timer);
    this.beats.clear();
  }

  private heard(beat: Beat): void {
    const now = Date.now();
    beat.silentTicks = 0;
    if (beat.unresponsive) {
      beat.unresponsive = false;
      beat.events.answered(now - beat.lastHeard);
    }
    beat.lastHeard = now;
  }

  private tick(): void {
    for (const [ws, beat] of this.beats) {
      beat.silentTicks++;
      if (beat.silentTicks >= this.closeTicks) {
        ws.terminate();
        continue;
      }
      if (!beat.unresponsive && beat.silentTicks >= this.unresponsiveTicks) {
        beat.unresponsive = true;
        beat.events.unresponsive(new Date(beat.lastHeard));
      }
      if (ws.readyState === ws.OPEN) ws.ping();
    }
  }
}
