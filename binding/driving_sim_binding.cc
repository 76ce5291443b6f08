// Node-API glue for the driving simulator (cpp/driving_sim.h).
//
//   new DrivingSimNative(seed)
//   .reset(seed)
//   .render(frame Uint8Array[64*64*3])
//   .state(out Float32Array[8]) / .labels(out Int32Array[3])
//   .step(actions Float32Array[n*3], n, frames Uint8Array[n*12288], rewards Float32Array[n],
//         dones Uint8Array[n], labels Int32Array[n*3], states Float32Array[n*8]) -> steps taken
//   .drive(n, params Float32Array[5], frames, actions, rewards, dones, labels, states) -> steps
// step/drive run up to n steps in one call and stop after the step that ends the episode; frame
// t is the view after action t. simGenerateEpisodes(seed, firstEpisode, episodes, steps, params,
// frames, actions, rewards, dones, labels, lengths) runs many driver episodes in parallel
// (each episode is independent, so results do not depend on the thread count).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "driving_sim.h"
#include "philox.h"
#include "registry.h"
#include "thread_pool.h"

namespace {

constexpr size_t kFrame = wk::kSimH * wk::kSimW * 3;

wk::DriverParams parseParams(const wk::Args& a, size_t i) {
  auto p = a.f32(i, "params", 6);
  wk::DriverParams d;
  d.steerNoise = p.data[0];
  d.mistakeRate = p.data[1];
  d.laneChangeRate = p.data[2];
  d.minSpeed = p.data[3];
  d.maxSpeed = p.data[4];
  d.speedChangeRate = p.data[5];
  a.require(d.minSpeed >= 0 && d.maxSpeed >= d.minSpeed && d.maxSpeed <= 30,
            "params: speeds must satisfy 0 <= minSpeed <= maxSpeed <= 30");
  a.require(d.steerNoise >= 0 && d.mistakeRate >= 0 && d.mistakeRate <= 1 && d.laneChangeRate >= 0 &&
                d.laneChangeRate <= 1 && d.speedChangeRate >= 0 && d.speedChangeRate <= 1,
            "params: steerNoise >= 0 and rates in [0, 1]");
  return d;
}

uint64_t readSeed(const wk::Args& a, size_t i) { return static_cast<uint64_t>(a.integer(i, "seed", 0, (1LL << 53))); }

class SimWrap : public Napi::ObjectWrap<SimWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DrivingSimNative",
                       {InstanceMethod("reset", &SimWrap::Reset), InstanceMethod("render", &SimWrap::Render),
                        InstanceMethod("state", &SimWrap::State), InstanceMethod("labels", &SimWrap::Labels),
                        InstanceMethod("step", &SimWrap::Step), InstanceMethod("drive", &SimWrap::Drive)});
  }
  explicit SimWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SimWrap>(info) {
    wk::Args a(info, "DrivingSimNative", 1);
    sim_.reset(readSeed(a, 0));
  }

 private:
  Napi::Value Reset(const Napi::CallbackInfo& info) {
    wk::Args a(info, "DrivingSim.reset", 1);
    sim_.reset(readSeed(a, 0));
    return info.Env().Undefined();
  }
  Napi::Value Render(const Napi::CallbackInfo& info) {
    wk::Args a(info, "DrivingSim.render", 1);
    auto f = a.u8(0, "frame", kFrame);
    sim_.render(f.data);
    return info.Env().Undefined();
  }
  Napi::Value State(const Napi::CallbackInfo& info) {
    wk::Args a(info, "DrivingSim.state", 1);
    sim_.state(a.f32(0, "out", wk::kSimStateSize).data);
    return info.Env().Undefined();
  }
  Napi::Value Labels(const Napi::CallbackInfo& info) {
    wk::Args a(info, "DrivingSim.labels", 1);
    sim_.labels(a.i32(0, "out", wk::kSimLabelSize).data);
    return info.Env().Undefined();
  }
  struct Outs {
    uint8_t* frames;
    float* rewards;
    uint8_t* dones;
    int32_t* labels;
    float* states;
  };
  Outs parseOuts(const wk::Args& a, size_t first, size_t n) {
    Outs o;
    o.frames = a.u8(first, "frames", n * kFrame).data;
    o.rewards = a.f32(first + 1, "rewards", n).data;
    o.dones = a.u8(first + 2, "dones", n).data;
    o.labels = a.i32(first + 3, "labels", n * wk::kSimLabelSize).data;
    o.states = a.f32(first + 4, "states", n * wk::kSimStateSize).data;
    return o;
  }
  void record(const Outs& o, size_t t, const wk::SimStepOut& r) {
    sim_.render(o.frames + t * kFrame);
    o.rewards[t] = r.reward;
    o.dones[t] = r.done ? 1 : 0;
    std::memcpy(o.labels + t * wk::kSimLabelSize, r.labels, sizeof(r.labels));
    sim_.state(o.states + t * wk::kSimStateSize);
  }
  Napi::Value Step(const Napi::CallbackInfo& info) {
    wk::Args a(info, "DrivingSim.step", 7);
    const size_t n = static_cast<size_t>(a.integer(1, "n", 0, 1 << 24));
    auto actions = a.f32(0, "actions", n * 3);
    Outs o = parseOuts(a, 2, n);
    size_t t = 0;
    for (; t < n; ++t) {
      if (sim_.done()) break;
      wk::SimStepOut r = sim_.step(actions.data[3 * t], actions.data[3 * t + 1], actions.data[3 * t + 2]);
      record(o, t, r);
    }
    return Napi::Number::New(info.Env(), static_cast<double>(t));
  }
  Napi::Value Drive(const Napi::CallbackInfo& info) {
    wk::Args a(info, "DrivingSim.drive", 8);
    const size_t n = static_cast<size_t>(a.integer(0, "n", 0, 1 << 24));
    wk::DriverParams p = parseParams(a, 1);
    Outs o;
    o.frames = a.u8(2, "frames", n * kFrame).data;
    float* actions = a.f32(3, "actions", n * 3).data;
    o.rewards = a.f32(4, "rewards", n).data;
    o.dones = a.u8(5, "dones", n).data;
    o.labels = a.i32(6, "labels", n * wk::kSimLabelSize).data;
    o.states = a.f32(7, "states", n * wk::kSimStateSize).data;
    size_t t = 0;
    for (; t < n; ++t) {
      if (sim_.done()) break;
      float* act = actions + 3 * t;
      sim_.driverAction(p, act);
      wk::SimStepOut r = sim_.step(act[0], act[1], act[2]);
      record(o, t, r);
    }
    return Napi::Number::New(info.Env(), static_cast<double>(t));
  }
  wk::DrivingSim sim_;
};

