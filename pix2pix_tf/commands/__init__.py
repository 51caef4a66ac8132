"""The command-line tools: flags in, library calls out.

train, export, evaluate, predict and demo: absl flags only (every command takes --flagfile),
the same name for the same thing (--workdir, --model, --server, --output_dir), one-line
errors, and an entry point `main` (the console scripts pix2pix-train, -export, -evaluate,
-predict, -demo; train.py, export.py and evaluate.py at the repository root). No library module
imports this package.
"""
