// The chat page of facet serve: one HTML document with its CSS and JS
// inline, served at /. No build step and nothing loaded from elsewhere; it
// talks to the server's own /v1/chat/completions (streamed) and keeps the
// conversation in the page. window.facetChat exposes the conversation for
// tests (load() renders a given history).
#include "examples/server/server.h"

namespace facet::server {

const char kChatPage[] = R"facetpage(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>facet chat</title>
<link rel="icon" href="data:,">
<style>
:root { --bg: #f7f7f8; --fg: #1d1d1f; --muted: #6b6b76; --card: #fff;
  --user: #e3edff; --border: #d9d9e0; --accent: #2f6fed; --err: #b3261e;
  --code: #f0f0f3; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #17171a; --fg: #e8e8ec; --muted: #9a9aa6; --card: #222227;
    --user: #26324a; --border: #3a3a42; --accent: #6d9bff; --err: #ff8a80;
    --code: #2c2c33; }
}
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
  background: var(--bg); color: var(--fg); display: flex;
  flex-direction: column; }
header { display: flex; align-items: center; gap: 12px; padding: 8px 16px;
  border-bottom: 1px solid var(--border); background: var(--card); }
header h1 { font-size: 18px; margin: 0; }
#model { color: var(--muted); font-size: 13px; flex: 1; }
button { font: inherit; padding: 6px 14px; border-radius: 8px;
  border: 1px solid var(--border); background: var(--card);
  color: var(--fg); cursor: pointer; }
button:disabled { opacity: .45; cursor: default; }
button.primary { background: var(--accent); border-color: var(--accent);
  color: #fff; }
#settings { padding: 4px 16px; border-bottom: 1px solid var(--border); }
#settings summary { cursor: pointer; color: var(--muted); }
#settings .grid { display: grid; grid-template-columns: max-content 1fr;
  gap: 6px 12px; padding: 8px 0; align-items: start; }
#settings textarea, #settings input { font: 13px ui-monospace, monospace;
  width: 100%; padding: 4px; background: var(--card); color: var(--fg);
  border: 1px solid var(--border); border-radius: 6px; }
#log { flex: 1; overflow-y: auto; padding: 16px; display: flex;
  flex-direction: column; gap: 12px; }
#log:empty::before { content: "Send a message to start."; color: var(--muted);
  margin: auto; }
.msg { max-width: 860px; width: 100%; align-self: center; padding: 10px 14px;
  border-radius: 12px; background: var(--card);
  border: 1px solid var(--border); }
.msg.user { background: var(--user); }
.msg .who { font-size: 12px; font-weight: 600; color: var(--muted); }
.msg .content { white-space: pre-wrap; overflow-wrap: anywhere; }
.msg[data-state="streaming"] .content::after { content: "\25CF";
  color: var(--accent); margin-left: 2px; }
.thinking { margin: 4px 0; padding: 4px 8px; border-left: 3px solid
  var(--border); color: var(--muted); font-size: 14px; }
.thinking summary { cursor: pointer; }
.thought-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.tool-call { margin-top: 8px; padding: 8px; border-radius: 8px;
  background: var(--code); font-size: 14px; }
.tool-call pre { margin: 4px 0; white-space: pre-wrap;
  font: 13px ui-monospace, monospace; }
.tool-call textarea { width: 100%; font: 13px ui-monospace, monospace; }
.meta { font-size: 12px; color: var(--muted); margin-top: 4px; }
.meta.error, #error { color: var(--err); }
.attachments { font-size: 12px; color: var(--muted); }
#composer { display: flex; gap: 8px; padding: 12px 16px;
  border-top: 1px solid var(--border); background: var(--card);
  align-items: flex-end; }
#input { flex: 1; resize: vertical; min-height: 44px; max-height: 40vh;
  font: inherit; padding: 8px; border-radius: 8px; background: var(--bg);
  color: var(--fg); border: 1px solid var(--border); }
#attached { font-size: 12px; color: var(--muted); }
</style>
</head>
<body>
<header>
  <h1>facet</h1>
  <span id="model">connecting&hellip;</span>
  <label title="Let the model think before it answers (its thought is folded away)">
    <input type="checkbox" id="think"> Thinking</label>
  <button id="clear" type="button" title="Forget the conversation">Clear</button>
