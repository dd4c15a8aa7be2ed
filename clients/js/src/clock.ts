/**
 * The server's clock as seen from this one, from the `Date` header of each
 * answer. A `Date` names a whole second, and servers cache it for up to a
 * second more, so each answer bounds the offset to an interval; the
 * intersection of the intervals narrows it down. When they stop overlapping
 * (a clock was set), the newest answer starts over.
 */
export class ServerClock {
  private lo = -Infinity;
  private hi = Infinity;

  /** Records an answer sent at `sentAt` and received at `receivedAt` (local ms). */
  observe(dateHeader: string | null, sentAt: number, receivedAt: number): void {
    if (!dateHeader) return;
    const date = Date.parse(dateHeader);
    if (Number.isNaN(date)) return;
    // The server read its clock between sentAt and receivedAt, at a time
    // in [date, date + 2000) of its own.
    const lo = date - receivedAt;
    const hi = date + 2000 - sentAt;
    if (lo > this.hi || hi < this.lo) {
      this.lo = lo;
      this.hi = hi;
    } else {
      this.lo = Math.max(this.lo, lo);
      this.hi = Math.min(this.hi, hi);
    }
  }

  /**
   * Server time minus local time, in ms: 0 while the answers are consistent
   * with clocks in step (or before any answer), else the middle of what
   * they allow.
   */
  get skew(): number {
    if (!Number.isFinite(this.lo) || (this.lo <= 0 && this.hi >= 0)) return 0;
    return (this.lo + this.hi) / 2;
  }
}
