// The driving simulator (see driving_sim.h): road generation, car dynamics, renderer, driver.
//
// Road: curvature is a smooth random function of arc length. Every kSegment metres a target
// curvature is drawn from Philox(seed, segment) (straight with probability 0.4, otherwise a
// left or right bend of radius 30..110 m); k(s) holds it for 24 m and blends to the next target
// over 16 m with a smoothstep, so heading and position are C2 along the road. The centerline is integrated on
// demand as the car advances.
//
// Renderer: the camera is fixed to the car (behind and above it, pitched down), so each pixel's
// ground point in the car's frame is a constant table built once. A frame is then, per pixel:
// rotate into the world, project onto the centerline (Newton steps from the neighbour's s),
// and shade from (s, d): grass checker, red/white curbs, asphalt, solid edge lines and a
// dashed centre line, with analytic coverage for anti-aliased edges and a little haze with
// distance. The car is a sprite drawn from the same table.
#include "driving_sim.h"

#include <algorithm>
#include <cmath>

#include "philox.h"

namespace wk {
namespace {

constexpr float kSegment = 40.0f;
constexpr float kDt = 0.1f;
constexpr float kWheelBase = 2.6f;
constexpr uint64_t kRoadStream = 0x5eedf00dULL;
constexpr uint64_t kDriverStream = 0xd1ce5eedULL;
constexpr int kCell = 4;
// The stretch of road the curve label describes: what the camera shows ahead of the car (its
// top rows reach about 33 m), so the label is decidable from the frame alone.
constexpr float kCurveFrom = 6.0f, kCurveTo = 30.0f;
constexpr int kNodes = kSimW / kCell + 1;

struct Camera {
  float fwd[kSimH * kSimW];
  float lat[kSimH * kSimW];
  float foot[kSimH * kSimW];   // metres covered by one pixel (lateral)
  float haze[kSimH * kSimW];   // 0..1 blend toward the haze colour
  int16_t car[kSimH * kSimW];  // -1: no car; else index into the car palette
  // Projection grid: nodes every kCell pixels (pixel coordinates 0, 4, ..., 64); the road
  // coordinates (s, d) are computed exactly at nodes and interpolated bilinearly in between.
  float nodeFwd[kNodes * kNodes];
  float nodeLat[kNodes * kNodes];
};

// Camera geometry: height, distance behind the car, pitch, half field of view (tan).
const Camera& camera() {
  static const Camera cam = [] {
    Camera c{};
    const double height = 11.0, back = 6.5, pitch = 44.0 * 3.14159265358979 / 180.0, tanHalf = 0.55;
    const double cp = std::cos(pitch), sp = std::sin(pitch);
    auto ground = [&](double px, double py, double& f, double& l, double& range) {
      const double nx = (px - kSimW / 2.0) / (kSimW / 2.0) * tanHalf;
      const double ny = (py - kSimH / 2.0) / (kSimH / 2.0) * tanHalf;
      // ray = forward + nx * right - ny * up, in (X forward, Y right, Z up)
      const double rx = cp - ny * sp, ry = nx, rz = -sp - ny * cp;
      double lambda = rz < -1e-3 ? height / -rz : 1e4;
      lambda = std::min(lambda, 400.0);
      f = -back + lambda * rx;
      l = lambda * ry;
      range = lambda * std::sqrt(rx * rx + ry * ry + rz * rz);
    };
    for (int j = 0; j < kNodes; ++j) {
      for (int i = 0; i < kNodes; ++i) {
        double f, l, r;
        ground(i * kCell, j * kCell, f, l, r);
        c.nodeFwd[j * kNodes + i] = static_cast<float>(f);
        c.nodeLat[j * kNodes + i] = static_cast<float>(l);
      }
    }
    for (int v = 0; v < kSimH; ++v) {
      for (int u = 0; u < kSimW; ++u) {
        const int i = v * kSimW + u;
        double f, l, range;
        ground(u + 0.5, v + 0.5, f, l, range);
        c.fwd[i] = static_cast<float>(f);
        c.lat[i] = static_cast<float>(l);
        c.foot[i] = static_cast<float>(std::max(0.03, range * tanHalf / (kSimW / 2.0)));
        c.haze[i] = static_cast<float>(std::clamp((range - 22.0) / 60.0, 0.0, 0.45));
        // Car footprint: 4.2 m long, 1.9 m wide, centred on the car's origin.
        int16_t part = -1;
        if (std::fabs(l) <= 0.95 && f >= -2.1 && f <= 2.1) {
          part = 0;                                                  // body
          if (f > 0.35 && f < 1.15 && std::fabs(l) < 0.78) part = 1;  // windscreen
          if (f < -1.35 && f > -1.85 && std::fabs(l) < 0.75) part = 1;  // rear window
          if (f > 1.85 && std::fabs(l) > 0.45) part = 2;             // headlights
          if (std::fabs(l) > 0.82) part = 3;                         // darker flanks
        }
        c.car[i] = part;
      }
    }
    return c;
  }();
  return cam;
}

const uint8_t kCarPalette[4][3] = {{205, 32, 38}, {45, 55, 80}, {255, 240, 170}, {150, 20, 26}};

// Fraction of the pixel footprint [x - h, x + h] (h = w/2, invW = 1/w) inside [a, b].
inline float coverage(float x, float h, float invW, float a, float b) {
  const float lo = std::max(a, x - h), hi = std::min(b, x + h);
  return std::min(1.0f, std::max(0.0f, (hi - lo) * invW));
}

// floor for the shading patterns without a libm call or a compare chain (baseline x86-64 has
// no SSE4.1 round): truncation of a positive shifted value. Valid for x > -32768; patterns
// only need it to within float rounding at the shifted magnitude.
inline int ifloor(float x) { return static_cast<int>(x + 32768.0f) - 32768; }

inline float smoothstep(float t) { return t * t * (3.0f - 2.0f * t); }

}  // namespace

float DrivingSim::curvatureAt(float s) const {
  if (s <= 0) return 0.0f;
  const float u = s / kSegment;
  const uint64_t j = static_cast<uint64_t>(u);
  auto target = [&](uint64_t seg) -> float {
    if (seg == 0) return 0.0f;  // the road starts straight
    PhiloxBlock b = philox4x32(seed_ ^ kRoadStream, seg);
    const float kind = philoxUniform(b.v[0]);
    if (kind < 0.4f) return 0.0f;
    const float radius = 30.0f + 80.0f * philoxUniform(b.v[1]);
    return (philoxUniform(b.v[2]) < 0.5f ? 1.0f : -1.0f) / radius;
  };
  // Hold each segment's curvature for its first 60% and blend to the next over the last 40%
  // (smoothstep: curvature stays C1, heading C2). A road that is always between two targets
  // would keep its curve label near the class boundary for long stretches.
  const float t = smoothstep(std::clamp((u - static_cast<float>(j) - 0.6f) / 0.4f, 0.0f, 1.0f));
  return target(j) * (1.0f - t) + target(j + 1) * t;
}

void DrivingSim::ensureRoad(float sMax) {
  if (road_.empty()) {
    // Start at the origin heading north; the part before s = 0 is straight.
    const float s0 = kSMin;
    road_.push_back({0.0f, s0, 0.0f, 1.0f, 0.0f});
  }
  if (!(sMax < 2.0e5f)) sMax = 2.0e5f;  // bounded memory even for a car driving for hours (or NaN)
  double heading = std::atan2(road_.back().ty, road_.back().tx);
  while (kSMin + (road_.size() - 1) * kRoadStep < sMax) {
    const Sample& p = road_.back();
    const float s = kSMin + (road_.size() - 1) * kRoadStep;
    // midpoint rule for heading over the step
    const float kMid = curvatureAt(s + 0.5f * kRoadStep);
    const double hMid = heading + 0.5 * kMid * kRoadStep;
    heading += kMid * kRoadStep;
    Sample n;
    n.x = static_cast<float>(p.x + kRoadStep * std::cos(hMid));
    n.y = static_cast<float>(p.y + kRoadStep * std::sin(hMid));
    n.tx = static_cast<float>(std::cos(heading));
    n.ty = static_cast<float>(std::sin(heading));
    n.k = curvatureAt(s + kRoadStep);
    road_.push_back(n);
  }
}

inline void DrivingSim::centerAt(float s, float& x, float& y, float& tx, float& ty) const {
  float u = (s - kSMin) / kRoadStep;
  const float maxU = static_cast<float>(road_.size() - 1) - 1e-3f;
  u = std::clamp(u, 0.0f, maxU);
  const size_t i = static_cast<size_t>(u);
  const float f = u - static_cast<float>(i);
  const Sample& a = road_[i];
  const Sample& b = road_[i + 1];
  x = a.x + (b.x - a.x) * f;
  y = a.y + (b.y - a.y) * f;
  tx = a.tx + (b.tx - a.tx) * f;
  ty = a.ty + (b.ty - a.ty) * f;
}

inline float DrivingSim::project(float px, float py, float s, float& d) const {
  float x, y, tx, ty;
  for (int it = 0; it < 3; ++it) {
    centerAt(s, x, y, tx, ty);
    const float along = (px - x) * tx + (py - y) * ty;
    s += std::clamp(along, -12.0f, 12.0f);
  }
  centerAt(s, x, y, tx, ty);
  // right normal of tangent (tx, ty) is (ty, -tx)
  d = (px - x) * ty - (py - y) * tx;
  return s;
}

float DrivingSim::meanCurvature(float s0, float s1) const {
  float acc = 0;
  const int n = 1 + static_cast<int>(std::max(0.0f, (s1 - s0) * 0.5f));
  for (int i = 0; i < n; ++i) {
    const float s = s0 + 2.0f * i;
    const float u = std::clamp((s - kSMin) / kRoadStep, 0.0f, static_cast<float>(road_.size() - 1));
    acc += road_[static_cast<size_t>(u)].k;
  }
  return acc / n;
}

void DrivingSim::reset(uint64_t seed) {
  seed_ = seed;
  road_.clear();
  ensureRoad(120.0f);
  driverCounter_ = 0;
  driverInit_ = false;
  mistakeLeft_ = 0;
  cooldown_ = 0;
  ouSteer_ = 0;
  // Start in the right lane with a small random offset and heading error.
  PhiloxBlock b = philox4x32(seed_ ^ kDriverStream, 0xffffffffULL);
  const float s0 = 5.0f;
  float x, y, tx, ty;
  centerAt(s0, x, y, tx, ty);
  const float d0 = 0.5f * kLaneWidth + (philoxUniform(b.v[0]) - 0.5f) * 1.0f;
  x_ = x + d0 * ty;
  y_ = y - d0 * tx;
  heading_ = std::atan2(ty, tx) + (philoxUniform(b.v[1]) - 0.5f) * 0.1f;
  v_ = 6.0f + 4.0f * philoxUniform(b.v[2]);
  s_ = project(static_cast<float>(x_), static_cast<float>(y_), s0, d_);
  prevS_ = s_;
  steps_ = 0;
  done_ = false;
}

SimStepOut DrivingSim::step(float steer, float gas, float brake) {
  SimStepOut out;
  if (!(steer == steer)) steer = 0;  // NaN guards: treat as no input
  if (!(gas == gas)) gas = 0;
  if (!(brake == brake)) brake = 0;
  steer = std::clamp(steer, -1.0f, 1.0f);
  gas = std::clamp(gas, 0.0f, 1.0f);
  brake = std::clamp(brake, 0.0f, 1.0f);
  prevS_ = s_;
  const int sub = 2;
  const float h = kDt / sub;
  for (int k = 0; k < sub; ++k) {
    const bool onRoad = std::fabs(d_) <= kRoadHalf + kCurbWidth;
    const float angle = steer * 0.5f / (1.0f + v_ / 12.0f);
    const float yawRate = -v_ * std::tan(angle) / kWheelBase;  // steer > 0 turns right (clockwise)
    float a = 5.0f * gas - 9.0f * brake - 0.06f * v_ - 0.0025f * v_ * v_;
    if (!onRoad) a -= 1.5f + 0.25f * v_;
    v_ = std::clamp(v_ + a * h, 0.0f, 30.0f);
    heading_ += yawRate * h;
    x_ += v_ * std::cos(heading_) * h;
    y_ += v_ * std::sin(heading_) * h;
    ensureRoad(s_ + 100.0f);
    s_ = project(static_cast<float>(x_), static_cast<float>(y_), s_, d_);
  }
  ++steps_;
  const bool onRoad = std::fabs(d_) <= kRoadHalf;
  const float progress = s_ - prevS_;
  out.reward = onRoad ? 0.1f * progress : 0.02f * progress - 0.1f;
  float st[kSimStateSize];
  state(st);
  done_ = std::fabs(d_) > kDoneOffset || std::fabs(st[6]) > 2.0f;
  out.done = done_;
  labels(out.labels);
  return out;
}

void DrivingSim::state(float* out) const {
  float x, y, tx, ty;
  centerAt(s_, x, y, tx, ty);
  float err = static_cast<float>(heading_ - std::atan2(ty, tx));
  while (err > 3.14159265f) err -= 6.2831853f;
  while (err < -3.14159265f) err += 6.2831853f;
  out[0] = static_cast<float>(x_);
  out[1] = static_cast<float>(y_);
  out[2] = static_cast<float>(heading_);
  out[3] = v_;
  out[4] = s_;
  out[5] = d_;
  out[6] = err;
  out[7] = meanCurvature(s_ + kCurveFrom, s_ + kCurveTo);
}

void DrivingSim::labels(int32_t* out) const {
  out[0] = std::fabs(d_) > kRoadHalf ? 2 : (d_ < 0 ? 0 : 1);
  const float k = meanCurvature(s_ + kCurveFrom, s_ + kCurveTo);
  out[1] = k > 1.0f / 150.0f ? 0 : (k < -1.0f / 150.0f ? 2 : 1);
  out[2] = v_ < 6.0f ? 0 : (v_ < 12.0f ? 1 : 2);
}

void DrivingSim::render(uint8_t* rgb) {
  const Camera& cam = camera();
  ensureRoad(s_ + 100.0f);
  const float c = static_cast<float>(std::cos(heading_)), sn = static_cast<float>(std::sin(heading_));
  const float cx = static_cast<float>(x_), cy = static_cast<float>(y_);
  // 1. Road coordinates at the grid nodes, bottom row first: each node starts its projection
  //    from the node below it (the bottom row from the car's own s).
  float nodeS[kNodes * kNodes], nodeD[kNodes * kNodes];
  for (int j = kNodes - 1; j >= 0; --j) {
    for (int i = 0; i < kNodes; ++i) {
      const int k = j * kNodes + i;
      const float f = cam.nodeFwd[k], l = cam.nodeLat[k];
      const float wx = cx + f * c + l * sn, wy = cy + f * sn - l * c;  // lateral axis (sin h, -cos h)
      const float guess = j == kNodes - 1 ? s_ + f : nodeS[k + kNodes];
      nodeS[k] = project(wx, wy, guess, nodeD[k]);
    }
  }
  // 2. Shade every pixel from its interpolated (s, d).
  const float grassA[3] = {72, 150, 58}, grassB[3] = {60, 132, 50};
  const float curbRed[3] = {200, 45, 45}, curbWhite[3] = {236, 236, 236};
  const float asphaltA[3] = {98, 98, 104}, asphaltB[3] = {92, 92, 98};
  const float paint[3] = {240, 240, 235};
  const float hazeC[3] = {175, 195, 185};
  for (int v = 0; v < kSimH; ++v) {
    const int j = v / kCell;
    const float ty = (v + 0.5f - j * kCell) / kCell;
    for (int u = 0; u < kSimW; ++u) {
      const int i = v * kSimW + u;
      uint8_t* px = rgb + 3 * i;
      const int16_t part = cam.car[i];
      if (part >= 0) {
        px[0] = kCarPalette[part][0];
        px[1] = kCarPalette[part][1];
        px[2] = kCarPalette[part][2];
        continue;
      }
      const int ci = u / kCell;
      const float tx = (u + 0.5f - ci * kCell) / kCell;
      const int k = j * kNodes + ci;
      const float w00 = (1 - tx) * (1 - ty), w01 = tx * (1 - ty), w10 = (1 - tx) * ty, w11 = tx * ty;
      const float s = w00 * nodeS[k] + w01 * nodeS[k + 1] + w10 * nodeS[k + kNodes] + w11 * nodeS[k + kNodes + 1];
      const float d = w00 * nodeD[k] + w01 * nodeD[k + 1] + w10 * nodeD[k + kNodes] + w11 * nodeD[k + kNodes + 1];
      const float w = cam.foot[i], h = 0.5f * w, invW = 1.0f / w;
      const float ad = std::fabs(d);
      float col[3];
      if (ad - h >= kRoadHalf + kCurbWidth) {
        // grass only (the common case away from the road)
        const int tile = ifloor(s * (1.0f / 6.0f)) + ifloor(d * (1.0f / 6.0f));
        const float* grass = (tile & 1) ? grassA : grassB;
        col[0] = grass[0]; col[1] = grass[1]; col[2] = grass[2];
      } else {
        const float covRoad = coverage(ad, h, invW, -1.0f, kRoadHalf);
        const float covAll = coverage(ad, h, invW, -1.0f, kRoadHalf + kCurbWidth);
        const int tile = ifloor(s * (1.0f / 6.0f)) + ifloor(d * (1.0f / 6.0f));
        const float* grass = (tile & 1) ? grassA : grassB;
        const float* curb = (ifloor(s * (1.0f / 1.5f)) & 1) ? curbRed : curbWhite;
        const float* asphalt = (ifloor(s * 0.25f) & 1) ? asphaltA : asphaltB;
        // Paint: solid edge lines and a dashed centre line (3 m dash, 3 m gap).
        float covPaint = coverage(ad, h, invW, kRoadHalf - 0.5f, kRoadHalf - 0.2f);
        const float dashPhase = s - 6.0f * static_cast<float>(ifloor(s * (1.0f / 6.0f)));
        if (dashPhase < 3.0f) covPaint = std::max(covPaint, coverage(d, h, invW, -0.16f, 0.16f));
        for (int ch = 0; ch < 3; ++ch) {
          float x = grass[ch] * (1.0f - covAll) + curb[ch] * (covAll - covRoad) + asphalt[ch] * covRoad;
          col[ch] = x + (paint[ch] - x) * covPaint * covRoad;
        }
      }
      const float hz = cam.haze[i];
      for (int ch = 0; ch < 3; ++ch) {
        const float x = col[ch] + (hazeC[ch] - col[ch]) * hz;
        px[ch] = static_cast<uint8_t>(std::clamp(x + 0.5f, 0.0f, 255.0f));
      }
    }
  }
}

float DrivingSim::driverUniform() {
  PhiloxBlock b = philox4x32(seed_ ^ kDriverStream, driverCounter_++);
  return philoxUniform(b.v[0]);
}

float DrivingSim::driverNormal() {
  const uint64_t idx = driverCounter_++;
  return philoxNormal(seed_ ^ (kDriverStream + 1), idx);
}

// Cruise speeds are drawn from three bands inside the speed classes (slow < 6 <= medium < 12 <=
// fast), clamped to [minSpeed, maxSpeed]: a driver keeps a typical pace rather than hovering at
// a class boundary, so the speed label of a frame is decidable from its motion.
float DrivingSim::drawCruise(const DriverParams& p) {
  static constexpr float kBands[3][2] = {{2.5f, 4.5f}, {7.5f, 10.5f}, {13.5f, 18.0f}};
  const float u = driverUniform();
  const int band = u < 1.0f / 3.0f ? 0 : (u < 2.0f / 3.0f ? 1 : 2);
  const float v = kBands[band][0] + (kBands[band][1] - kBands[band][0]) * driverUniform();
  return std::clamp(v, p.minSpeed, p.maxSpeed);
}

void DrivingSim::driverAction(const DriverParams& p, float* action) {
  if (!driverInit_) {
    driverInit_ = true;
    cruise_ = drawCruise(p);
    targetLane_ = 1.0f;
  }
  if (driverUniform() < p.laneChangeRate) targetLane_ = 1.0f - targetLane_;
  // A new cruise speed now and then, so speed labels change within an episode too.
  if (driverUniform() < p.speedChangeRate) cruise_ = drawCruise(p);
  if (cooldown_ > 0) --cooldown_;
  if (mistakeLeft_ == 0 && cooldown_ == 0 && driverUniform() < p.mistakeRate) {
    cooldown_ = 30;  // a mistake is followed by at least 3 s of recovery
    mistakeLeft_ = 2 + static_cast<int>(driverUniform() * 8.0f);
    mistakeAction_[0] = 1.4f * driverUniform() - 0.7f;
    mistakeAction_[1] = driverUniform();
    mistakeAction_[2] = driverUniform() < 0.25f ? driverUniform() : 0.0f;
  }
  if (mistakeLeft_ > 0) {
    --mistakeLeft_;
    action[0] = mistakeAction_[0];
    action[1] = mistakeAction_[1];
    action[2] = mistakeAction_[2];
    return;
  }
  // Pure pursuit toward a point on the target lane ahead.
  const float look = 5.0f + 0.6f * v_;
  const float targetD = (targetLane_ > 0.5f ? 0.5f : -0.5f) * kLaneWidth;
  float x, y, tx, ty;
  centerAt(s_ + look, x, y, tx, ty);
  const float gx = x + targetD * ty, gy = y - targetD * tx;
  const float dx = gx - static_cast<float>(x_), dy = gy - static_cast<float>(y_);
  const float c = static_cast<float>(std::cos(heading_)), sn = static_cast<float>(std::sin(heading_));
  const float fwd = dx * c + dy * sn, left = -dx * sn + dy * c;
  const float alpha = std::atan2(left, std::max(fwd, 0.1f));
  const float dist = std::sqrt(dx * dx + dy * dy);
  const float delta = std::atan(2.0f * kWheelBase * std::sin(alpha) / std::max(dist, 1.0f));  // > 0: left
  const float maxAngle = 0.5f / (1.0f + v_ / 12.0f);
  ouSteer_ = 0.85f * ouSteer_ + p.steerNoise * driverNormal();
  action[0] = std::clamp(-delta / maxAngle + ouSteer_, -1.0f, 1.0f);
  const float kAhead = std::fabs(meanCurvature(s_ + 4.0f, s_ + 4.0f + 1.5f * v_ + 10.0f));
  // Bends cap the speed at 4 m/s^2 of lateral acceleration; a bend that cannot be taken fast is
  // taken at a medium pace of at most 10 m/s, so speeds do not dwell at the 12 m/s class boundary.
  const float bendCap = std::sqrt(4.0f / std::max(kAhead, 1e-3f));
  const float target = std::min(cruise_, bendCap < 13.5f ? std::min(bendCap, 10.0f) : bendCap);
  action[1] = std::clamp(0.6f * (target - v_) + 0.25f, 0.0f, 1.0f);
  action[2] = std::clamp(0.35f * (v_ - target - 1.0f), 0.0f, 1.0f);
}

}  // namespace wk
