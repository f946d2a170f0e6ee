#include "models/gemma4/prompt.h"

namespace facet::gemma4 {
namespace {

size_t FlatSize(const Segment& s) {
  return s.kind == Segment::kSoftTokens ? s.text.size() * s.count
                                        : s.text.size();
}

}  // namespace

Prompt& Prompt::operator+=(std::string_view text) {
  if (text.empty()) return *this;
  if (segments_.empty() || segments_.back().kind != Segment::kText) {
    segments_.push_back(Segment());
  }
  segments_.back().text.append(text.data(), text.size());
  return *this;
}

void Prompt::Mark(std::string_view piece) {
  Segment s;
  s.kind = Segment::kMarker;
  s.text = std::string(piece);
  segments_.push_back(std::move(s));
}

void Prompt::SoftTokens(std::string_view piece, int count, int media) {
  Segment s;
  s.kind = Segment::kSoftTokens;
  s.text = std::string(piece);
  s.count = count;
  s.media = media;
  segments_.push_back(std::move(s));
}

std::string Prompt::Flat() const {
  std::string out;
  for (const Segment& s : segments_) {
    if (s.kind == Segment::kSoftTokens) {
      for (int i = 0; i < s.count; ++i) out += s.text;
    } else {
      out += s.text;
    }
  }
  return out;
}

bool Prompt::DropPrefix(size_t bytes) {
  size_t i = 0;
  while (i < segments_.size() && bytes > 0) {
    const size_t n = FlatSize(segments_[i]);
    if (bytes >= n) {
      bytes -= n;
      ++i;
      continue;
    }
    if (segments_[i].kind != Segment::kText) return false;
    segments_[i].text.erase(0, bytes);
    bytes = 0;
  }
  if (bytes > 0) return false;
  segments_.erase(segments_.begin(), segments_.begin() + i);
  return true;
}

void Prompt::Append(const Prompt& other) {
  for (const Segment& s : other.segments_) {
    if (s.kind == Segment::kText) {
      *this += s.text;
    } else {
      segments_.push_back(s);
    }
  }
}

}  // namespace facet::gemma4
