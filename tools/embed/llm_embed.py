#!/usr/bin/env python3
"""An embed command for vstore (spec/embed-command.md) around Simon Willison's llm library.

    pip install llm llm-sentence-transformers   # or any plugin with an embedding model
    vstore index ./emb --domain docs --commit c1 --ops texts.jsonl \
        --embed-command 'python3 tools/embed/llm_embed.py -m sentence-transformers/all-MiniLM-L6-v2'

It reads one request a line on standard input, {"texts": ["...", ...]}, and answers each with one
line on standard output, {"vectors": [[...], ...]}, one vector per text in order, or
{"error": "..."} for a request the model cannot do. It exits when its standard input ends.
The model loads once, when the command starts; `llm embed-models` lists the models installed.
"""
import argparse
import json
import sys

import llm


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", help="embedding model id (default: llm's default)")
    args = parser.parse_args()
    model_id = args.model or llm.get_default_embedding_model()
    if not model_id:
        sys.exit("llm_embed.py: give -m MODEL, or set one with 'llm embed-models default'")
    model = llm.get_embedding_model(model_id)

    for line in sys.stdin:
        try:
            texts = json.loads(line)["texts"]
            answer = {"vectors": [list(v) for v in model.embed_multi(texts)]}
        except Exception as e:  # the request fails, the command goes on
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
