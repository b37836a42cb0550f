import { describe, expect, it } from "vitest";
import { createByteBudget } from "./budget.js";

/** A budget of 10 bytes on a clock the test moves; `evicted` lists who was made to give room. */
const setup = () => {
  let t = 0;
  const evicted: string[] = [];
  const budget = createByteBudget({ max: 10, stalledMs: 1_000, now: () => t });
  const holder = (name: string) => {
    const h = budget.hold(() => {
      evicted.push(name);
      h.release();
    });
    return h;
  };
  return { budget, holder, evicted, advance: (ms: number) => (t += ms) };
};

describe("createByteBudget", () => {
  it("counts what is taken, gives it back on release, and refuses what does not fit beside holdings still moving", () => {
    const { budget, holder, evicted } = setup();
    const a = holder("a");
    const b = holder("b");
    expect(a.take(6)).toBe(true);
    expect(b.take(5)).toBe(false);
    expect(budget.room(5)).toBe(false);
    expect(budget.held).toBe(6);
    a.release();
    a.release();
    expect(budget.held).toBe(0);
    expect(b.take(5)).toBe(true);
    expect(a.take(1)).toBe(false);
    expect(evicted).toEqual([]);
  });

  it("evicts holdings that took nothing for stalledMs, the longest-stalled first, and only as many as needed", () => {
    const { budget, holder, evicted, advance } = setup();
    const a = holder("a");
    const b = holder("b");
    const c = holder("c");
    a.take(3);
    advance(100);
    b.take(3);
    advance(100);
    c.take(3);
    a.take(1);
    advance(1_000);
    // b stalled longest (a moved after it); c stalled 1 000 ms too, a 1 000 ms.
    const d = holder("d");
    expect(d.take(3)).toBe(true);
    expect(evicted).toEqual(["b"]);
    expect(budget.held).toBe(10);
    advance(1_000);
    expect(holder("e").take(7)).toBe(true);
    expect(evicted).toEqual(["b", "c", "a"]);
  });

  it("never evicts a pinned holding (a body being answered), nor one that moved within stalledMs", () => {
    const { holder, evicted, advance } = setup();
    const answering = holder("answering");
    answering.take(5);
    answering.pinned = true;
    const moving = holder("moving");
    moving.take(4);
    advance(999);
    moving.take(1);
    advance(1);
    expect(holder("new").take(1)).toBe(false);
    advance(1_000);
    expect(holder("new").take(1)).toBe(true);
    expect(evicted).toEqual(["moving"]);
  });

  it("room makes room without taking it", () => {
    const { budget, holder, evicted, advance } = setup();
    holder("a").take(10);
    expect(budget.room(1)).toBe(false);
    advance(1_000);
    expect(budget.room(1)).toBe(true);
    expect(evicted).toEqual(["a"]);
    expect(budget.held).toBe(0);
  });
});
