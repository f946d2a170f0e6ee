// facet serve through the official `openai` npm client (a client nobody
// here wrote): model list, a plain answer, a streamed answer (raw chunks
// and the SDK's stream helper), a tool-call round trip through the
// history, forced tool calls (tool_choice required / named) and
// response_format (constrained decoding), cached_tokens, errors as
// APIError, and an aborted stream.
//
// usage: node server_openai_test.mjs <facet binary> <model> <client dir>
// <client dir> holds node_modules/openai (tools/fetch_openai_client.sh).
// Binds 127.0.0.1 only, on a port the server picks.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [facet, model, clientDir] = process.argv.slice(2);
const sdk = await import(pathToFileURL(
  path.join(clientDir, 'node_modules', 'openai', 'index.mjs')).href);
const OpenAI = sdk.default;
const { APIError, APIUserAbortError } = sdk;

function startServer() {
  const proc = spawn(facet, ['serve', '-m', model, '--host', '127.0.0.1',
                             '--port', '0', '-t', '1', '--parallel', '2'],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
  const log = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(
      'facet serve did not start:\n' + log.join(''))), 60000);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => {
      log.push(d);
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log.join(''));
      if (m) { clearTimeout(timer); resolve({ proc, port: Number(m[1]), log }); }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`facet serve exited (${code}):\n` + log.join('')));
    });
  });
}

const server = await startServer();
const client = new OpenAI({ baseURL: `http://127.0.0.1:${server.port}/v1`,
                            apiKey: 'not-needed', maxRetries: 0,
                            timeout: 30000 });
let passed = 0, failed = 0;
async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log('ok  ', name);
  } catch (e) {
    failed++;
    console.log('FAIL', name, '\n', e);
  }
}
const user = (content) => [{ role: 'user', content }];

await test('models.list', async () => {
  const page = await client.models.list();
  assert.equal(page.data[0].id, 'demo');
  assert.equal(page.data[0].object, 'model');
});

await test('plain answer', async () => {
  const r = await client.chat.completions.create({
    model: 'demo', messages: user('In the beginning'), max_tokens: 16,
    seed: 7, temperature: 0.8 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
  console.log('     ', JSON.stringify(r.choices[0].message.content));
});

await test('streamed answer (raw chunks, usage in the last)', async () => {
  const stream = await client.chat.completions.create({
    model: 'demo', messages: user('And God said'), max_tokens: 10,
    stream: true, stream_options: { include_usage: true }, seed: 2 });
  let text = '', finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    const c = chunk.choices[0];
    if (c && c.delta.content) text += c.delta.content;
    if (c && c.finish_reason) finish = c.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(chunks >= 3, `${chunks} chunks`);
  assert.ok(text.length > 0);
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 10);
});

await test('stream helper: finalChatCompletion', async () => {
  const runner = client.chat.completions.stream({
    model: 'demo', messages: user('In the beginning'), max_tokens: 8,
    seed: 3 });
  let deltas = '';
  runner.on('content', (delta) => { deltas += delta; });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, deltas);
  assert.ok(deltas.length > 0);
});

const tools = [{ type: 'function', function: {
  name: 'get_weather', description: 'The weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } },
                required: ['city'] } } }];

await test('tool-call round trip through the history', async () => {
  // The demo model's own calls are random; replay the call a model made
  // (an assistant message with tool_calls) and the tool's result.
  const messages = [
    { role: 'system', content: 'Answer with the tool results.' },
    { role: 'user', content: 'What is the weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [{
      id: 'call_abc', type: 'function',
      function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_abc',
      content: JSON.stringify({ temp_c: 21, sky: 'clear' }) },
  ];
  const r = await client.chat.completions.create({
    model: 'demo', messages, tools, tool_choice: 'auto', max_tokens: 12,
    seed: 1 });
  const m = r.choices[0].message;
  assert.ok(typeof m.content === 'string' || m.tool_calls);
  // The whole history was rendered: system turn with the declaration,
  // the call and its result.
  assert.ok(r.usage.prompt_tokens > 40, `${r.usage.prompt_tokens} tokens`);
  // Whatever came back goes into the next request as is.
  messages.push(m);
  if (m.tool_calls) {
    for (const tc of m.tool_calls) {
      assert.equal(typeof tc.function.arguments, 'string');
      JSON.parse(tc.function.arguments);
      messages.push({ role: 'tool', tool_call_id: tc.id, content: '{}' });
    }
  } else {
    messages.push({ role: 'user', content: 'Thanks.' });
  }
  const again = await client.chat.completions.create({
    model: 'demo', messages, tools, max_tokens: 4 });
  assert.ok(again.usage.prompt_tokens > r.usage.prompt_tokens);
});

await test('thinking on: reasoning_effort accepted', async () => {
  const r = await client.chat.completions.create({
    model: 'demo', messages: user('Think first.'), max_tokens: 6,
    reasoning_effort: 'low' });
  assert.equal(r.choices[0].message.role, 'assistant');
});

await test('bad temperature: APIError 400', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'demo', messages: user('x'), temperature: 7 }),
    (e) => e instanceof APIError && e.status === 400 &&
           e.param === 'temperature' && e.type === 'invalid_request_error' &&
           /temperature/.test(e.message));
});

await test('prompt over the context, streamed: APIError 400', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'demo', messages: user('word '.repeat(6000)), stream: true }),
    (e) => e instanceof APIError && e.status === 400 &&
           e.code === 'context_length_exceeded');
});

await test('tool_choice naming an unknown tool: APIError 400', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'demo', messages: user('x'), tools,
      tool_choice: { type: 'function', function: { name: 'nope' } } }),
    (e) => e instanceof APIError && e.status === 400 &&
           e.param === 'tool_choice.function.name');
});

