"""Builds the demo training corpus: KJV verses as Gemma 4 chat conversations.

Source text: Debian package bible-kjv-text (read with the `bible` program of
package bible-kjv). The King James Version text is public domain (see
README.md in this folder).

Outputs (in --out, default tools/train_demo/out/):
  kjv.tsv             book<TAB>chapter<TAB>verse<TAB>text, one verse a line
  conversations.jsonl one conversation a line: {"turns": [[user, model], ...]}
  spm_input.txt       plain text lines for spm_train (verses + rendered prompts)

A conversation is rendered (see render()) as
  <bos><|turn>user\nRecite Genesis 1:3<turn|>\n<|turn>model\nAnd God said, ...<turn|>\n<|turn>user\n...
Deterministic: fixed random seed.
"""

import argparse
import json
import os
import random
import re
import subprocess

BOOKS = [  # (abbreviation used by `bible`, full name)
    ("Ge", "Genesis"), ("Exo", "Exodus"), ("Lev", "Leviticus"), ("Num", "Numbers"),
    ("Deu", "Deuteronomy"), ("Josh", "Joshua"), ("Jdgs", "Judges"), ("Ruth", "Ruth"),
    ("1Sm", "1 Samuel"), ("2Sm", "2 Samuel"), ("1Ki", "1 Kings"), ("2Ki", "2 Kings"),
    ("1Chr", "1 Chronicles"), ("2Chr", "2 Chronicles"), ("Ezra", "Ezra"), ("Neh", "Nehemiah"),
    ("Est", "Esther"), ("Job", "Job"), ("Psa", "Psalms"), ("Prv", "Proverbs"),
    ("Eccl", "Ecclesiastes"), ("SSol", "Song of Solomon"), ("Isa", "Isaiah"), ("Jer", "Jeremiah"),
    ("Lam", "Lamentations"), ("Eze", "Ezekiel"), ("Dan", "Daniel"), ("Hos", "Hosea"),
    ("Joel", "Joel"), ("Amos", "Amos"), ("Obad", "Obadiah"), ("Jonah", "Jonah"), ("Mic", "Micah"),
    ("Nahum", "Nahum"), ("Hab", "Habakkuk"), ("Zep", "Zephaniah"), ("Hag", "Haggai"),
    ("Zec", "Zechariah"), ("Mal", "Malachi"), ("Mat", "Matthew"), ("Mark", "Mark"), ("Luke", "Luke"),
    ("John", "John"), ("Acts", "Acts"), ("Rom", "Romans"), ("1Cor", "1 Corinthians"),
    ("2Cor", "2 Corinthians"), ("Gal", "Galatians"), ("Eph", "Ephesians"), ("Phi", "Philippians"),
    ("Col", "Colossians"), ("1Th", "1 Thessalonians"), ("2Th", "2 Thessalonians"),
    ("1Tim", "1 Timothy"), ("2Tim", "2 Timothy"), ("Titus", "Titus"), ("Phmn", "Philemon"),
    ("Heb", "Hebrews"), ("Jas", "James"), ("1Pet", "1 Peter"), ("2Pet", "2 Peter"), ("1Jn", "1 John"),
    ("2Jn", "2 John"), ("3Jn", "3 John"), ("Jude", "Jude"), ("Rev", "Revelation"),
]

# Well-known passages, repeated more often so the demo answers them recognisably.
FAMOUS = [
    ("Genesis", 1, 1, 5), ("Psalms", 23, 1, 6), ("John", 3, 16, 17), ("John", 1, 1, 5),
    ("Matthew", 6, 9, 13), ("1 Corinthians", 13, 4, 8), ("Ecclesiastes", 3, 1, 8),
    ("Psalms", 1, 1, 3), ("Proverbs", 3, 5, 6), ("Matthew", 5, 3, 10), ("Isaiah", 40, 31, 31),
    ("Romans", 8, 28, 28), ("Philippians", 4, 13, 13), ("Genesis", 1, 26, 28),
]
FAMOUS_REPEAT = 100

TOPICS = [
    "light", "love", "water", "fire", "bread", "king", "peace", "faith", "mercy", "wisdom",
    "heaven", "earth", "sea", "shepherd", "lamb", "mountain", "river", "night", "sword", "gold",
    "wine", "children", "truth", "joy", "fear", "spirit", "life", "death", "city", "sun", "moon",
    "stars", "tree", "fruit", "rain", "wind", "hope", "grace", "praise", "prayer", "darkness",
    "temple", "people", "land", "word", "voice", "bread", "blood", "stone", "silver", "salvation",
]

REF_PROMPTS = ["Recite {ref}", "Quote {ref}", "What does {ref} say?", "Read {ref}", "Recite {ref}."]
NEXT_PROMPTS = ["Continue.", "And the next verse?", "What comes next?", "Go on.", "Recite {ref}"]
BOOK_PROMPTS = ["Give me a verse from {book}", "Read me a verse from {book}",
                "Share a verse from {book}.", "Quote something from {book}"]
