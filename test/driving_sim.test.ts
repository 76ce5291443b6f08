import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DrivingSim, SIM_FRAME_BYTES, generateEpisodes, episodeCachePath, episodeSeed } from '../src/data/driving_sim';

function stateOf(sim: DrivingSim) {
  return sim.state();
}

describe('DrivingSim', () => {
  test('is deterministic per seed and differs across seeds', () => {
    const run = (seed: number) => {
      const sim = new DrivingSim(seed);
      return sim.drive(60);
    };
    const a = run(11), b = run(11), c = run(12);
    expect(a.steps).toBe(b.steps);
    expect(Buffer.from(a.frames).equals(Buffer.from(b.frames))).toBe(true);
    expect(Array.from(a.actions)).toEqual(Array.from(b.actions));
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(Buffer.from(a.frames).equals(Buffer.from(c.frames.subarray(0, a.frames.length)))).toBe(false);
    // reset(seed) replays the same episode
    const sim = new DrivingSim(3);
    const first = sim.stepMany(new Float32Array([0.1, 0.5, 0, 0.1, 0.5, 0]));
    sim.reset(3);
    const again = sim.stepMany(new Float32Array([0.1, 0.5, 0, 0.1, 0.5, 0]));
    expect(Buffer.from(first.frames).equals(Buffer.from(again.frames))).toBe(true);
  });

  test('frames are 64x64 RGB with road, grass and the red car', () => {
    const sim = new DrivingSim(5);
    const f = sim.reset();
    expect(f.length).toBe(SIM_FRAME_BYTES);
    let green = 0, gray = 0, red = 0;
    for (let i = 0; i < 64 * 64; ++i) {
      const [r, g, b] = [f[3 * i], f[3 * i + 1], f[3 * i + 2]];
      if (g > r + 40 && g > b + 40) green++;
      else if (Math.abs(r - g) < 12 && Math.abs(g - b) < 14 && r > 70 && r < 140) gray++;
      else if (r > 150 && g < 80 && b < 80) red++;
    }
    expect(green).toBeGreaterThan(300);
    expect(gray).toBeGreaterThan(300);
    expect(red).toBeGreaterThan(30);
  });

  test('steering right moves the car right, steering left moves it left', () => {
    const offsetAfter = (steer: number) => {
      const sim = new DrivingSim(21);
      const start = stateOf(sim).offset;
      const acts = new Float32Array(3 * 10);
      for (let t = 0; t < 10; ++t) acts.set([steer, 0.4, 0], 3 * t);
      sim.stepMany(acts);
      return stateOf(sim).offset - start;
    };
    expect(offsetAfter(0.6)).toBeGreaterThan(0.5);
    expect(offsetAfter(-0.6)).toBeLessThan(-0.5);
  });

  test('labels agree with the state', () => {
    const sim = new DrivingSim(8);
    // Drift hard right until the episode ends: the frames must pass right lane -> off road.
    const acts = new Float32Array(3 * 150);
    for (let t = 0; t < 150; ++t) acts.set([0.5, 0.6, 0], 3 * t);
    const b = sim.stepMany(acts);
    const states = DrivingSim.states(b);
    const seen = new Set<number>();
    for (let t = 0; t < b.steps; ++t) {
      const d = states[t].offset;
      const lane = b.labels[3 * t];
      seen.add(lane);
      expect(lane).toBe(Math.abs(d) > 3.6 ? 2 : d < 0 ? 0 : 1);
      const v = states[t].speed;
      expect(b.labels[3 * t + 2]).toBe(v < 6 ? 0 : v < 12 ? 1 : 2);
      const k = states[t].curvatureAhead;
      expect(b.labels[3 * t + 1]).toBe(k > 1 / 150 ? 0 : k < -1 / 150 ? 2 : 1);
    }
    expect(seen.has(2)).toBe(true);
    // ... and the episode ends far off the road
    expect(b.dones[b.steps - 1]).toBe(1);
    expect(Math.abs(states[b.steps - 1].offset)).toBeGreaterThan(3.6 + 7);
    // reward: progress on the road is positive, off road penalized
    const onRoad = states.findIndex((s) => Math.abs(s.offset) < 3);
    expect(b.rewards[onRoad]).toBeGreaterThan(0);
    expect(b.rewards[b.steps - 1]).toBeLessThan(b.rewards[onRoad]);
  });

  test('the scripted driver mostly keeps the road and covers every label', () => {
    const eps = generateEpisodes({ episodes: 6, steps: 150, seed: 4, cacheDir: false });
    expect(eps.length).toBe(6);
    let frames = 0, onRoad = 0;
    const lanes = new Set<number>(), curves = new Set<number>(), speeds = new Set<number>();
    for (const e of eps) {
      expect(e.frames.length).toBe(e.length * SIM_FRAME_BYTES);
      for (let t = 0; t < e.length; ++t) {
        frames++;
        const l = e.labels as Int32Array;
        if (l[3 * t] !== 2) onRoad++;
        lanes.add(l[3 * t]);
        curves.add(l[3 * t + 1]);
        speeds.add(l[3 * t + 2]);
      }
    }
    expect(onRoad / frames).toBeGreaterThan(0.8);
    expect(curves.size).toBe(3);
    expect(lanes.has(0) && lanes.has(1)).toBe(true);
    expect(speeds.size).toBeGreaterThanOrEqual(2);
    // episode e replays with DrivingSim(episodeSeed(seed, e)).drive()
    const sim = new DrivingSim(episodeSeed(4, 2));
    const replay = sim.drive(eps[2].length);
    expect(Buffer.from(replay.frames).equals(Buffer.from(eps[2].frames))).toBe(true);
  });

  test('generateEpisodes caches on disk keyed by its options', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-sim-'));
    const o = { episodes: 2, steps: 20, seed: 9, cacheDir: dir };
    const a = generateEpisodes(o);
    const file = episodeCachePath(o);
    expect(fs.existsSync(file)).toBe(true);
    const b = generateEpisodes(o);
    expect(b.length).toBe(2);
    for (let e = 0; e < 2; ++e) {
      expect(Buffer.from(b[e].frames).equals(Buffer.from(a[e].frames))).toBe(true);
      expect(Array.from(b[e].actions)).toEqual(Array.from(a[e].actions));
      expect(Array.from(b[e].labels as Int32Array)).toEqual(Array.from(a[e].labels as Int32Array));
    }
    expect(episodeCachePath({ ...o, seed: 10 })).not.toBe(file);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('bad arguments throw clear errors', () => {
    expect(() => new DrivingSim(-1)).toThrow(/DrivingSim: seed/);
    const sim = new DrivingSim(1);
    expect(() => sim.step([1, 2] as unknown as number[])).toThrow(/DrivingSim.step: action/);
    expect(() => sim.stepMany(new Float32Array(4))).toThrow(/stepMany: actions/);
    expect(() => generateEpisodes({ episodes: 0, steps: 5 })).toThrow(/generateEpisodes: episodes/);
  });
});
