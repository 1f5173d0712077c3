/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public t = Date.UTC(2026, 0, 15, 9, 0, 0)) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}