TOPIC_PROMPTS = ["Read me a verse about {t}", "Give me a verse about {t}",
                 "What does the Bible say about {t}?", "Find a verse that mentions {t}."]


def render(turns, bos=True):
    """Gemma 4 chat format. <bos> once, then <|turn>ROLE\\n...<turn|>\\n per turn."""
    s = "<bos>" if bos else ""
    for user, model in turns:
        s += "<|turn>user\n" + user + "<turn|>\n"
        if model is not None:
            s += "<|turn>model\n" + model + "<turn|>\n"
    return s


def read_kjv():
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True, capture_output=True,
                         text=True, env=dict(os.environ, COLUMNS="100000")).stdout
    abbr = {a: n for a, n in BOOKS}
    pat = re.compile(r"^([0-9]?[A-Za-z]+)([0-9]+):([0-9]+) (.*)$")
    verses = []
    for line in out.splitlines():
        m = pat.match(line)
        if not m:
            raise ValueError("unexpected line: %r" % line)
        book = abbr[m.group(1)]
        text = " ".join(m.group(4).split())
        verses.append((book, int(m.group(2)), int(m.group(3)), text))
    if len(verses) != 31102:
        raise ValueError("expected 31102 verses, got %d" % len(verses))
    return verses


def ref(v):
    return "%s %d:%d" % (v[0], v[1], v[2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--passes", type=int, default=1, help="reading passes over the whole text")
    ap.add_argument("--seed", type=int, default=1611)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    verses = read_kjv()
    with open(os.path.join(args.out, "kjv.tsv"), "w") as f:
        for b, c, v, t in verses:
            f.write("%s\t%d\t%d\t%s\n" % (b, c, v, t))
    by_book = {}
    for i, v in enumerate(verses):
        by_book.setdefault(v[0], []).append(i)
    index = {(v[0], v[1], v[2]): i for i, v in enumerate(verses)}
    topic_idx = {}
    for t in sorted(set(TOPICS)):
        w = re.compile(r"\b%s\b" % t, re.IGNORECASE)
        topic_idx[t] = [i for i, v in enumerate(verses) if w.search(v[3])]

    def random_turn():
        r = rng.random()
        if r < 0.5:
            book = rng.choice(BOOKS)[1]
            i = rng.choice(by_book[book])
            return rng.choice(BOOK_PROMPTS).format(book=book), "%s (%s)" % (verses[i][3], ref(verses[i])), i
        t = rng.choice(sorted(topic_idx))
        i = rng.choice(topic_idx[t])
        return rng.choice(TOPIC_PROMPTS).format(t=t), "%s (%s)" % (verses[i][3], ref(verses[i])), i

    def reading(start, n):
        """A conversation reading verses start..start+n-1 (same book), with asides."""
        turns = [(rng.choice(REF_PROMPTS).format(ref=ref(verses[start])), verses[start][3])]
        i = start
        for _ in range(n - 1):
            if rng.random() < 0.12:
                u, m, _ = random_turn()
                turns.append((u, m))
                # come back to the reading with an explicit reference
                i += 1
                if i >= len(verses) or verses[i][0] != verses[start][0]:
                    break
                turns.append((rng.choice(REF_PROMPTS).format(ref=ref(verses[i])), verses[i][3]))
                continue
            i += 1
            if i >= len(verses) or verses[i][0] != verses[start][0]:
                break
            turns.append((rng.choice(NEXT_PROMPTS).format(ref=ref(verses[i])), verses[i][3]))
        return turns

    convs = []
    for _ in range(args.passes):
        i = 0
        while i < len(verses):
            n = rng.randint(3, 10)
            turns = reading(i, n)
            convs.append(turns)
            i += n
    famous_chars = 0
    for _ in range(FAMOUS_REPEAT):
        for book, c, v0, v1 in FAMOUS:
            convs.append(reading(index[(book, c, v0)], v1 - v0 + 1))
            famous_chars += len(render(convs[-1], bos=False))
    for _ in range(len(verses) // 6):
        convs.append([random_turn()[:2] for _ in range(rng.randint(1, 4))])
    rng.shuffle(convs)
    with open(os.path.join(args.out, "conversations.jsonl"), "w") as f:
        for turns in convs:
            f.write(json.dumps({"turns": turns}) + "\n")
    # tokenizer input: verse text and the prompt phrasings (no newlines inside a line)
    with open(os.path.join(args.out, "spm_input.txt"), "w") as f:
        for v in verses:
            f.write(v[3] + "\n")
        for turns in convs[:4000]:
            for u, m in turns:
                # the role names follow <|turn> directly, so they are own lines
                f.write("user\n" + u + "\n" + "model\n" + m + "\n")
    n_turns = sum(len(t) for t in convs)
    chars = sum(len(render(t)) for t in convs)
    print("verses %d conversations %d turns %d rendered chars %d (famous passages %.1f%%)"
          % (len(verses), len(convs), n_turns, chars, 100.0 * famous_chars / chars))


if __name__ == "__main__":
    main()
