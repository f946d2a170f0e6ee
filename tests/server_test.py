#!/usr/bin/env python3
"""facet serve over HTTP: answers (plain and streamed), the OpenAI error
shape for bad requests (the server keeps serving), the request queue (503
past it) and cancelling a stream whose client went away.

usage: server_test.py <facet binary> <model>
Binds 127.0.0.1 only, on a port the server picks (--port 0). Python
standard library only.
"""
import base64
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

DEADLINE = time.monotonic() + 100  # the whole test
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class Server:
    def __init__(self, facet, model, *extra):
        self.log = []
        self.proc = subprocess.Popen(
            [facet, "serve", "-m", model, "--host", "127.0.0.1", "--port", "0",
             "-t", "1", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = None
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.log.append(line.rstrip("\n"))
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(60) or self.port is None:
            self.stop()
            sys.exit("facet serve did not start:\n" + "\n".join(self.log))

    def conn(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = self.conn(timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def json(self, method, path, body=None, **kw):
        status, data = self.request(method, path, body, **kw)
        try:
            return status, json.loads(data)
        except ValueError:
            raise AssertionError(f"{path}: not JSON ({status}): {data[:200]!r}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


failures = []


def check(cond, what):
    if cond:
        print("ok  ", what)
    else:
        print("FAIL", what)
        failures.append(what)


def sse_events(resp):
    """The data: payloads of a streamed response, up to [DONE]."""
    events = []
    buf = b""
    while time.monotonic() < DEADLINE:
        line = resp.readline()
        if not line:
            break
        line = line.rstrip(b"\r\n")
        if line.startswith(b"data: "):
            payload = line[6:]
            if payload == b"[DONE]":
                events.append("[DONE]")
                break
            events.append(json.loads(payload))
    return events


def user(text):
    return [{"role": "user", "content": text}]


def expect_error(srv, body, status, param=None, code=None, what="",
                 raw=None, headers=None):
    if raw is not None:
        s, data = srv.request("POST", "/v1/chat/completions", raw,
                              headers=headers)
        try:
            j = json.loads(data)
        except ValueError:
            j = {}
    else:
        s, j = srv.json("POST", "/v1/chat/completions", body, headers=headers)
    err = j.get("error", {}) if isinstance(j, dict) else {}
    ok = (s == status and isinstance(err.get("message"), str) and
          err.get("message") and "type" in err and "param" in err and
          "code" in err)
    if param is not None:
        ok = ok and err.get("param") == param
    if code is not None:
        ok = ok and err.get("code") == code
    check(ok, f"{what}: {status} {err.get('code')} ({err.get('message')})"
          if ok else f"{what}: got {s} {j}")


def tiny_model(tmp):
    """The tiny golden E2B model of the multimodal tests as a folder with a
    tokenizer (its encoders: tests/data/multimodal/tiny-*)."""
    src = os.path.join(DATA, "golden", "e2b-tiny-hf-bf16")
    os.symlink(os.path.join(src, "model.safetensors"),
               os.path.join(tmp, "model.safetensors"))
    os.symlink(os.path.join(DATA, "tokenizers",
                            "golden_vocab.tokenizer.json"),
               os.path.join(tmp, "tokenizer.json"))
    shutil.copy(os.path.join(src, "config.json"), tmp)
    return tmp


def data_url(path, mime):
    with open(path, "rb") as f:
        return f"data:{mime};base64," + base64.b64encode(f.read()).decode()


def run_media(facet):
    """Images and audio as data: URLs on a model with the encoders."""
    inputs = os.path.join(DATA, "multimodal", "inputs")
    with tempfile.TemporaryDirectory() as tmp:
        model = tiny_model(tmp)
        vision = Server(facet, model, "--mmproj",
                        os.path.join(DATA, "multimodal", "tiny-vision",
                                     "small"))
        try:
            s, j = vision.json("GET", "/v1/models")
            check(j["data"][0]["meta"]["vision"], "vision server: meta.vision")
            image = {"type": "image_url", "image_url": {
                "url": data_url(os.path.join(inputs, "img_alpha_20x20.png"),
                                "image/png"), "detail": "low"}}
            s, j = vision.json("POST", "/v1/chat/completions", {
                "messages": [{"role": "user", "content": [
                    image, {"type": "text", "text": "What is it?"}]}],
                "max_tokens": 4})
            check(s == 200 and j["usage"]["prompt_tokens"] > 63,
                  f"image as a data: URL answered ({s}, {j.get('usage')})")
            bad = {"type": "image_url",
                   "image_url": {"url": "data:image/png;base64,"
                                 + base64.b64encode(b"not a png").decode()}}
            expect_error(vision, {"messages": [{"role": "user",
                                                "content": [bad]}]}, 400,
                         param=None, what="undecodable image")
            expect_error(vision, {"messages": [{"role": "user", "content": [
                {"type": "image_url",
                 "image_url": {"url": "https://example.com/a.png"}}]}]},
                400, what="http image URL (nothing is fetched)")
            expect_error(vision, {"messages": [{"role": "user", "content": [
                {"type": "image_url",
                 "image_url": {"url": "data:image/png;base64,@@@"}}]}]},
                400, what="bad base64")
            expect_error(vision, {"messages": [{"role": "user", "content": [
                {"type": "input_audio",
                 "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]},
                400, code="model_not_multimodal",
                what="audio on a vision-only model")
            s, _ = vision.json("GET", "/health")
            check(s == 200, "vision server still serving")
        finally:
            vision.stop()
        audio = Server(facet, model, "--mmproj",
                       os.path.join(DATA, "multimodal", "tiny-audio"))
        try:
            with open(os.path.join(inputs, "aud_speech_16k_mono.wav"),
                      "rb") as f:
                wav = base64.b64encode(f.read()).decode()
            s, body = audio.request("POST", "/v1/chat/completions", {
                "messages": [{"role": "user", "content": [
                    {"type": "input_audio",
                     "input_audio": {"data": wav, "format": "wav"}},
                    {"type": "text", "text": "Transcribe."}]}],
                "max_tokens": 4, "stream": True}, timeout=60)
            check(s == 200 and body.rstrip().endswith(b"data: [DONE]") and
                  b'"usage"' in body, "WAV as input_audio answered (streamed)")
            expect_error(audio, {"messages": [{"role": "user", "content": [
                {"type": "input_audio",
                 "input_audio": {"data": wav, "format": "ogg"}}]}]},
                400, param="messages[0].content[0].input_audio.format",
                what="audio format other than wav / mp3")
            expect_error(audio, {"messages": [{"role": "user", "content": [
                {"type": "input_audio", "input_audio": {
                    "data": base64.b64encode(b"RIFF junk").decode()}}]}]},
                400, what="undecodable WAV")
        finally:
            audio.stop()


# The demo model was never trained on tool calls: constrained decoding
# makes its calls valid, and maxLength keeps its strings short.
WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object",
                   "properties": {
                       "city": {"type": "string", "maxLength": 16},
                       "unit": {"enum": ["celsius", "fahrenheit"]}},
                   "required": ["city", "unit"]}}}]


def valid_weather_call(tc):
    """A get_weather call of the OpenAI shape whose arguments parse."""
    try:
        args = json.loads(tc["function"]["arguments"])
    except (KeyError, TypeError, ValueError):
        return False
    return (tc.get("type") == "function" and
            tc["id"].startswith("call_") and
            tc["function"]["name"] == "get_weather" and
            isinstance(args, dict) and isinstance(args.get("city"), str) and
            len(args["city"]) <= 16 and
            args.get("unit") in ("celsius", "fahrenheit"))


def run_constrained(srv):
    """tool_choice and response_format: constrained decoding."""
    ask = [{"role": "system", "content": "You report the weather."},
           {"role": "user", "content": "Weather in Paris?"}]
    for seed in (1, 2, 3):
        s, j = srv.json("POST", "/v1/chat/completions",
                        {"messages": ask, "tools": WEATHER, "seed": seed,
                         "tool_choice": "required", "max_tokens": 300})
        ch = j["choices"][0] if s == 200 else {}
        calls = ch.get("message", {}).get("tool_calls") or []
        check(s == 200 and ch.get("finish_reason") == "tool_calls" and calls
              and all(valid_weather_call(tc) for tc in calls),
              f"tool_choice required, seed {seed}: "
              f"{[tc['function']['arguments'] for tc in calls]}")
        # The system turn (with the declarations) came from the prefix
        # cache after the first request.
        if seed > 1:
            cached = j["usage"]["prompt_tokens_details"]["cached_tokens"]
            check(0 < cached < j["usage"]["prompt_tokens"],
                  f"usage.prompt_tokens_details.cached_tokens {cached} of "
                  f"{j['usage']['prompt_tokens']}")
    # Round trip: the call and its result go back; the answer is text
    # (tool_choice none: no further call).
    history = ask + [ch["message"]] + [
        {"role": "tool", "tool_call_id": tc["id"],
         "content": json.dumps({"temp_c": 21})} for tc in calls]
    s, j = srv.json("POST", "/v1/chat/completions",
                    {"messages": history, "tools": WEATHER, "seed": 1,
                     "tool_choice": "none", "max_tokens": 24})
    ch = j["choices"][0] if s == 200 else {}
    check(s == 200 and not ch["message"].get("tool_calls") and
          isinstance(ch["message"].get("content"), str),
          f"forced call round trip, tool_choice none: text "
          f"{ch.get('message', {}).get('content')!r}")
    # A named function, streamed: the call comes as a tool_calls delta.
    c = srv.conn()
    c.request("POST", "/v1/chat/completions", json.dumps(
        {"messages": ask, "tools": WEATHER, "stream": True, "seed": 4,
         "max_tokens": 300, "tool_choice": {
             "type": "function", "function": {"name": "get_weather"}}}),
        {"Content-Type": "application/json"})
    r = c.getresponse()
    events = sse_events(r)
    c.close()
    deltas = [tc for e in events if e != "[DONE]"
              for tc in e["choices"][0]["delta"].get("tool_calls") or []]
    last = events[-2] if len(events) >= 2 else {}
    check(r.status == 200 and deltas and
          all(valid_weather_call(tc) for tc in deltas) and
          last["choices"][0]["finish_reason"] == "tool_calls",
          f"named tool_choice, streamed: {len(deltas)} call(s)")
    # response_format: any JSON object (greedy: sampled, the untrained
    # demo model often writes keys past any bound), then a schema.
    s, j = srv.json("POST", "/v1/chat/completions",
                    {"messages": user("Recite Genesis 1:1"), "seed": 1,
                     "max_tokens": 300, "temperature": 0,
                     "response_format": {"type": "json_object"}})
    text = j["choices"][0]["message"]["content"] if s == 200 else ""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    check(isinstance(doc, dict) and
          j["choices"][0]["finish_reason"] == "stop",
          f"response_format json_object: {text!r}")
    schema = {"type": "object",
              "properties": {"book": {"enum": ["Genesis", "Exodus"]},
                             "verse": {"type": "integer"},
                             "text": {"type": "string", "maxLength": 40}},
              "required": ["book", "verse", "text"],
              "additionalProperties": False}
    s, j = srv.json("POST", "/v1/chat/completions",
                    {"messages": user("Recite Genesis 1:1"), "seed": 5,
                     "max_tokens": 300,
                     "response_format": {"type": "json_schema", "json_schema": {
                         "name": "verse", "strict": True, "schema": schema}}})
    text = j["choices"][0]["message"]["content"] if s == 200 else ""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    check(isinstance(doc, dict) and set(doc) == {"book", "verse", "text"} and
          doc["book"] in ("Genesis", "Exodus") and
          isinstance(doc["verse"], int) and len(doc["text"]) <= 40,
          f"response_format json_schema: {text!r}")


def main():
    facet, model = sys.argv[1], sys.argv[2]
    srv = Server(facet, model, "--parallel", "1", "--queue", "1",
                 "--max-body-mb", "1")
    try:
        run(srv)
    finally:
        srv.stop()
        if failures:
            print("\n".join(srv.log[-30:]))
    run_media(facet)
    print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


def run(srv):
    s, j = srv.json("GET", "/health")
    check(s == 200 and j.get("status") == "ok", "GET /health")
    s, j = srv.json("GET", "/v1/models")
    check(s == 200 and j["data"][0]["id"] == "demo", "GET /v1/models")
    s, page = srv.request("GET", "/")
    check(s == 200 and b"<title>facet chat</title>" in page, "GET / (page)")

    # A plain answer.
    s, j = srv.json("POST", "/v1/chat/completions",
                    {"model": "demo", "messages": user("In the beginning"),
                     "max_tokens": 20, "seed": 3, "temperature": 0.7})
    msg = j["choices"][0]["message"] if s == 200 else {}
    check(s == 200 and j["object"] == "chat.completion" and
          msg.get("role") == "assistant" and isinstance(msg.get("content"), str)
          and j["usage"]["completion_tokens"] >= 1 and
          j["usage"]["prompt_tokens"] > 0 and
          j["usage"]["total_tokens"] == j["usage"]["prompt_tokens"] +
          j["usage"]["completion_tokens"], "plain answer with usage")
    check(j["choices"][0]["finish_reason"] in ("stop", "length"),
          "finish_reason")
    # Same seed, same answer.
    s2, j2 = srv.json("POST", "/v1/chat/completions",
                      {"messages": user("In the beginning"), "max_tokens": 20,
                       "seed": 3, "temperature": 0.7})
    check(s2 == 200 and j2["choices"][0]["message"]["content"] ==
          msg.get("content"), "seeded answers repeat")

    # A streamed answer.
    c = srv.conn()
    c.request("POST", "/v1/chat/completions", json.dumps(
        {"messages": user("And God said"), "max_tokens": 12, "stream": True,
         "seed": 1}), {"Content-Type": "application/json"})
    r = c.getresponse()
    events = sse_events(r)
    c.close()
    chunks = [e for e in events if e != "[DONE]"]
    text = "".join(e["choices"][0]["delta"].get("content") or ""
                   for e in chunks)
    check(r.status == 200 and
          r.getheader("Content-Type", "").startswith("text/event-stream") and
          events and events[-1] == "[DONE]" and
          chunks[0]["choices"][0]["delta"].get("role") == "assistant" and
          all(e["object"] == "chat.completion.chunk" for e in chunks) and
          chunks[-1]["choices"][0]["finish_reason"] == "length" and
          chunks[-1]["usage"]["completion_tokens"] == 12 and text,
          f"streamed answer ({len(chunks)} chunks, usage in the last)")

    # History with a tool call and its result, tools declared, thinking on.
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object",
                       "properties": {"city": {"type": "string"}}}}}]
    history = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {
                "name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1",
         "content": "{\"temp_c\": 21}"},
    ]
    s, j = srv.json("POST", "/v1/chat/completions",
                    {"messages": history, "tools": tools, "max_tokens": 8,
                     "tool_choice": "auto",
                     "reasoning": {"enabled": True}})
    check(s == 200 and j["usage"]["prompt_tokens"] > 30,
          "tool-call history and tool result accepted")
    run_constrained(srv)
    s, j = srv.json("POST", "/v1/chat/completions",
                    {"messages": user("hi"), "max_tokens": 4,
                     "chat_template_kwargs": {"enable_thinking": True},
                     "stop": ["\n", "Amen"]})
    check(s == 200, "chat_template_kwargs.enable_thinking, stop strings")
    s, j = srv.json("POST", "/v1/chat/completions",
                    {"messages": [{"role": "user", "content": [
                        {"type": "text", "text": "In the "},
                        {"type": "text", "text": "beginning"}]}],
                     "max_completion_tokens": 3, "top_k": 10, "top_p": 0.9,
                     "min_p": 0.05, "presence_penalty": 0.5,
                     "frequency_penalty": 0.5, "unknown_field": [1, 2]})
    check(s == 200 and j["usage"]["completion_tokens"] <= 3,
          "content parts, sampling fields, unknown fields ignored")

    # Bad requests: OpenAI error shape, 4xx.
    expect_error(srv, None, 400, code="invalid_json", what="malformed JSON",
                 raw="{\"messages\": [")
    expect_error(srv, None, 400, what="invalid UTF-8",
                 raw=b"{\"messages\": [{\"role\": \"user\", \"content\": "
                     b"\"\xff\xfe\"}]}")
    expect_error(srv, [1, 2], 400, what="body not an object")
    expect_error(srv, {}, 400, param="messages", what="no messages")
    expect_error(srv, {"messages": "hi"}, 400, param="messages",
                 code="invalid_type", what="messages of the wrong type")
    expect_error(srv, {"messages": []}, 400, param="messages",
                 what="empty messages")
    expect_error(srv, {"messages": [{"role": "wizard", "content": "x"}]}, 400,
                 param="messages[0].role", what="unknown role")
    expect_error(srv, {"messages": [{"role": "user", "content": 5}]}, 400,
                 param="messages[0].content", what="content of the wrong type")
    expect_error(srv, {"messages": user("x"), "temperature": 5}, 400,
                 param="temperature", what="temperature out of range")
    expect_error(srv, {"messages": user("x"), "temperature": "hot"}, 400,
                 param="temperature", code="invalid_type",
                 what="temperature of the wrong type")
    expect_error(srv, {"messages": user("x"), "max_tokens": 0}, 400,
                 param="max_tokens", what="max_tokens 0")
    expect_error(srv, {"messages": user("x"), "max_tokens": 1.5}, 400,
                 param="max_tokens", what="fractional max_tokens")
    expect_error(srv, {"messages": user("x"), "stream": "yes"}, 400,
                 param="stream", what="stream of the wrong type")
    expect_error(srv, {"messages": user("x"), "n": 2}, 400, param="n",
                 what="n > 1")
    expect_error(srv, {"messages": user("x"), "stop": [1]}, 400,
                 param="stop[0]", what="stop of the wrong type")
    expect_error(srv, {"messages": user("x"), "tools": {"a": 1}}, 400,
                 param="tools", what="tools of the wrong type")
    expect_error(srv, {"messages": user("x"), "tools": tools,
                       "tool_choice": {"type": "function",
                                       "function": {"name": "nope"}}}, 400,
                 param="tool_choice.function.name",
                 what="tool_choice naming an undeclared tool")
    expect_error(srv, {"messages": user("x"), "tool_choice": "required"}, 400,
                 param="tool_choice", what="tool_choice required, no tools")
    expect_error(srv, {"messages": user("x"), "tool_choice": "sometimes"},
                 400, param="tool_choice", what="unknown tool_choice")
    expect_error(srv, {"messages": user("x"),
                       "response_format": {"type": "xml"}}, 400,
                 param="response_format.type", what="response_format xml")
    expect_error(srv, {"messages": user("x"), "response_format": {
        "type": "json_schema", "json_schema": {"name": "s"}}}, 400,
        param="response_format.json_schema.schema",
        what="response_format json_schema without a schema")
    expect_error(srv, {"messages": user("x"), "response_format": {
        "type": "json_schema", "json_schema": {"name": "s", "schema": {
            "type": "object",
            "properties": {"a": {"type": "string", "pattern": "^x"}}}}}},
        400, param="response_format",
        what="response_format schema with an unsupported keyword")
    expect_error(srv, {"messages": user("x"), "stream": True,
                       "response_format": {"type": "json_schema",
                                           "json_schema": {"schema": {
                                               "anyOf": [{"type": "string"}]
                                           }}}}, 400,
                 param="response_format",
                 what="streamed: unsupported schema keyword (plain 400)")
    expect_error(srv, {"messages": user("x"), "reasoning_effort": "max"}, 400,
                 param="reasoning_effort", what="bad reasoning_effort")
    expect_error(srv, {"messages": [
        {"role": "user", "content": "x"},
        {"role": "system", "content": "late"}]}, 400,
        param="messages[1].role", what="system message after the start")
    expect_error(srv, {"messages": [
        {"role": "user", "content": "x"},
        {"role": "tool", "tool_call_id": "nope", "content": "1"}]}, 400,
        param="messages[1].tool_call_id", what="unknown tool_call_id")
    expect_error(srv, {"messages": [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c", "type": "function",
             "function": {"name": "f", "arguments": "[1]"}}]}]}, 400,
        what="tool call arguments not an object")
    expect_error(srv, {"messages": [{"role": "user", "content": [
        {"type": "image_url",
         "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]},
        400, code="model_not_multimodal", what="image on a text-only model")
    expect_error(srv, {"messages": [{"role": "user", "content": [
        {"type": "input_audio",
         "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]},
        400, code="model_not_multimodal", what="audio on a text-only model")
    expect_error(srv, {"messages": [{"role": "user", "content": [
        {"type": "video", "video": 1}]}]}, 400,
        param="messages[0].content[0].type", what="unknown part type")
    long_prompt = "word " * 6000
    expect_error(srv, {"messages": user(long_prompt)}, 400,
                 code="context_length_exceeded", what="prompt over the context")
    expect_error(srv, {"messages": user(long_prompt), "stream": True}, 400,
                 code="context_length_exceeded",
                 what="streamed prompt over the context (plain 400)")
    expect_error(srv, {"messages": user("x" * (1 << 20))}, 413,
                 code="request_too_large", what="body over --max-body-mb")
    s, j = srv.json("GET", "/v1/nothing")
    check(s == 404 and "error" in j, "unknown route: 404 in the error shape")
    s, j = srv.json("GET", "/health")
    check(s == 200, "still serving after the bad requests")

    # Queue and cancel: --parallel 1 --queue 1. A holds the slot (a long
    # streamed answer, read slowly), B waits in the queue, C gets 503.
    long_body = json.dumps({"messages": user("In the beginning"),
                            "stream": True, "ignore_eos": True,
                            "max_tokens": 4000})
    a = srv.conn(60)
    a.request("POST", "/v1/chat/completions", long_body,
              {"Content-Type": "application/json"})
    ra = a.getresponse()
    first = ra.readline()
    check(ra.status == 200 and first.startswith(b"data: "),
          "long stream A started")
    b = srv.conn(60)
    b.request("POST", "/v1/chat/completions", long_body,
              {"Content-Type": "application/json"})
    # Wait until B is queued.
    for _ in range(100):
        _, h = srv.json("GET", "/health")
        if h.get("queued") == 1:
            break
        time.sleep(0.05)
    check(h.get("queued") == 1 and h.get("slots_busy") == 1,
          f"B waits in the queue ({h})")
    s, j = srv.json("POST", "/v1/chat/completions",
                    {"messages": user("x"), "max_tokens": 1})
    check(s == 503 and j["error"]["code"] == "server_busy",
          "C past the queue: 503")
    # A's client goes away: its generation stops and B starts at once.
    t0 = time.monotonic()
    ra.close()
    a.close()
    a.sock = None
    rb = b.getresponse()
    first_b = rb.readline()
    waited = time.monotonic() - t0
    check(rb.status == 200 and first_b.startswith(b"data: ") and waited < 4,
          f"A's disconnect freed the slot: B started {waited:.2f} s later")
    rb.close()
    b.close()
    for _ in range(100):
        _, h = srv.json("GET", "/health")
        if h.get("slots_busy") == 0 and h.get("queued") == 0:
            break
        time.sleep(0.05)
    check(h.get("slots_busy") == 0, "B's disconnect freed the slot too")
    time.sleep(0.2)
    gone = [l for l in srv.log if "the client disconnected" in l]
    check(len(gone) >= 2, f"both generations were cancelled: {gone}")
    s, j = srv.json("POST", "/v1/chat/completions",
                    {"messages": user("In the beginning"), "max_tokens": 5})
    check(s == 200, "serving after the disconnects")

    # A client that sends half a request and leaves, and one that sends
    # garbage: the server keeps serving.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sk:
        sk.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Length: 1000\r\n\r\n{\"messa")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sk:
        sk.sendall(b"\x00\x01garbage\r\n\r\n")
        try:
            sk.recv(100)
        except OSError:
            pass
    s, j = srv.json("GET", "/health")
    check(s == 200, "serving after a truncated and a garbage request")


if __name__ == "__main__":
    sys.exit(main())
