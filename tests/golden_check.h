// The golden-logit metrics of tests/data/golden/check.py, in C++, so the
// suite needs no Python: per-row max/mean |delta|, KL, top-1 agreement with
// the k worst rows forgiven, judged against the same threshold classes.
#ifndef FACET_TESTS_GOLDEN_CHECK_H_
#define FACET_TESTS_GOLDEN_CHECK_H_

#include <string>
#include <vector>

namespace facet::testing {

struct Thresholds {
  double row_max_p90, max_abs_trim, mean_abs, kl_mean_trim, top1_m01, top1_m05,
      dec_max_abs_trim, dec_top1_m01;
};
// "f32", "f16", "quant", "moe-reduced".
Thresholds ThresholdsFor(const std::string& cls);

struct Metrics {
  double max_abs = 0, max_abs_trim = 0, mean_abs = 0, row_max_p90 = 0,
         kl_mean_trim = 0, top1_m01 = 1, top1_m05 = 1;
};
// gold, eng: [rows][vocab].
Metrics Compare(const std::vector<float>& gold, const std::vector<float>& eng,
                int rows, int vocab);

// Empty when every limit holds, else one line per failed limit.
std::string Judge(const Metrics& prompt, const Metrics* decode,
                  const Thresholds& t);

}  // namespace facet::testing

#endif  // FACET_TESTS_GOLDEN_CHECK_H_