</header>
<details id="settings">
  <summary>Settings</summary>
  <div class="grid">
    <label for="system">System prompt</label>
    <textarea id="system" rows="2"></textarea>
    <label for="temperature">Temperature</label>
    <input id="temperature" type="number" min="0" max="2" step="0.1"
      placeholder="model default">
    <label for="max-tokens">Max tokens</label>
    <input id="max-tokens" type="number" min="1" placeholder="up to the context">
    <label for="tools">Tools (JSON)</label>
    <textarea id="tools" rows="3" placeholder='[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]'></textarea>
  </div>
</details>
<main id="log" aria-live="polite"></main>
<div id="error" hidden></div>
<form id="composer">
  <button type="button" id="attach-btn" title="Attach an image or a WAV / MP3 clip" hidden>Attach</button>
  <input type="file" id="attach" accept="image/*,.wav,.mp3,audio/wav,audio/mpeg" multiple hidden>
  <div style="flex: 1; display: flex; flex-direction: column; gap: 4px;">
    <span id="attached"></span>
    <textarea id="input" rows="2" placeholder="Message (Enter sends, Shift+Enter adds a line)"></textarea>
  </div>
  <button type="submit" id="send" class="primary">Send</button>
  <button type="button" id="stop" disabled>Stop</button>
</form>
<script>
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const state = { messages: [], controller: null, busy: false,
                  attachments: [], model: 'facet', meta: {} };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function textOf(content) {
    if (content == null) return '';
    if (typeof content === 'string') return content;
    return content.filter((p) => p.type === 'text').map((p) => p.text).join('');
  }

  function mediaNames(content) {
    if (!Array.isArray(content)) return [];
    return content.filter((p) => p.type !== 'text')
      .map((p) => p.type === 'image_url' ? '[image]' : '[audio]');
  }

  function prettyArgs(args) {
    try { return JSON.stringify(JSON.parse(args), null, 2); }
    catch (e) { return String(args); }
  }

  function hasResult(id) {
    return state.messages.some((m) => m.role === 'tool' && m.tool_call_id === id);
  }

  function toolCallView(tc, isLast) {
    const box = el('div', 'tool-call');
    box.dataset.name = tc.function.name;
    box.append(el('div', 'tool-name', 'Tool call: ' + tc.function.name));
    box.append(el('pre', 'tool-args', prettyArgs(tc.function.arguments)));
    if (isLast && !state.busy && tc.id && !hasResult(tc.id)) {
      const result = el('textarea');
      result.rows = 2;
      result.placeholder = 'The tool\'s result (JSON or text)';
      const send = el('button', null, 'Send result');
      send.type = 'button';
      send.addEventListener('click', () => {
        state.messages.push({ role: 'tool', tool_call_id: tc.id,
                              content: result.value || '{}' });
        render();
        generate();
      });
      box.append(result, send);
    }
    return box;
  }

  // One message's element; update() refreshes it while it streams.
  function messageView(msg, index) {
    const div = el('div', 'msg ' + msg.role);
    div.dataset.role = msg.role;
    const who = msg.role === 'user' ? 'You'
      : msg.role === 'tool' ? 'Tool result' : state.model;
    div.append(el('div', 'who', who));
    const view = { div, msg, index };
    if (msg.role === 'assistant') {
      view.thinking = el('details', 'thinking');
      view.thinkSummary = el('summary', null, 'Thinking');
      view.thinkText = el('div', 'thought-text');
      view.thinking.append(view.thinkSummary, view.thinkText);
      view.content = el('div', 'content');
      view.tools = el('div', 'tool-calls');
      view.meta = el('div', 'meta');
      div.append(view.thinking, view.content, view.tools, view.meta);
    } else {
      const names = mediaNames(msg.content);
      if (names.length) div.append(el('div', 'attachments', names.join(' ')));
      view.content = el('div', 'content');
      div.append(view.content);
    }
    update(view);
    return view;
  }

  function update(view) {
    const msg = view.msg;
    view.content.textContent = textOf(msg.content);
    if (msg.role !== 'assistant') return;
    view.thinking.hidden = !msg.reasoning_content;
    view.thinkText.textContent = msg.reasoning_content || '';
    const isLast = view.index === state.messages.length - 1;
    view.tools.replaceChildren(...(msg.tool_calls || [])
      .map((tc) => toolCallView(tc, isLast)));
    if (msg.meta) {
      view.meta.textContent = msg.meta;
      view.meta.className = 'meta' + (msg.error ? ' error' : '');
    }
  }

  function scrollDown() { const log = $('log'); log.scrollTop = log.scrollHeight; }

  function render() {
    const log = $('log');
    log.replaceChildren(...state.messages.map((m, i) => messageView(m, i).div));
    scrollDown();
  }

  function setBusy(busy) {
    state.busy = busy;
    $('send').disabled = busy;
    $('stop').disabled = !busy;
    document.body.dataset.busy = busy ? '1' : '0';
  }

  function showError(text) {
    $('error').textContent = text || '';
    $('error').hidden = !text;
  }

  function requestBody() {
    const messages = [];
    const system = $('system').value.trim();
    if (system) messages.push({ role: 'system', content: system });
    for (const m of state.messages) {
      if (m.role === 'assistant') {
        const out = { role: 'assistant', content: m.content || '' };
        if (m.tool_calls && m.tool_calls.length) {
          out.tool_calls = m.tool_calls;
          if (m.reasoning_content) out.reasoning_content = m.reasoning_content;
        }
        messages.push(out);
      } else {
        messages.push({ role: m.role, content: m.content,
                        ...(m.tool_call_id ? { tool_call_id: m.tool_call_id } : {}) });
      }
    }
    const body = { model: state.model, messages, stream: true,
                   stream_options: { include_usage: true },
                   reasoning: { enabled: $('think').checked } };
    const temperature = $('temperature').value;
    if (temperature !== '') body.temperature = Number(temperature);
    const maxTokens = $('max-tokens').value;
    if (maxTokens !== '') body.max_tokens = Number(maxTokens);
    const tools = $('tools').value.trim();
    if (tools) body.tools = JSON.parse(tools);
    return body;
  }

  function mergeToolCall(msg, delta) {
    const i = delta.index || 0;
    if (!msg.tool_calls[i]) {
      msg.tool_calls[i] = { id: delta.id, type: 'function',
                            function: { name: '', arguments: '' } };
    }
    const tc = msg.tool_calls[i];
    if (delta.id) tc.id = delta.id;
    if (delta.function) {
      if (delta.function.name) tc.function.name += delta.function.name;
      if (delta.function.arguments) tc.function.arguments += delta.function.arguments;
    }
  }

  async function errorText(res) {
    try {
      const j = await res.json();
      if (j && j.error && j.error.message) return j.error.message;
    } catch (e) { /* not JSON */ }
    return 'HTTP ' + res.status;
  }

  // Streams the model's answer to the conversation so far.
  async function generate() {
    let body;
    try { body = requestBody(); }
    catch (e) { showError('Tools: ' + e.message); return; }
    showError('');
    const msg = { role: 'assistant', content: '', reasoning_content: '',
                  tool_calls: [] };
    state.messages.push(msg);
    setBusy(true);
    render();
    const view = messageView(msg, state.messages.length - 1);
    $('log').lastChild.replaceWith(view.div);
    view.div.dataset.state = 'streaming';
    view.thinkSummary.textContent = 'Thinking\u2026';
    const controller = new AbortController();
    state.controller = controller;
    let finish = null, usage = null, error = null;
    try {
      const res = await fetch('/v1/chat/completions', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body), signal: controller.signal });
      if (!res.ok) {
        error = await errorText(res);
      } else {
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buf = '';
        read: for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const event = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            for (const line of event.split('\n')) {
              if (!line.startsWith('data:')) continue;
              const data = line.slice(5).trim();
              if (data === '[DONE]') break read;
              const chunk = JSON.parse(data);
              if (chunk.error) { error = chunk.error.message; continue; }
              if (chunk.usage) usage = chunk.usage;
              const choice = chunk.choices && chunk.choices[0];
              if (!choice) continue;
              const d = choice.delta || {};
              if (d.content) msg.content += d.content;
              if (d.reasoning_content) msg.reasoning_content += d.reasoning_content;
              if (d.tool_calls) d.tool_calls.forEach((tc) => mergeToolCall(msg, tc));
              if (choice.finish_reason) finish = choice.finish_reason;
              update(view);
              scrollDown();
            }
          }
        }
      }
    } catch (e) {
      if (e.name === 'AbortError') finish = 'stopped';
      else error = String(e.message || e);
    }
    state.controller = null;
    if (state.messages[state.messages.length - 1] !== msg) return;  // cleared
    const parts = [];
    if (finish) parts.push(finish === 'stop' ? 'done' : finish);
    if (usage) {
      parts.push(usage.prompt_tokens + ' prompt + ' + usage.completion_tokens +
                 ' generated tokens');
    }
    if (error) { parts.push('error: ' + error); msg.error = true; }
    msg.meta = parts.join(' \u00b7 ');
    view.thinkSummary.textContent = 'Thinking';
    view.div.dataset.state = error ? 'error' : finish === 'stopped' ? 'stopped' : 'done';
    if (error && !msg.content && !msg.tool_calls.length) {
      // Nothing came back: keep the failure on screen, not in the history.
      state.messages.pop();
      view.index = -1;
    }
    setBusy(false);
    update(view);
    scrollDown();
  }

  function send() {
    const text = $('input').value;
    if (state.busy || (!text.trim() && !state.attachments.length)) return;
    let content = text;
    if (state.attachments.length) {
      content = state.attachments.concat(text ? [{ type: 'text', text }] : []);
    }
    state.messages.push({ role: 'user', content });
    state.attachments = [];
    $('attached').textContent = '';
    $('input').value = '';
    generate();
  }

  function clear() {
    if (state.controller) state.controller.abort();
    state.messages = [];
    state.attachments = [];
    $('attached').textContent = '';
    showError('');
    render();
    setBusy(false);
    $('input').focus();
  }

  function readFile(file) {
    return new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r.readAsDataURL(file);
    });
  }

  async function attach(files) {
    for (const f of files) {
      const url = await readFile(f);
      if (f.type.startsWith('image/')) {
        state.attachments.push({ type: 'image_url', image_url: { url } });
      } else {
        state.attachments.push({ type: 'input_audio', input_audio:
          { data: url.slice(url.indexOf(',') + 1),
            format: /mpeg|mp3/.test(f.type + f.name) ? 'mp3' : 'wav' } });
      }
    }
    $('attached').textContent = state.attachments.length + ' attachment(s)';
  }

  $('composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  $('stop').addEventListener('click', () => {
    if (state.controller) state.controller.abort();
  });
  $('clear').addEventListener('click', clear);
  $('attach-btn').addEventListener('click', () => $('attach').click());
  $('attach').addEventListener('change', (e) => {
    attach(Array.from(e.target.files)).catch((err) => showError(String(err)));
    e.target.value = '';
  });

  fetch('/v1/models').then((r) => r.json()).then((j) => {
    const m = j.data && j.data[0];
    if (!m) return;
    state.model = m.id;
    state.meta = m.meta || {};
    const extra = [];
    if (state.meta.context_length) extra.push(state.meta.context_length + ' context');
    if (state.meta.vision) extra.push('images');
    if (state.meta.audio) extra.push('audio');
    $('model').textContent = m.id + (extra.length ? ' (' + extra.join(', ') + ')' : '');
    $('think').checked = !!state.meta.thinking;
    $('attach-btn').hidden = !(state.meta.vision || state.meta.audio);
    document.body.dataset.ready = '1';
  }).catch(() => { $('model').textContent = 'server unreachable'; });

  window.facetChat = {
    state,
    // Replaces the conversation with `messages` (OpenAI message objects).
    load(messages) { state.messages = messages.map((m) => ({ ...m })); render(); },
    send(text) { $('input').value = text; send(); },
    clear,
  };
  setBusy(false);
  render();
})();
</script>
</body>
</html>
)facetpage";

}  // namespace facet::server
