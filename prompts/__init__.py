"""Agent prompt templates (.jinja) and principle sets (.yaml); no prompt text lives in code."""

from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent
