// Minimal command-line parsing for the facet CLI: "-x value", "--long value"
// and "--flag". Unknown flags are errors, never silently ignored.
#ifndef FACET_EXAMPLES_CLI_ARGS_H_
#define FACET_EXAMPLES_CLI_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "facet/status.h"

namespace facet::cli {

class Args {
 public:
  // `with_value`: flags that take a value; `switches`: flags that do not.
  Status Parse(int argc, char** argv, int first,
               const std::set<std::string>& with_value,
               const std::set<std::string>& switches);
  bool Has(const std::string& flag) const { return values_.count(flag) > 0; }
  // The last value of a flag; GetAll: every value, in order (--image a
  // --image b).
  std::string Get(const std::string& flag, const std::string& def = "") const;
  std::vector<std::string> GetAll(const std::string& flag) const;
  // Integer value with range check; the message names the flag.
  Status GetInt(const std::string& flag, long long lo, long long hi,
                long long* out) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_;
  std::vector<std::string> positional_;
};

// Parses "2,17,5" into ids; the message says which entry is bad.
Status ParseIntList(const std::string& text, std::vector<int>* out);

}  // namespace facet::cli

#endif  // FACET_EXAMPLES_CLI_ARGS_H_