// The demo model never learned tool calls: constrained decoding makes its
// calls valid (maxLength keeps the strings short).
const boundedTools = [{ type: 'function', function: {
  name: 'get_weather', description: 'The weather of a city',
  parameters: { type: 'object',
                properties: { city: { type: 'string', maxLength: 16 } },
                required: ['city'], additionalProperties: false } } }];

await test('forced tool call (tool_choice required) round trip', async () => {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const r = await client.chat.completions.create({
    model: 'demo', messages, tools: boundedTools, tool_choice: 'required',
    max_tokens: 300, seed: 2 });
  const m = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.ok(m.tool_calls && m.tool_calls.length >= 1, JSON.stringify(m));
  messages.push(m);
  for (const tc of m.tool_calls) {
    assert.equal(tc.type, 'function');
    assert.equal(tc.function.name, 'get_weather');
    assert.equal(typeof tc.function.arguments, 'string');
    const args = JSON.parse(tc.function.arguments);
    assert.deepEqual(Object.keys(args), ['city']);
    assert.ok(typeof args.city === 'string' && args.city.length <= 16);
    messages.push({ role: 'tool', tool_call_id: tc.id,
                    content: JSON.stringify({ temp_c: 21 }) });
  }
  console.log('     ', m.tool_calls.map((tc) => tc.function.arguments).join(' '));
  const again = await client.chat.completions.create({
    model: 'demo', messages, tools: boundedTools, tool_choice: 'none',
    max_tokens: 16, seed: 1 });
  assert.equal(typeof again.choices[0].message.content, 'string');
  assert.ok(!again.choices[0].message.tool_calls);
  assert.ok(again.usage.prompt_tokens > r.usage.prompt_tokens);
});

await test('named tool_choice, streamed (SDK helper)', async () => {
  const runner = client.chat.completions.stream({
    model: 'demo', messages: user('Weather in Rome?'), tools: boundedTools,
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    max_tokens: 300, seed: 4 });
  const final = await runner.finalChatCompletion();
  const calls = final.choices[0].message.tool_calls;
  assert.ok(calls && calls.length >= 1);
  for (const tc of calls) {
    assert.equal(tc.function.name, 'get_weather');
    assert.equal(typeof JSON.parse(tc.function.arguments).city, 'string');
  }
});

await test('response_format json_object parses', async () => {
  const r = await client.chat.completions.create({
    model: 'demo', messages: user('Recite Genesis 1:1'), max_tokens: 300,
    temperature: 0, response_format: { type: 'json_object' } });
  assert.equal(r.choices[0].finish_reason, 'stop');
  const doc = JSON.parse(r.choices[0].message.content);
  assert.ok(doc && typeof doc === 'object' && !Array.isArray(doc));
});

await test('response_format json_schema', async () => {
  const r = await client.chat.completions.create({
    model: 'demo', messages: user('Recite Genesis 1:1'), max_tokens: 300,
    seed: 5, response_format: { type: 'json_schema', json_schema: {
      name: 'verse', strict: true, schema: {
        type: 'object', additionalProperties: false,
        required: ['book', 'verse'],
        properties: { book: { enum: ['Genesis', 'Exodus'] },
                      verse: { type: 'integer' } } } } } });
  const doc = JSON.parse(r.choices[0].message.content);
  assert.ok(['Genesis', 'Exodus'].includes(doc.book));
  assert.ok(Number.isInteger(doc.verse));
  console.log('     ', JSON.stringify(doc));
});

await test('unsupported schema keyword: APIError 400', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'demo', messages: user('x'), response_format: {
        type: 'json_schema', json_schema: { name: 's', schema: {
          type: 'string', pattern: '^a' } } } }),
    (e) => e instanceof APIError && e.status === 400 &&
           e.param === 'response_format' && /pattern/.test(e.message));
});

await test('cached_tokens: a repeated system prompt', async () => {
  const messages = [
    { role: 'system', content: 'You recite the King James Bible. '.repeat(8) },
    { role: 'user', content: 'Recite John 1:1' }];
  const first = await client.chat.completions.create({
    model: 'demo', messages, max_tokens: 2 });
  const second = await client.chat.completions.create({
    model: 'demo', messages, max_tokens: 2 });
  assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  const cached = second.usage.prompt_tokens_details.cached_tokens;
  assert.ok(cached > 50 && cached < second.usage.prompt_tokens, `${cached}`);
});

await test('aborted stream frees the slot', async () => {
  const controller = new AbortController();
  const stream = await client.chat.completions.create({
    model: 'demo', messages: user('In the beginning'), stream: true,
    max_tokens: 4000, ignore_eos: true }, { signal: controller.signal });
  // The SDK ends the iteration (or throws an abort error) once aborted.
  try {
    for await (const chunk of stream) {
      if (chunk.choices[0] && chunk.choices[0].delta.content) {
        controller.abort();
      }
    }
  } catch (e) {
    assert.ok(e instanceof APIUserAbortError || e.name === 'AbortError', e);
  }
  assert.ok(controller.signal.aborted);
  let health;
  for (let i = 0; i < 100; i++) {
    health = await (await fetch(
      `http://127.0.0.1:${server.port}/health`)).json();
    if (health.slots_busy === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(health.slots_busy, 0);
  assert.ok(server.log.join('').includes('the client disconnected'));
});

server.proc.kill('SIGTERM');
console.log(`${passed} passed, ${failed} failed`);
if (failed) console.log(server.log.join('').split('\n').slice(-20).join('\n'));
process.exit(failed ? 1 : 0);
