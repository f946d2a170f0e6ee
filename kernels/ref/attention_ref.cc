#include "kernels/ref/attention_ref.h"

#include <cmath>
#include <cstring>

#include "kernels/ref/fp16.h"

namespace facet::kernels::ref {

void AttendTile(const float* q, int64_t q_stride, int nq, const float* const* k,
                const float* const* v, int count, int64_t d, float scale,
                float* m, float* l, float* acc) {
  float s[64];
  for (int i = 0; i < nq; ++i) {
    const float* qi = q + i * q_stride;
    float mt = -INFINITY;
    for (int j = 0; j < count; ++j) {
      float dot = 0;
      for (int64_t c = 0; c < d; ++c) dot += qi[c] * k[j][c];
      s[j] = dot * scale;
      mt = std::fmax(mt, s[j]);
    }
    const float m_new = std::fmax(m[i], mt);
    const float corr = std::exp(m[i] - m_new);
    float sum = 0;
    for (int j = 0; j < count; ++j) {
      s[j] = std::exp(s[j] - m_new);
      sum += s[j];
    }
    m[i] = m_new;
    l[i] = l[i] * corr + sum;
    float* ai = acc + i * d;
    for (int64_t c = 0; c < d; ++c) {
      float a = ai[c] * corr;
      for (int j = 0; j < count; ++j) a += s[j] * v[j][c];
      ai[c] = a;
    }
  }
}

void LoadKvF16(const uint8_t* const* rows, int count, int64_t d, float* dst) {
  for (int j = 0; j < count; ++j) {
    for (int64_t c = 0; c < d; ++c) {
      uint16_t h;
      std::memcpy(&h, rows[j] + 2 * c, 2);
      dst[j * d + c] = Fp16ToFp32(h);
    }
  }
}

void LoadKvQ8_0(const uint8_t* const* rows, int count, int64_t d, float* dst) {
  for (int j = 0; j < count; ++j) {
    const uint8_t* b = rows[j];
    for (int64_t c0 = 0; c0 < d; c0 += 32, b += 34) {
      uint16_t h;
      std::memcpy(&h, b, 2);
      const float scale = Fp16ToFp32(h);
      for (int c = 0; c < 32; ++c) {
        dst[j * d + c0 + c] = scale * static_cast<int8_t>(b[2 + c]);
      }
    }
  }
}

}  // namespace facet::kernels::ref
