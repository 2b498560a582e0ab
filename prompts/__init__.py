"""System prompts per role and locale (`<role>.<locale>.md`), shipped with the package."""

from pathlib import Path

PROMPT_DIR = Path(__file__).resolve().parent
