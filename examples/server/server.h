// facet serve: an OpenAI-compatible HTTP server with a browser chat page.
#ifndef FACET_EXAMPLES_SERVER_SERVER_H_
#define FACET_EXAMPLES_SERVER_SERVER_H_

namespace facet::server {

// `facet serve -m <model> [--host 127.0.0.1] [--port 8080] ...`; argv[1] is
// "serve". Returns the process exit code.
int RunServe(int argc, char** argv);

// The chat page served at / (HTML with its CSS and JS inline).
extern const char kChatPage[];

}  // namespace facet::server

#endif  // FACET_EXAMPLES_SERVER_SERVER_H_
