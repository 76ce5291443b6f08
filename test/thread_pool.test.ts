/**
 * The kernel thread pool: resizing and starting parallel regions back to back must never hang
 * or change results. (Regression: workers once read the region counter after they started, so
 * a region launched right after a resize could be missed and the caller waited forever.)
 */
import * as wk from '../src';

describe('thread pool', () => {
  const saved = wk.getNumThreads();
  afterAll(() => wk.setNumThreads(saved));

  test('regions right after each resize run on every thread count and agree', () => {
    const x = wk.randn([1 << 20], { seed: 11 });
    wk.setNumThreads(1);
    const expected = x.sum().item();
    for (let i = 0; i < 200; ++i) {
      const n = 1 + (i % 4);
      wk.setNumThreads(n);
      expect(wk.getNumThreads()).toBe(n);
      expect(x.sum().item()).toBe(expected);
    }
    x.dispose();
  });
});
