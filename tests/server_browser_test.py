#!/usr/bin/env python3
"""The chat page of facet serve in a real browser (headless chromium via
chromedriver and selenium): load the page, send a message, wait for the
streamed answer, stop a long answer, show a conversation with a thought
and a tool call, send the tool's result, clear. Saves screenshots.

usage: server_browser_test.py <facet binary> <model> <screenshot dir>
Exits 77 (skipped) when chromium, chromedriver or selenium is missing.
Binds 127.0.0.1 only, on a port the server picks.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

SKIP = 77


def find(*names):
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("SKIP: python3-selenium is not installed (tools/install_deps.sh)")
    sys.exit(SKIP)

CHROMIUM = find("chromium", "chromium-browser")
DRIVER = find("chromedriver")
if not CHROMIUM or not DRIVER:
    print("SKIP: chromium / chromedriver not installed (tools/install_deps.sh)")
    sys.exit(SKIP)


def start_server(facet, model):
    proc = subprocess.Popen(
        [facet, "serve", "-m", model, "--host", "127.0.0.1", "--port", "0",
         "-t", "1", "--parallel", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = []
    ready = threading.Event()
    port = []

    def read():
        for line in proc.stderr:
            log.append(line.rstrip("\n"))
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port.append(int(m.group(1)))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60) or not port:
        proc.kill()
        sys.exit("facet serve did not start:\n" + "\n".join(log))
    return proc, port[0], log


def main():
    facet, model, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(out_dir, exist_ok=True)
    proc, port, log = start_server(facet, model)
    base = f"http://127.0.0.1:{port}"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1100,900",
                "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking"):
        options.add_argument(arg)
    driver = None
    failures = []
    step = ["start"]

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    try:
        driver = webdriver.Chrome(service=Service(executable_path=DRIVER),
                                  options=options)
        driver.set_page_load_timeout(20)
        wait = WebDriverWait(driver, 30, poll_frequency=0.05)
        q = lambda css: driver.find_elements(By.CSS_SELECTOR, css)

        driver.get(base + "/")
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body")
                   .get_attribute("data-ready") == "1")
        check("demo" in driver.find_element(By.ID, "model").text,
              "page loaded, model name shown")

        # Answers are bounded (the demo model may ramble to the context).
        def max_tokens(n):
            driver.execute_script(
                "document.getElementById('max-tokens').value = arguments[0]",
                str(n))

        # A message and its streamed answer.
        step[0] = "first answer"
        max_tokens(64)
        box = driver.find_element(By.ID, "input")
        box.send_keys("In the beginning")
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: q('.msg.assistant[data-state="done"]'))
        users = q(".msg.user .content")
        answer = q(".msg.assistant .content")[0].text
        meta = q(".msg.assistant .meta")[0].text
        check(len(users) == 1 and users[0].text == "In the beginning",
              "the user message is shown")
        check(len(answer.strip()) > 0, f"the answer streamed in: {answer!r}")
        check("generated tokens" in meta, f"usage shown: {meta!r}")
        check(not driver.find_element(By.ID, "send").get_attribute("disabled")
              and driver.find_element(By.ID, "stop").get_attribute("disabled"),
              "send enabled, stop disabled after the answer")
        driver.save_screenshot(os.path.join(out_dir, "server_chat_answer.png"))

        step[0] = "stop a long answer"
        max_tokens(3000)
        # Stop a long answer (the page's requests get ignore_eos here, so
        # the demo model keeps going until stopped).
        driver.execute_script("""
          const orig = window.__origFetch = window.fetch;
          window.fetch = (url, init) => {
            if (init && init.body && String(url).includes('/chat/')) {
              const b = JSON.parse(init.body);
              b.ignore_eos = true;
              init = Object.assign({}, init, { body: JSON.stringify(b) });
            }
            return orig(url, init);
          };""")
        box.send_keys("Tell me everything")
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: len(q(".msg.assistant")) == 2 and
                   len(q(".msg.assistant .content")[1].text) > 20)
        check(not driver.find_element(By.ID, "stop").get_attribute("disabled"),
              "stop enabled while streaming")
        driver.find_element(By.ID, "stop").click()
        wait.until(lambda d: q('.msg.assistant[data-state="stopped"]'))
        meta = q(".msg.assistant .meta")[1].text
        check("stopped" in meta, f"stopped answer marked: {meta!r}")
        deadline = time.monotonic() + 10
        health = {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen(base + "/health", timeout=5) as r:
                health = json.load(r)
            if health.get("slots_busy") == 0:
                break
            time.sleep(0.05)
        check(health.get("slots_busy") == 0 and
              any("client disconnected" in l for l in log),
              "the server cancelled the stopped generation")

        driver.execute_script("window.fetch = window.__origFetch;")
        max_tokens(64)
        step[0] = "thought and tool call"

        # A conversation with a thought and a tool call (the demo model's
        # own are random): the thought is folded away, the call shown.
        driver.execute_script("""
          window.facetChat.load([
            {role: 'user', content: 'Weather in Paris?'},
            {role: 'assistant', content: '', reasoning_content:
               'The user wants the weather; call the tool.',
             tool_calls: [{id: 'call_1', type: 'function', function:
               {name: 'get_weather', arguments: '{"city": "Paris"}'}}]}]);
        """)
        thinking = q(".msg.assistant details.thinking")
        check(len(thinking) == 1 and thinking[0].is_displayed() and
              thinking[0].get_attribute("open") is None,
              "the thought is folded away in <details>")
        thought = driver.execute_script(
            "return document.querySelector('.thought-text').textContent")
        check("call the tool" in thought, "the thought text is in it")
        calls = q('.tool-call[data-name="get_weather"]')
        check(len(calls) == 1 and "Paris" in calls[0].text and
              "get_weather" in calls[0].text, "the tool call is shown")
        driver.find_element(By.CSS_SELECTOR, "#settings summary").click()
        driver.find_element(By.ID, "tools").send_keys(json.dumps([
            {"type": "function", "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {
                    "city": {"type": "string"}}}}}]))
        calls[0].find_element(By.TAG_NAME, "textarea").send_keys(
            '{"temp_c": 21}')
        calls[0].find_element(By.TAG_NAME, "button").click()
        wait.until(lambda d: len(q(".msg.assistant")) == 2 and
                   q(".msg.assistant")[1].get_attribute("data-state") in
                   ("done", "stopped", "error"))
        state = q(".msg.assistant")[1].get_attribute("data-state")
        driver.find_element(By.CSS_SELECTOR, "#settings summary").click()
        driver.execute_script("document.getElementById('log').scrollTop = 0")
        roles = driver.execute_script(
            "return window.facetChat.state.messages.map(m => m.role)")
        check(state == "done" and roles[:3] == ["user", "assistant", "tool"],
              f"tool result sent and answered ({state}, {roles})")
        driver.save_screenshot(os.path.join(out_dir, "server_chat_tools.png"))

        step[0] = "clear"
        driver.find_element(By.ID, "clear").click()
        wait.until(lambda d: not q(".msg"))
        check(driver.execute_script(
            "return window.facetChat.state.messages.length") == 0,
            "clear empties the conversation")
    except Exception as e:  # noqa: BLE001 - report any browser failure
        failures.append(repr(e))
        print("FAIL at step", step[0], repr(e))
        if driver is not None:
            driver.save_screenshot(os.path.join(out_dir,
                                                "server_chat_failure.png"))
    finally:
        if driver is not None:
            driver.quit()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    if failures:
        print("\n".join(log[-20:]))
    print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
