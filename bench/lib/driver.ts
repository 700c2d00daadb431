/**
 * The load driver for multi-step scenarios: N flow loops, each with its own keep-alive
 * connection (so connections are bounded by N), running one flow after another until the
 * duration is up (closed loop), or flows started at a fixed rate with at most N in flight (open
 * loop, for latency at a given load). Every HTTP request is one named step with its own latency
 * samples. Both modes stop by themselves: no flow starts after the deadline, and every request
 * times out (lib/http.ts).
 */
import type { Agent } from 'node:http';
import { keepAliveAgent } from './http.js';
import { round, Samples, type LatencySummary } from './measure.js';

export class StepTimes {
  private readonly steps = new Map<string, Samples>();

  record(step: string, ms: number): void {
    let s = this.steps.get(step);
    if (!s) this.steps.set(step, (s = new Samples()));
    s.add(ms);
  }

  summary(): Record<string, LatencySummary> {
    return Object.fromEntries([...this.steps].map(([k, v]) => [k, v.summary()]));
  }
}

/** One simulated browser (or API client): its connection. */
export interface FlowLoop {
  agent: Agent;
}

export type Flow = (loop: FlowLoop, times: StepTimes) => Promise<void>;

export interface DriveResult {
  ops: number;
  errors: number;
  /** The first few distinct error messages, for the report. */
  errorSamples: string[];
  elapsedMs: number;
  opsPerSec: number;
  steps: Record<string, LatencySummary>;
  /** Whole-flow latency. */
  flow: LatencySummary;
  /** Open loop only: flows that could not start on time because every loop was busy. */
  late?: number;
}

/** Stop early when most flows fail: the figures would mean nothing and the run would only burn time. */
const GIVE_UP = { after: 50, failureShare: 0.5 };

class Outcome {
  ops = 0;
  errors = 0;
  readonly errorSamples = new Set<string>();
  readonly times = new StepTimes();
  readonly flowTimes = new Samples();

  async run(flow: Flow, loop: FlowLoop): Promise<void> {
    const started = performance.now();
    try {
      await flow(loop, this.times);
      this.ops++;
      this.flowTimes.add(performance.now() - started);
    } catch (err) {
      this.errors++;
      if (this.errorSamples.size < 5) this.errorSamples.add((err as Error).message.slice(0, 300));
      // A failed flow may leave its connection in any state; the next flow gets a fresh one.
      loop.agent.destroy();
      loop.agent = keepAliveAgent();
    }
  }

  hopeless(): boolean {
    const total = this.ops + this.errors;
    return total >= GIVE_UP.after && this.errors / total > GIVE_UP.failureShare;
  }

  result(elapsedMs: number, extra: Partial<DriveResult> = {}): DriveResult {
    return {
      ops: this.ops,
      errors: this.errors,
      errorSamples: [...this.errorSamples],
      elapsedMs: Math.round(elapsedMs),
      opsPerSec: round((this.ops * 1000) / elapsedMs, 1),
      steps: this.times.summary(),
      flow: this.flowTimes.summary(),
      ...extra,
    };
  }
}

/** `concurrency` loops run flows back to back for `durationMs`. */
export async function closedLoop(flow: Flow, concurrency: number, durationMs: number): Promise<DriveResult> {
  const outcome = new Outcome();
  const started = performance.now();
  const deadline = started + durationMs;
  const loops: FlowLoop[] = Array.from({ length: concurrency }, () => ({ agent: keepAliveAgent() }));
  await Promise.all(
    loops.map(async (loop) => {
      while (performance.now() < deadline && !outcome.hopeless()) await outcome.run(flow, loop);
    }),
  );
  const elapsed = performance.now() - started;
  for (const loop of loops) loop.agent.destroy();
  return outcome.result(elapsed);
}

/**
 * Flows start at `ratePerSec` for `durationMs` (open loop), each on an idle loop of at most
 * `maxInFlight`. A start that finds no idle loop is counted as late and skipped, so an overloaded
 * server shows up as lateness instead of an unbounded queue in the driver.
 */
export async function openLoop(flow: Flow, ratePerSec: number, durationMs: number, maxInFlight: number): Promise<DriveResult> {
  const outcome = new Outcome();
  const idle: FlowLoop[] = Array.from({ length: maxInFlight }, () => ({ agent: keepAliveAgent() }));
  const all = [...idle];
  const running = new Set<Promise<void>>();
  let startedFlows = 0;
  let late = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const elapsed = now - started;
      const due = Math.floor((Math.min(elapsed, durationMs) * ratePerSec) / 1000) - startedFlows;
      for (let i = 0; i < due; i++) {
        startedFlows++;
        const loop = idle.pop();
        if (!loop) {
          late++;
          continue;
        }
        const p: Promise<void> = outcome.run(flow, loop).then(() => {
          idle.push(loop);
          running.delete(p);
        });
        running.add(p);
      }
      if (elapsed >= durationMs || outcome.hopeless()) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  await Promise.all(running);
  const elapsed = Math.max(durationMs, performance.now() - started);
  for (const loop of all) loop.agent.destroy();
  return outcome.result(elapsed, { late });
}
