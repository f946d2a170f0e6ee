#!/usr/bin/env bash
# Drives `facet chat` as a person would, in tmux: a message, an answer with
# a stats line, Ctrl-C during a long answer, /reset, /exit.
# usage: chat_repl_test.sh <facet binary> <model>
set -euo pipefail
facet=$1; model=$2
command -v tmux >/dev/null || { echo "tmux not installed"; exit 1; }
sock=facet-test-$$
t="tmux -L $sock"
trap '$t kill-server 2>/dev/null || true' EXIT
$t new-session -d -x 200 -y 50 "$facet chat -m $model -n 100000 -c 4096 -t 1 --ignore-eos; echo EXITED; sleep 30"
wait_for() {  # text, seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    $t capture-pane -p -S -200 | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  echo "timed out waiting for: $1"; $t capture-pane -p -S -200; return 1
}
wait_for "Ctrl-C stops an answer" 60
$t send-keys "hello there" Enter
wait_for "tok/s decode" 120
# A long answer, stopped with Ctrl-C: the stats line says "stopped".
$t send-keys "/reset" Enter
wait_for "(conversation cleared)" 30
$t send-keys "tell me everything" Enter
sleep 0.4
$t send-keys C-c
wait_for "stopped]" 60
$t send-keys "/exit" Enter
wait_for "EXITED" 30
echo "chat REPL: ok"