// Seed of episode e of a generation run: a Philox hash of (seed, e), below 2^53.
uint64_t episodeSeed(uint64_t seed, uint64_t e) {
  wk::PhiloxBlock b = wk::philox4x32(seed, e + 0x9e37ULL);
  return ((static_cast<uint64_t>(b.v[0]) << 32) | b.v[1]) & ((1ULL << 53) - 1);
}

Napi::Value GenerateEpisodes(const Napi::CallbackInfo& info) {
  wk::Args a(info, "simGenerateEpisodes", 11);
  const uint64_t seed = readSeed(a, 0);
  const uint64_t first = static_cast<uint64_t>(a.integer(1, "firstEpisode", 0, 1LL << 40));
  const size_t episodes = static_cast<size_t>(a.integer(2, "episodes", 0, 1 << 20));
  const size_t steps = static_cast<size_t>(a.integer(3, "steps", 1, 1 << 20));
  wk::DriverParams p = parseParams(a, 4);
  a.require(episodes * steps <= (size_t(1) << 31), "episodes * steps is too large for one call");
  const size_t total = episodes * steps;
  uint8_t* frames = a.u8(5, "frames", total * kFrame).data;
  float* actions = a.f32(6, "actions", total * 3).data;
  float* rewards = a.f32(7, "rewards", total).data;
  uint8_t* dones = a.u8(8, "dones", total).data;
  int32_t* labels = a.i32(9, "labels", total * wk::kSimLabelSize).data;
  int32_t* lengths = a.i32(10, "lengths", episodes).data;
  // Episodes are independent, so the result does not depend on how they are spread over the
  // pool's threads.
  auto work = [&](size_t begin, size_t end) {
    for (size_t e = begin; e < end; ++e) {
      wk::DrivingSim sim(episodeSeed(seed, first + e));
      size_t t = 0;
      for (; t < steps && !sim.done(); ++t) {
        const size_t k = e * steps + t;
        sim.driverAction(p, actions + 3 * k);
        wk::SimStepOut r = sim.step(actions[3 * k], actions[3 * k + 1], actions[3 * k + 2]);
        sim.render(frames + k * kFrame);
        rewards[k] = r.reward;
        dones[k] = r.done ? 1 : 0;
        std::memcpy(labels + k * wk::kSimLabelSize, r.labels, sizeof(r.labels));
      }
      lengths[e] = static_cast<int32_t>(t);
    }
  };
  wk::parallelFor(episodes, 1, [&](size_t begin, size_t end, int) { work(begin, end); });
  return info.Env().Undefined();
}

Napi::Value EpisodeSeed(const Napi::CallbackInfo& info) {
  wk::Args a(info, "simEpisodeSeed", 2);
  return Napi::Number::New(info.Env(),
                           static_cast<double>(episodeSeed(readSeed(a, 0), static_cast<uint64_t>(a.integer(1, "episode")))));
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("DrivingSimNative", SimWrap::Define(env));
  exports.Set("simGenerateEpisodes", Napi::Function::New(env, GenerateEpisodes, "simGenerateEpisodes"));
  exports.Set("simEpisodeSeed", Napi::Function::New(env, EpisodeSeed, "simEpisodeSeed"));
}

}  // namespace

WK_REGISTER(driving_sim, Register);
