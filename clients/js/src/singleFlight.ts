/**
 * At most one run of a task at a time: callers that arrive while it runs
 * share its result.
 */
export class SingleFlight<T> {
  private current: Promise<T> | null = null;

  run(task: () => Promise<T>): Promise<T> {
    if (this.current) return this.current;
    const p = task().finally(() => {
      if (this.current === p) this.current = null;
    });
    this.current = p;
    return p;
  }

  get running(): boolean {
    return this.current !== null;
  }
}
