// The embedded driving simulator: a procedurally generated two-lane road, simple car dynamics
// and a 64x64 RGB renderer (chase camera above and behind the car), plus a noisy lane-keeping
// driver for episode generation. Everything is a pure function of the seed (Philox), so an
// episode is reproducible bit for bit on any machine and thread count.
//
// Coordinates: world x east, y north, heading CCW from +x. The road is a centerline sampled
// every kRoadStep metres of arc length s; curvature k(s) > 0 bends left. Lateral offset d is
// positive to the right of the centerline (in the direction of travel). The right lane is
// d in [0, kLaneWidth], the left lane d in [-kLaneWidth, 0).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wk {

constexpr int kSimH = 64, kSimW = 64;
constexpr float kRoadStep = 0.5f;      // metres between centerline samples
constexpr float kLaneWidth = 3.6f;     // metres
constexpr float kRoadHalf = kLaneWidth;  // two lanes: the road spans d in [-3.6, 3.6]
constexpr float kCurbWidth = 0.9f;
constexpr float kDoneOffset = kRoadHalf + 7.0f;  // |d| beyond this ends the episode
constexpr int kSimStateSize = 8;   // x, y, heading, speed, s, d, headingError, curvatureAhead (6..30 m)
constexpr int kSimLabelSize = 3;   // lane (0 left, 1 right, 2 off road), curve (0 left, 1 straight, 2 right), speed bucket

struct SimStepOut {
  float reward = 0;
  bool done = false;
  int32_t labels[kSimLabelSize] = {0, 0, 0};
};

// Parameters of the scripted driver used for episode generation.
struct DriverParams {
  float steerNoise = 0.15f;     // std of the Ornstein-Uhlenbeck steering noise
  float mistakeRate = 0.02f;    // per-step probability of starting a burst of random actions
  float laneChangeRate = 0.01f; // per-step probability of switching the target lane
  float minSpeed = 0.0f, maxSpeed = 30.0f;  // cruise speeds (drawn from bands inside the speed classes) are clamped to these
  float speedChangeRate = 0.02f;  // per-step probability of drawing a new cruise speed
};

class DrivingSim {
 public:
  explicit DrivingSim(uint64_t seed = 0) { reset(seed); }
  void reset(uint64_t seed);

  // Advances one step (dt = 0.1 s) with action (steer -1..1, gas 0..1, brake 0..1; clamped).
  SimStepOut step(float steer, float gas, float brake);
  // Renders the current view into rgb (64*64*3 bytes, HWC).
  void render(uint8_t* rgb);
  // Writes the kSimStateSize state values.
  void state(float* out) const;
  void labels(int32_t* out) const;
  // The scripted driver's action for the current state (advances the driver's own noise).
  void driverAction(const DriverParams& p, float* action);

  uint64_t seed() const { return seed_; }
  bool done() const { return done_; }
  float speed() const { return v_; }
  float offset() const { return d_; }

 private:
  struct Sample {
    float x, y, tx, ty, k;
  };
  void ensureRoad(float sMax);
  float curvatureAt(float s) const;
  // Centerline point/tangent at arc length s (linear interpolation between samples).
  inline void centerAt(float s, float& x, float& y, float& tx, float& ty) const;
  // Projects world point (px, py) onto the road starting from guess s; returns s, writes d.
  inline float project(float px, float py, float s, float& d) const;
  float meanCurvature(float s0, float s1) const;
  float driverUniform();
  float drawCruise(const DriverParams& p);
  float driverNormal();

  uint64_t seed_ = 0;
  std::vector<Sample> road_;  // sample i is at s = sMin + i * kRoadStep
  static constexpr float kSMin = -80.0f;
  double x_ = 0, y_ = 0, heading_ = 0;
  float v_ = 0, s_ = 0, d_ = 0;
  float prevS_ = 0;
  int steps_ = 0;
  bool done_ = false;
  // driver state
  uint64_t driverCounter_ = 0;
  float ouSteer_ = 0, targetLane_ = 1.0f, cruise_ = 12.0f;
  int mistakeLeft_ = 0, cooldown_ = 0;
  float mistakeAction_[3] = {0, 0, 0};
  bool driverInit_ = false;
};

}  // namespace wk
