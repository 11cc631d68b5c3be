"""Where the project's files live: the model, its data and the scenario directory."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
MODEL_FILE = MODELS_DIR / "karamay.mdl"
HISTORY_FILE = MODELS_DIR / "data" / "history.csv"
SCENARIOS_DIR = PROJECT_ROOT / "scenarios"
GOALS_FILE = SCENARIOS_DIR / "goals.toml"
CALIBRATION_FILE = SCENARIOS_DIR / "calibrated.toml"
DEFAULT_SCENARIO = SCENARIOS_DIR / "plan.toml"
