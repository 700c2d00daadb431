/**
 * What a process's copy of shared, changing entries (the client registry, the SAML service
 * providers) needs to follow the store: its changes run one at a time, and a timer refreshes it.
 * One at a time, because a refresh that read the store just before a change could otherwise
 * replace the copy without what that change had put in.
 */
export class RefreshLoop {
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** A tick's refresh is still running: a slow store must not pile refreshes up. */
  private ticking = false;

  /** `refresh` runs every `intervalMs` once started (queued as any other work); `onError` hears of a failed one. */
  constructor(
    private readonly refresh: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Runs `work` after every work queued before it. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.tick(), intervalMs);
    // The timer never keeps a process alive by itself.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.ticking) return;
    this.ticking = true;
    this.refresh()
      .catch(this.onError)
      .finally(() => {
        this.ticking = false;
      });
  }
}
