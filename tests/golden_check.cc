#include "tests/golden_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace facet::testing {
namespace {

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  double idx = p / 100.0 * (v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(idx));
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

}  // namespace

Thresholds ThresholdsFor(const std::string& cls) {
  if (cls == "f32") return {0.15, 0.35, 0.03, 5e-4, 1.0, 1.0, 0.3, 1.0};
  if (cls == "f16") return {0.25, 0.4, 0.04, 1e-3, 1.0, 1.0, 0.4, 1.0};
  if (cls == "quant") return {3.0, 3.5, 0.5, 0.15, 0.7, 0.8, 3.0, 0.7};
  return {7.0, 9.0, 1.25, 0.7, 0.4, 0.5, 7.0, 0.4};  // moe-reduced
}

Metrics Compare(const std::vector<float>& gold, const std::vector<float>& eng,
                int rows, int vocab) {
  std::vector<double> row_max(rows), row_mean(rows), kl(rows);
  std::vector<double> margin(rows);
  std::vector<bool> agree(rows);
  for (int r = 0; r < rows; ++r) {
    const float* g = gold.data() + static_cast<size_t>(r) * vocab;
    const float* e = eng.data() + static_cast<size_t>(r) * vocab;
    double mx = 0, sum = 0, gm = -1e300, em = -1e300;
    int ga = 0, ea = 0;
    for (int i = 0; i < vocab; ++i) {
      double d = std::fabs(static_cast<double>(e[i]) - g[i]);
      mx = std::max(mx, d);
      sum += d;
      if (g[i] > gm) gm = g[i], ga = i;
      if (e[i] > em) em = e[i], ea = i;
    }
    double second = -1e300;
    for (int i = 0; i < vocab; ++i) {
      if (i != ga) second = std::max(second, static_cast<double>(g[i]));
    }
    double gz = 0, ez = 0;
    for (int i = 0; i < vocab; ++i) {
      gz += std::exp(g[i] - gm);
      ez += std::exp(e[i] - em);
    }
    double k = 0;
    for (int i = 0; i < vocab; ++i) {
      double lg = g[i] - gm - std::log(gz), le = e[i] - em - std::log(ez);
      k += std::exp(lg) * (lg - le);
    }
    row_max[r] = mx;
    row_mean[r] = sum / vocab;
    kl[r] = k;
    agree[r] = ga == ea;
    margin[r] = gm - second;
  }
  const int forgive = std::max(1, static_cast<int>(std::ceil(0.03 * rows)));
  Metrics m;
  std::vector<double> s = row_max;
  std::sort(s.begin(), s.end());
  m.max_abs = s.back();
  m.max_abs_trim = forgive < rows ? s[rows - 1 - forgive] : 0.0;
  double mean = 0;
  for (double v : row_mean) mean += v;
  m.mean_abs = mean / rows;
  m.row_max_p90 = Percentile(row_max, 90);
  std::vector<double> ks = kl;
  std::sort(ks.begin(), ks.end());
  int keep = std::max(1, rows - forgive);
  double kls = 0;
  for (int i = 0; i < keep; ++i) kls += ks[i];
  m.kl_mean_trim = kls / keep;
  for (double thr : {0.1, 0.5}) {
    int n = 0, bad = 0;
    for (int r = 0; r < rows; ++r) {
      if (margin[r] >= thr) {
        ++n;
        bad += !agree[r];
      }
    }
    double v =
        n ? 1.0 - std::max(0, bad - forgive) / static_cast<double>(n) : 1.0;
    (thr == 0.1 ? m.top1_m01 : m.top1_m05) = v;
  }
  return m;
}

std::string Judge(const Metrics& p, const Metrics* d, const Thresholds& t) {
  std::string out;
  auto check = [&](const char* name, double v, double lim, bool le) {
    if (le ? v <= lim : v >= lim) return;
    char buf[128];
    std::snprintf(buf, sizeof(buf), "%s = %.4g (limit %s %.4g)\n", name, v,
                  le ? "<=" : ">=", lim);
    out += buf;
  };
  check("row_max_p90", p.row_max_p90, t.row_max_p90, true);
  check("max_abs_trim", p.max_abs_trim, t.max_abs_trim, true);
  check("mean_abs", p.mean_abs, t.mean_abs, true);
  check("kl_mean_trim", p.kl_mean_trim, t.kl_mean_trim, true);
  check("top1_m01", p.top1_m01, t.top1_m01, false);
  check("top1_m05", p.top1_m05, t.top1_m05, false);
  if (d != nullptr) {
    check("dec_max_abs_trim", d->max_abs_trim, t.dec_max_abs_trim, true);
    check("dec_top1_m01", d->top1_m01, t.dec_top1_m01, false);
  }
  return out;
}

}  // namespace facet::testing
