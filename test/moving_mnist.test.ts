import { movingMnist, movingMnistEpisodes, mnistDigits, MNIST_SIZE } from '../src/data/moving_mnist';

describe('Moving MNIST', () => {
  const set = movingMnist({ count: 12, seed: 3 });

  test('shape, values in [0, 1], two real digits per frame', () => {
    expect(set.data.length).toBe(12 * 20 * 64 * 64);
    let min = Infinity, max = -Infinity;
    for (const v of set.data) { if (v < min) min = v; if (v > max) max = v; }
    expect(min).toBe(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.9);
    expect(mnistDigits('train').count).toBeGreaterThan(5000);
    for (const l of set.labels) expect(l >= 0 && l <= 9).toBe(true);
  });

  test('digits stay inside the canvas and velocities are constant between bounces', () => {
    const nd = 2, T = 20, lim = 64 - MNIST_SIZE;
    let bounces = 0;
    for (let s = 0; s < set.count; ++s)
      for (let k = 0; k < nd; ++k)
        for (let t = 0; t < T; ++t) {
          const i = ((s * T + t) * nd + k) * 2;
          const [x, y] = [set.positions[i], set.positions[i + 1]];
          expect(x >= 0 && x <= lim && y >= 0 && y <= lim).toBe(true);
          const speed = Math.hypot(set.velocities[i], set.velocities[i + 1]);
          expect(speed).toBeCloseTo(3.6, 4);
          if (t > 0) {
            const j = i - nd * 2;
            for (const a of [0, 1]) {
              const same = set.velocities[i + a] === set.velocities[j + a];
              const flipped = set.velocities[i + a] === -set.velocities[j + a];
              expect(same || flipped).toBe(true);
              if (!same) {
                bounces++;
                // a flip happens only at an edge
                const p = set.positions[i + a];
                expect(p <= 3.6 + 0.5 || p >= lim - 3.6 - 0.5).toBe(true);
              } else {
                // between bounces: moves by the velocity (up to rounding)
                expect(Math.abs(set.positions[i + a] - set.positions[j + a] - set.velocities[i + a])).toBeLessThanOrEqual(1.0001);
              }
            }
          }
        }
    expect(bounces).toBeGreaterThan(0);
  });

  test('the frame is the max of the two digits', () => {
    // Outside both digit boxes the canvas is black.
    const T = 20;
    for (let t = 0; t < T; t += 7) {
      const i = t * 2 * 2;
      const boxes = [0, 1].map((k) => [set.positions[i + 2 * k], set.positions[i + 2 * k + 1]]);
      for (let y = 0; y < 64; ++y)
        for (let x = 0; x < 64; ++x) {
          const inside = boxes.some(([bx, by]) => x >= bx && x < bx + 28 && y >= by && y < by + 28);
          if (!inside) expect(set.data[t * 4096 + y * 64 + x]).toBe(0);
        }
    }
  });

  test('seeded: same seed same data; train and test differ', () => {
    const a = movingMnist({ count: 2, seed: 5 }), b = movingMnist({ count: 2, seed: 5 });
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    const c = movingMnist({ count: 2, seed: 5, split: 'test' });
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(c.data.buffer))).toBe(false);
    const eps = movingMnistEpisodes(a);
    expect(eps[0].frames.length).toBe(20 * 64 * 64); // gray, one channel (issue 18)
    expect(eps[0].channels).toBe(1);
    expect(eps[0].actionDim).toBe(0);
    expect(() => movingMnist({ count: 0 })).toThrow(/movingMnist: count/);
  });
});
